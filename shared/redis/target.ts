import { createHash } from 'node:crypto';

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisBreakerConfig {
  /** Consecutive failures (timeouts, connection errors) that open the breaker. */
  failure_threshold: number;
  /** How long an open breaker rejects calls before letting one probe through. */
  open_ms: number;
}

/**
 * A Redis block of a plugin's config, as Kong hands it over: snake_case, and unset optional fields arrive as
 * `null`, so every optional field accepts null and means "default".
 */
export interface RedisTarget {
  mode: RedisMode;
  host: string;
  port: number;
  /** Cluster startup nodes, or the sentinels in sentinel mode; `host`/`port` are used when empty. */
  nodes?: readonly RedisNode[] | null;
  sentinel_master?: string | null;
  /** Credentials of the sentinels themselves (Sentinel ACLs), separate from the master's. */
  sentinel_username?: string | null;
  sentinel_password?: string | null;
  username?: string | null;
  password?: string | null;
  database?: number | null;
  tls?: boolean | null;
  command_timeout_ms?: number | null;
  connect_timeout_ms?: number | null;
  breaker?: Partial<{ [K in keyof RedisBreakerConfig]: RedisBreakerConfig[K] | null }> | null;
}

/** A target with every default applied; what the rest of shared/redis works with. */
export interface ResolvedRedisTarget {
  readonly mode: RedisMode;
  readonly host: string;
  readonly port: number;
  readonly nodes: readonly RedisNode[];
  readonly sentinel_master: string | undefined;
  readonly sentinel_username: string | undefined;
  readonly sentinel_password: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly database: number;
  readonly tls: boolean;
  readonly command_timeout_ms: number;
  readonly connect_timeout_ms: number;
  readonly breaker: Readonly<RedisBreakerConfig>;
}

export const DEFAULT_REDIS_TARGET: ResolvedRedisTarget = Object.freeze({
  mode: 'standalone',
  host: '127.0.0.1',
  port: 6379,
  nodes: Object.freeze([]),
  sentinel_master: undefined,
  sentinel_username: undefined,
  sentinel_password: undefined,
  username: undefined,
  password: undefined,
  database: 0,
  tls: false,
  command_timeout_ms: 50,
  connect_timeout_ms: 500,
  breaker: Object.freeze({ failure_threshold: 5, open_ms: 2000 }),
});

export class RedisConfigError extends Error {
  override get name(): string {
    return 'RedisConfigError';
  }
}

function orDefault<T>(value: T | null | undefined, fallback: T): T {
  return value === null || value === undefined ? fallback : value;
}

function optionalString(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RedisConfigError(`redis ${name} must be a positive number`);
  return value;
}

export function resolveTarget(target: RedisTarget): ResolvedRedisTarget {
  const d = DEFAULT_REDIS_TARGET;
  const host = orDefault(target.host, d.host);
  const port = orDefault(target.port, d.port);
  const nodes = target.nodes && target.nodes.length > 0 ? target.nodes : [{ host, port }];
  const resolved: ResolvedRedisTarget = {
    mode: orDefault(target.mode, d.mode),
    host,
    port,
    nodes: nodes.map((n) => ({ host: n.host, port: n.port })),
    sentinel_master: optionalString(target.sentinel_master),
    sentinel_username: optionalString(target.sentinel_username),
    sentinel_password: optionalString(target.sentinel_password),
    username: optionalString(target.username),
    password: optionalString(target.password),
    database: orDefault(target.database, d.database),
    tls: orDefault(target.tls, d.tls),
    command_timeout_ms: positive('command_timeout_ms', orDefault(target.command_timeout_ms, d.command_timeout_ms)),
    connect_timeout_ms: positive('connect_timeout_ms', orDefault(target.connect_timeout_ms, d.connect_timeout_ms)),
    breaker: {
      failure_threshold: positive(
        'breaker.failure_threshold',
        orDefault(target.breaker?.failure_threshold, d.breaker.failure_threshold),
      ),
      open_ms: positive('breaker.open_ms', orDefault(target.breaker?.open_ms, d.breaker.open_ms)),
    },
  };
  if (resolved.mode === 'sentinel' && !resolved.sentinel_master) {
    throw new RedisConfigError('redis sentinel mode needs sentinel_master');
  }
  if (resolved.mode === 'cluster' && resolved.database !== 0) {
    throw new RedisConfigError('redis cluster mode supports database 0 only');
  }
  return resolved;
}

/**
 * Identity of the ioredis client: everything that changes how it connects or times out. The password enters as a
 * digest so the key can never leak it into a log line or heap dump summary.
 */
export function connectionKey(t: ResolvedRedisTarget): string {
  const nodes = t.nodes.map((n) => `${n.host}:${n.port}`).sort();
  const digest = (value: string | undefined) => (value === undefined ? '' : createHash('sha256').update(value).digest('hex').slice(0, 16));
  const secret = digest(t.password);
  return JSON.stringify([
    t.mode,
    t.host,
    t.port,
    nodes,
    t.sentinel_master ?? '',
    t.sentinel_username ?? '',
    digest(t.sentinel_password),
    t.username ?? '',
    secret,
    t.database,
    t.tls,
    t.connect_timeout_ms,
    t.command_timeout_ms,
  ]);
}

/** Identity of a handle: its connection plus the breaker settings, which are per handle, not per socket. */
export function handleKey(t: ResolvedRedisTarget): string {
  return `${connectionKey(t)}|${t.breaker.failure_threshold}|${t.breaker.open_ms}`;
}

/** The `target` metric/log label: host:port only, never credentials or the node list. */
export function targetLabel(t: ResolvedRedisTarget): string {
  return `${t.host}:${t.port}`;
}
