import Redis, { Cluster } from 'ioredis';
import { childLogger, type Logger } from '../observability/log';
import { clusterOptions, standaloneOptions } from './client-options';
import { ConnectionStateLog } from './connection-state';
import { withDeadline } from './deadline';
import type { RedisClient } from './script';
import { targetLabel, type ResolvedRedisTarget } from './target';

export interface SharedConnection {
  readonly key: string;
  readonly label: string;
  readonly client: RedisClient;
  readonly log: Logger;
  readonly state: ConnectionStateLog;
}

const QUIT_WAIT_MS = 500;

/** Opens the client and starts connecting now, so it is usually ready before the first request needs it. */
export function openConnection(key: string, target: ResolvedRedisTarget): SharedConnection {
  const label = targetLabel(target);
  const log = childLogger({ component: 'redis', target: label, mode: target.mode });
  const client: RedisClient =
    target.mode === 'cluster'
      ? new Cluster(
          target.nodes.map((n) => ({ host: n.host, port: n.port })),
          clusterOptions(target),
        )
      : new Redis(standaloneOptions(target));
  const state = new ConnectionStateLog(log, 'redis connection');
  // Without an 'error' listener ioredis would print every reconnect failure on its own.
  client.on('error', (err: unknown) => state.down(err));
  client.on('close', () => state.down());
  client.on('ready', () => state.up());
  if (client instanceof Cluster) watchClusterNodes(client, log);
  return { key, label, client, log, state };
}

function watchClusterNodes(cluster: Cluster, log: Logger): void {
  const nodes = new Map<string, ConnectionStateLog>();
  const nodeState = (node: string): ConnectionStateLog => {
    let s = nodes.get(node);
    if (!s) {
      s = new ConnectionStateLog(log.child({ node }), 'redis cluster node');
      nodes.set(node, s);
    }
    return s;
  };
  cluster.on('node error', (err: unknown, node: string) => nodeState(node).down(err));
  // ioredis opens a node's socket lazily, on its first command; without an offline queue that command and every
  // concurrent one would fail while the socket opens. So connect nodes as soon as they are known, but only once the
  // cluster is ready: its ready check itself fails on a node that is still connecting.
  const connectIdle = (redis: Redis): void => {
    if (cluster.status === 'ready' && redis.status === 'wait') redis.connect().catch(() => undefined);
  };
  cluster.on('ready', () => cluster.nodes('all').forEach(connectIdle));
  cluster.on('+node', (redis: Redis, node: string) => {
    redis.on('ready', () => nodeState(node).up());
    // Next tick: ioredis attaches the node's error listener right after emitting '+node'.
    process.nextTick(() => connectIdle(redis));
  });
}

/** Ready to serve every key: for a cluster, every master's socket is open too. */
export function isReady(client: RedisClient): boolean {
  if (client.status !== 'ready') return false;
  if (!(client instanceof Cluster)) return true;
  const masters = client.nodes('master');
  return masters.length > 0 && masters.every((node) => node.status === 'ready');
}

/** QUIT lets in-flight replies arrive; disconnect() afterwards also stops any pending reconnect. */
export async function closeConnection(connection: SharedConnection): Promise<void> {
  const { client, state } = connection;
  state.closed();
  try {
    await withDeadline(client.quit(), QUIT_WAIT_MS, () => new Error('quit timed out'));
  } catch {
    // down or slow: disconnect below is the fallback
  } finally {
    client.disconnect();
  }
}
