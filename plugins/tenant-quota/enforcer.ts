import type { Logger } from '../../shared/observability/log';
import { errorFields } from '../../shared/observability/log';
import { getRedis, RedisScript, RedisUnavailableError, type RedisHandle, type RedisTarget } from '../../shared/redis';
import { LocalLimiter } from './local-fallback';
import { parseReply, planRequest, type CompiledLimit, type Decision, type Identity, type RequestPlan } from './limits';
import { QUOTA_LUA, REFUND_LUA } from './lua/quota-script';
import { redisDegraded, redisFailures } from './metrics';
import type { RedisConfig, TenantQuotaConfig } from './schema';

/**
 * The decision for one request: one EVALSHA against Redis, or, when Redis cannot answer within command_timeout_ms
 * (or its breaker is open), the configured failure mode. Holds no PDK: the handler reads and writes.
 */
export type FailureMode = 'fail_open' | 'fail_closed' | 'local';

export type Verdict =
  | { source: 'redis' | 'local'; plan: RequestPlan; decision: Decision }
  | { source: 'fail_open'; plan: RequestPlan; reason: string }
  | { source: 'fail_closed'; plan: RequestPlan; reason: string };

const quotaScripts = new Map<number, RedisScript>();
const refundScripts = new Map<number, RedisScript>();

/** RedisScript fixes the key count; the Lua is the same for every count (one SHA, loaded once per server). */
function scriptFor(cache: Map<number, RedisScript>, name: string, lua: string, keys: number): RedisScript {
  let s = cache.get(keys);
  if (!s) {
    s = new RedisScript(name, lua, keys);
    cache.set(keys, s);
  }
  return s;
}

export function redisTarget(r: RedisConfig): RedisTarget {
  return {
    mode: r.mode,
    host: r.host,
    port: r.port,
    nodes: r.nodes,
    sentinel_master: r.sentinel_master,
    username: r.username,
    password: r.password,
    database: r.database,
    tls: r.tls,
    command_timeout_ms: r.command_timeout_ms,
    connect_timeout_ms: r.connect_timeout_ms,
    breaker: r.breaker,
  };
}

/** Logs Redis trouble once when it starts and once when it ends, whatever the request rate. */
class DegradedState {
  private degraded = false;
  constructor(
    private readonly log: Logger,
    private readonly target: string,
    private readonly mode: FailureMode,
  ) {}

  ok(): void {
    if (!this.degraded) return;
    this.degraded = false;
    redisDegraded.set({ target: this.target }, 0);
    this.log.info({ target: this.target }, 'tenant-quota: redis answers again, limits enforced from redis');
  }

  failed(err: RedisUnavailableError): void {
    redisFailures.inc({ reason: err.reason, mode: this.mode });
    if (this.degraded) return;
    this.degraded = true;
    redisDegraded.set({ target: this.target }, 1);
    this.log.warn({ target: this.target, reason: err.reason, failure_mode: this.mode }, `tenant-quota: redis unavailable, applying ${this.mode}`);
  }
}

/**
 * One local limiter per plugin-server process, like Redis is one store: Kong runs one instance per config in every
 * nginx worker, all in this process, and their fallback limits must be one budget, not one per worker. Its keys
 * are the Redis keys, so configs share counters exactly where they would share them in Redis.
 */
const processLocalLimiter = new LocalLimiter();

export class Enforcer {
  readonly redis: RedisHandle;
  private readonly local: LocalLimiter | undefined;
  private readonly state: DegradedState;
  private readonly mode: FailureMode;
  private readonly useRedisTime: boolean;
  private readonly prefix: string;
  private readonly nodeCount: number;
  private readonly commandTimeoutMs: number;
  /** Until the first connection is up, a request waits for it (at most command_timeout_ms) instead of failing. */
  private connected = false;

  constructor(
    config: TenantQuotaConfig,
    private readonly log: Logger,
    redis?: RedisHandle,
  ) {
    this.redis = redis ?? getRedis(redisTarget(config.redis));
    this.mode = config.on_redis_failure;
    this.local = this.mode === 'local' ? processLocalLimiter : undefined;
    this.state = new DegradedState(log, this.redis.target, this.mode);
    this.useRedisTime = config.time_source === 'redis';
    this.prefix = config.key_prefix;
    this.nodeCount = config.node_count;
    this.commandTimeoutMs = config.redis.command_timeout_ms;
  }

  async decide(limits: readonly CompiledLimit[], who: Identity, cost: number, now: number): Promise<Verdict> {
    const plan = planRequest(this.prefix, limits, who, now);
    if (!this.connected) {
      await this.redis.ready(this.commandTimeoutMs).then(
        () => (this.connected = true),
        () => undefined,
      );
    }
    try {
      const script = scriptFor(quotaScripts, 'tenant-quota', QUOTA_LUA, plan.keys.length);
      const reply = await this.redis.runScript(script, plan.keys, [this.useRedisTime ? 0 : now, cost, 1, ...plan.args]);
      this.state.ok();
      return { source: 'redis', plan, decision: parseReply(reply, plan.applied.length) };
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      this.state.failed(err);
      if (this.local) {
        const localPlan = planRequest(this.prefix, limits, who, now, this.nodeCount);
        return { source: 'local', plan: localPlan, decision: this.local.check(localPlan, cost, now) };
      }
      return this.mode === 'fail_closed' ? { source: 'fail_closed', plan, reason: err.reason } : { source: 'fail_open', plan, reason: err.reason };
    }
  }

  /** Gives a 5xx request's units back; a failure is logged, never thrown (the response is already gone). */
  async refund(keys: string[], args: Array<string | number>, cost: number, now: number, local = false): Promise<boolean> {
    if (local) return (this.local?.refund(keys, args, cost, now) ?? 0) > 0;
    try {
      const script = scriptFor(refundScripts, 'tenant-quota-refund', REFUND_LUA, keys.length);
      await this.redis.runScript(script, keys, [this.useRedisTime ? 0 : now, cost, ...args]);
      return true;
    } catch (err) {
      this.log.warn({ ...errorFields(err) }, 'tenant-quota: refund failed');
      return false;
    }
  }

  /** Breaker open time: the Retry-After of a fail-closed 503. */
  get localEntries(): number {
    return this.local?.size ?? 0;
  }
}
