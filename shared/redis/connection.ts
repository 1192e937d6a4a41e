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
  cluster.on('+node', (redis: Redis) => {
    const node = `${redis.options.host}:${redis.options.port}`;
    redis.on('ready', () => nodeState(node).up());
  });
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
