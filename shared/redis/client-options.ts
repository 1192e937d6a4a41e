import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { ResolvedRedisTarget } from './target';

const RECONNECT_BASE_MS = 50;
const RECONNECT_CAP_MS = 1000;

/**
 * Reconnect delay: exponential from 50 ms, capped at 1 s, with jitter so that every worker of every Kong node does
 * not hit a recovering Redis in the same millisecond. Never gives up: a plugin server outlives Redis outages.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(RECONNECT_BASE_MS * 2 ** Math.max(0, attempt - 1), RECONNECT_CAP_MS);
  return Math.round(exponential * (0.8 + 0.2 * random()));
}

/**
 * Options shared by standalone, sentinel and cluster-node connections. The choices all serve fail-fast:
 * - no offline queue: a call made while disconnected fails now instead of waiting for a reconnect;
 * - maxRetriesPerRequest 0 and no resend: a command in flight when the socket drops is rejected, never replayed
 *   (replaying a quota increment would count a request twice);
 * - no ioredis commandTimeout: its timer rejects a command whose reply is already in the socket when the event loop
 *   is late (timers run before sockets are read). The handle's deadline (deadline.ts) bounds every call instead and
 *   gives the socket its turn first; a command past it stays in ioredis' queue until its reply or the socket's end.
 */
function connectionOptions(t: ResolvedRedisTarget): RedisOptions {
  return {
    username: t.username,
    password: t.password,
    tls: t.tls ? {} : undefined,
    connectTimeout: t.connect_timeout_ms,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: 'kong-plugins',
    disableClientInfo: true,
  };
}

export function standaloneOptions(t: ResolvedRedisTarget): RedisOptions {
  const base: RedisOptions = {
    ...connectionOptions(t),
    db: t.database,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => reconnectDelay(attempt),
  };
  if (t.mode !== 'sentinel') return { ...base, host: t.host, port: t.port };
  return {
    ...base,
    sentinels: t.nodes.map((n) => ({ host: n.host, port: n.port })),
    name: t.sentinel_master,
    role: 'master',
    sentinelUsername: t.sentinel_username,
    sentinelPassword: t.sentinel_password,
    enableTLSForSentinelMode: t.tls,
    sentinelCommandTimeout: t.connect_timeout_ms,
    sentinelRetryStrategy: (attempt) => reconnectDelay(attempt),
  };
}

/**
 * Cluster nodes always get an offline queue from ioredis, so fail-fast is arranged differently: node connections
 * reconnect in the background like a standalone client (instead of being dropped until the next slot refresh), and
 * ioredis' retry-after-delay paths are off, so a command for a master that is down or still connecting is rejected
 * at once rather than retried every 100 ms until the deadline. Slot maps still refresh on MOVED and periodically.
 */
export function clusterOptions(t: ResolvedRedisTarget): ClusterOptions {
  return {
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    clusterRetryStrategy: (attempt) => reconnectDelay(attempt),
    clusterNodeRetryStrategy: (attempt) => reconnectDelay(attempt),
    slotsRefreshTimeout: t.connect_timeout_ms,
    redisOptions: connectionOptions(t),
  };
}
