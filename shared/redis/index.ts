export { getRedis, closeAllRedis, openConnectionCount } from './connection-registry';
export { RedisHandle } from './handle';
export type { LateOutcome } from './deadline';
export { RedisScript, type RedisArg, type RedisClient } from './script';
export { RedisUnavailableError, type UnavailableReason } from './errors';
export type { BreakerState } from './circuit-breaker';
export {
  DEFAULT_REDIS_TARGET,
  RedisConfigError,
  type RedisTarget,
  type RedisMode,
  type RedisNode,
  type RedisBreakerConfig,
  type ResolvedRedisTarget,
} from './target';
export { redisFields, redisField, redisConfigProblem, type RedisConfig } from './schema';
