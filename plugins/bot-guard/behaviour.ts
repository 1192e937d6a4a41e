import { createHash } from 'node:crypto';
import type { Logger } from '../../shared/observability/log';
import { getRedis, RedisScript, RedisUnavailableError, type RedisHandle } from '../../shared/redis';
import { redisFailures } from './metrics';
import type { BotGuardConfig } from './schema';

/**
 * One round trip per request: count the client in the current velocity window, set its trap flag when this
 * request hit a trap, and read the flag's remaining time. Keys share the client's hash tag, so on a cluster both
 * live on one node. Returns {count, flag_ttl} (flag_ttl <= 0: not flagged).
 */
const BEHAVIOUR_LUA = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
if ARGV[2] == '1' then redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[3])) end
return {count, redis.call('TTL', KEYS[2])}
`;
const script = new RedisScript('bot-guard-behaviour', BEHAVIOUR_LUA, 2);

export type BehaviourResult =
  | { source: 'redis' | 'local'; count: number; flagged: boolean }
  | { source: 'unavailable'; reason: string };

/**
 * A client key that is not personal data: the first 16 bytes of SHA-256 over the key material, base64url. Keys
 * in Redis (and logs) then never carry an IP or a User-Agent.
 */
export function clientKey(material: string): string {
  return createHash('sha256').update(material).digest('base64url').slice(0, 22);
}

/** Per-process fixed windows for the rate-limit action when behaviour (Redis) is off; bounded. */
export class LocalWindows {
  private readonly counts = new Map<string, { window: number; count: number }>();
  constructor(private readonly limit = 100_000) {}

  hit(key: string, window: number): number {
    const entry = this.counts.get(key);
    if (entry && entry.window === window) return ++entry.count;
    if (!entry && this.counts.size >= this.limit) this.counts.delete(this.counts.keys().next().value as string);
    this.counts.set(key, { window, count: 1 });
    return 1;
  }
}

export class Behaviour {
  readonly redis: RedisHandle;
  private readonly prefix: string;
  private readonly windowSeconds: number;
  private readonly flagSeconds: string;
  private readonly timeoutMs: number;
  private connected = false;
  private degraded = false;

  constructor(
    config: BotGuardConfig,
    private readonly log: Logger,
  ) {
    this.redis = getRedis(config.behaviour.redis);
    this.prefix = config.behaviour.key_prefix;
    this.windowSeconds = config.rate_limit.window_seconds;
    this.flagSeconds = String(config.behaviour.flag_seconds);
    this.timeoutMs = config.behaviour.redis.command_timeout_ms;
  }

  /** `key` is clientKey()'s output; `nowMs` picks the window. Never throws for Redis trouble. */
  async observe(key: string, trapHit: boolean, nowMs: number): Promise<BehaviourResult> {
    const window = Math.floor(nowMs / 1000 / this.windowSeconds);
    const keys = [`${this.prefix}:{${key}}:v:${window}`, `${this.prefix}:{${key}}:flag`];
    if (!this.connected) {
      // the first requests of a fresh process wait for the connection (within the command deadline) instead of failing
      await this.redis.ready(this.timeoutMs).then(
        () => (this.connected = true),
        () => undefined,
      );
    }
    try {
      const reply = (await this.redis.runScript(script, keys, [this.windowSeconds + 1, trapHit ? '1' : '0', this.flagSeconds])) as [number, number];
      if (this.degraded) {
        this.degraded = false;
        this.log.info({ target: this.redis.target }, 'bot-guard: redis answers again, behaviour signals back');
      }
      return { source: 'redis', count: Number(reply[0]), flagged: Number(reply[1]) > 0 };
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      redisFailures.inc({ reason: err.reason });
      if (!this.degraded) {
        this.degraded = true;
        this.log.warn({ target: this.redis.target, reason: err.reason }, 'bot-guard: redis unavailable, behaviour signals skipped');
      }
      return { source: 'unavailable', reason: err.reason };
    }
  }
}
