import { field, type InferFields } from '../schema';

/**
 * The Redis block of a plugin's config, declared once and reused by every plugin that keeps state in Redis (Kong
 * does the same with `kong.tools.redis.schema`): `redis: redisField('What this Redis holds.')` in the plugin's
 * fields, `redisConfigProblem(config.redis, 'redis')` in its checks, and `getRedis(config.redis)` in its handler.
 * Field names are the connection layer's (`RedisTarget`), so the block is handed over as it is: there is no other
 * mapping (defaults for unset fields are applied in one place, `resolveTarget`).
 */
export const redisFields = {
  mode: field.string({ one_of: ['standalone', 'sentinel', 'cluster'] as const, default: 'standalone', description: 'Redis deployment: one server, a Sentinel-managed master, or a Redis Cluster.' }),
  host: field.string({ default: '127.0.0.1', len_min: 1, description: 'Redis host (standalone), or the first node when nodes is empty.' }),
  port: field.integer({ default: 6379, between: [1, 65535], description: 'Redis port.' }),
  nodes: field.array(
    field.record({
      host: field.string({ required: true, len_min: 1, description: 'Node host.' }),
      port: field.integer({ required: true, between: [1, 65535], description: 'Node port.' }),
    }),
    { description: 'Cluster startup nodes, or the sentinels in sentinel mode.' },
  ),
  sentinel_master: field.string({ len_min: 1, description: 'Sentinel mode: the master name.' }),
  sentinel_username: field.string({ len_min: 1, description: 'Sentinel mode: ACL user name on the sentinels themselves.' }),
  sentinel_password: field.string({ len_min: 1, referenceable: true, encrypted: true, description: 'Sentinel mode: password of the sentinels themselves (a Kong vault reference is accepted).' }),
  username: field.string({ len_min: 1, description: 'ACL user name.' }),
  password: field.string({ len_min: 1, referenceable: true, encrypted: true, description: 'Password (a Kong vault reference is accepted).' }),
  database: field.integer({ default: 0, between: [0, 255], description: 'Database number (standalone and sentinel only).' }),
  tls: field.boolean({ default: false, description: 'Connect with TLS.' }),
  command_timeout_ms: field.integer({ default: 50, between: [1, 60000], description: 'Hard deadline of the one Redis call per request; past it the failure mode applies.' }),
  connect_timeout_ms: field.integer({ default: 500, between: [1, 60000], description: 'Connection timeout.' }),
  breaker: field.record(
    {
      failure_threshold: field.integer({ default: 5, between: [1, 1000], description: 'Consecutive Redis failures that open the circuit breaker.' }),
      open_ms: field.integer({ default: 2000, between: [10, 600000], description: 'How long an open breaker skips Redis before one probe call.' }),
    },
    { description: 'Circuit breaker: after failure_threshold failures Redis is skipped for open_ms (the failure mode applies at once).' },
  ),
};

export type RedisConfig = InferFields<typeof redisFields>;

/** The Redis block as a record field of a plugin's schema. */
export function redisField(description: string) {
  return field.record(redisFields, { description });
}

/** Cross-field rules of the block, for the plugin's `checks`: `[path, message]` under `at` (e.g. `redis`), or undefined. */
export function redisConfigProblem(redis: RedisConfig, at: string): [string, string] | undefined {
  if (redis.mode === 'sentinel' && !redis.sentinel_master) return [`${at}.sentinel_master`, 'required in sentinel mode'];
  if (redis.mode === 'cluster' && redis.database !== 0) return [`${at}.database`, 'cluster mode supports database 0 only'];
  return undefined;
}
