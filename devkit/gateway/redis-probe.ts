import net from 'node:net';
import tls from 'node:tls';
import type { KongConfig } from '../emulator/declarative';
import { fillDefaults, type KongFields } from '../emulator/kong-schema';
import type { KongEmulator } from '../emulator/kong';
import { resolveTarget, type RedisTarget } from '../../shared/redis/target';
import { describePluginEntry } from '../emulator/plugin-entry';

export interface RedisProbe {
  host: string;
  port: number;
  reachable: boolean;
  /** Why not, when not reachable. */
  detail?: string;
}

/**
 * Is a Redis server answering at host:port? Sends one inline PING and waits for a reply line: `+PONG`, or an
 * error such as `-NOAUTH` (a Redis that wants a password is still a Redis). Over TLS when `useTls` (certificates
 * are not checked: this asks "is something there", the plugin's client decides trust). Never throws.
 */
export function probeRedis(host: string, port: number, timeoutMs = 500, useTls = false): Promise<RedisProbe> {
  return new Promise((resolve) => {
    const socket = useTls ? tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host }) : net.createConnection({ host, port });
    let reply = '';
    let settled = false;
    const done = (reachable: boolean, detail?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ host, port, reachable, ...(detail ? { detail } : {}) });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once(useTls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (!reply.includes('\r\n')) return;
      if (reply.startsWith('+PONG') || reply.startsWith('-')) done(true);
      else done(false, `unexpected reply ${JSON.stringify(reply.slice(0, 40))}: not Redis`);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
    socket.once('close', () => done(false, 'connection closed without a reply'));
  });
}

/** The Redis one plugin entry of kong.yml will use, from its own `redis:` block (schema defaults applied). */
export interface PluginRedis {
  /** `tenant-quota on route tenant-quota-demo`, as the start errors name entries. */
  entry: string;
  mode: 'standalone' | 'sentinel' | 'cluster';
  tls: boolean;
  /** The addresses the plugin's client connects to first: the server, the cluster's startup nodes, or the sentinels. */
  nodes: Array<{ host: string; port: number }>;
  /** One probe per node, in order. */
  probes: RedisProbe[];
  /** At least one node answered (the client needs one to start: a cluster discovers the rest, sentinels name the master). */
  reachable: boolean;
}

function isRedisBlock(value: unknown): value is RedisTarget {
  return !!value && typeof value === 'object' && 'mode' in value && 'host' in value && 'port' in value;
}

/**
 * Every active plugin entry with a `redis` block (the shared redisField: tenant-quota, bot-guard, ...), probed at
 * the addresses its own config names: what the banner reports is what the plugin will use, per entry. Entries the
 * dev gateway never runs (disabled, consumer-scoped, not served) are left out.
 */
export async function probePluginRedis(config: KongConfig, kong: KongEmulator, timeoutMs = 500): Promise<PluginRedis[]> {
  const uses: Array<Omit<PluginRedis, 'probes' | 'reachable'>> = [];
  for (const entity of config.plugins) {
    if (!entity.enabled || entity.consumer) continue;
    const info = kong.infoFor(entity.name);
    if (!info) continue;
    const filled = fillDefaults(info.Schema.fields[0].config.fields as KongFields, entity.config);
    if (!isRedisBlock(filled.redis)) continue;
    let target;
    try {
      target = resolveTarget(filled.redis);
    } catch {
      continue; // the plugin refuses such a block at start, which stops the gateway with its own message
    }
    uses.push({ entry: describePluginEntry(entity, config), mode: target.mode, tls: target.tls, nodes: target.nodes.map((n) => ({ host: n.host, port: n.port })) });
  }
  // one probe per distinct address, concurrently
  const probes = new Map<string, Promise<RedisProbe>>();
  const probe = (host: string, port: number, useTls: boolean) => {
    const key = `${useTls ? 'tls:' : ''}${host}:${port}`;
    let found = probes.get(key);
    if (!found) probes.set(key, (found = probeRedis(host, port, timeoutMs, useTls)));
    return found;
  };
  return Promise.all(
    uses.map(async (use) => {
      const results = await Promise.all(use.nodes.map((n) => probe(n.host, n.port, use.tls)));
      return { ...use, probes: results, reachable: results.some((r) => r.reachable) };
    }),
  );
}
