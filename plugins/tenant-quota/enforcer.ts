import type { Logger } from '../../shared/observability/log';
import { errorFields } from '../../shared/observability/log';
import { getRedis, RedisScript, RedisUnavailableError, type LateOutcome, type RedisHandle } from '../../shared/redis';
import { LocalLimiter } from './local-fallback';
import type { CompiledLimit, Identity } from './limits';
import { planRequest, stateKey, type Decision, type RefundTicket, type RequestPlan } from './quota-plan';
import { QUOTA_LUA, REFUND_LUA } from './lua/quota-script';
import { redisDegraded, redisFailures } from './metrics';
import type { TenantQuotaConfig } from './schema';

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

/**
 * Targets whose last quota call in this process failed. One set per process, like the redis_degraded gauge it
 * drives: every config on a target (and Kong's instance of a config in each nginx worker) shares the gauge, so a
 * recovery seen by one config and a new failure seen by another must set it to 0 and back to 1 (a per-instance
 * flag left it at 0 during the second outage).
 */
const degradedTargets = new Set<string>();

/** Logs Redis trouble once when it starts and once when it ends (per config), whatever the request rate. */
class DegradedState {
  private degraded = false;
  constructor(
    private readonly log: Logger,
    private readonly target: string,
    private readonly mode: FailureMode,
  ) {}

  ok(): void {
    if (degradedTargets.size > 0 && degradedTargets.delete(this.target)) redisDegraded.set({ target: this.target }, 0);
    if (!this.degraded) return;
    this.degraded = false;
    this.log.info({ target: this.target }, 'tenant-quota: redis answers again, limits enforced from redis');
  }

  failed(err: RedisUnavailableError): void {
    redisFailures.inc({ reason: err.reason, mode: this.mode });
    if (!degradedTargets.has(this.target)) {
      degradedTargets.add(this.target);
      redisDegraded.set({ target: this.target }, 1);
    }
    if (this.degraded) return;
    this.degraded = true;
    this.log.warn({ target: this.target, reason: err.reason, failure_mode: this.mode }, `tenant-quota: redis unavailable, applying ${this.mode}`);
  }
}

/**
 * One local limiter per plugin-server process, like Redis is one store: Kong runs one instance per config in every
 * nginx worker, all in this process, and their fallback limits must be one budget, not one per worker. Its keys
 * are the Redis keys, so configs share counters exactly where they would share them in Redis.
 */
const processLocalLimiter = new LocalLimiter();

/**
 * Units of quota commands sent to Redis whose outcome is not known yet, per state key, in this process: a command
 * past its deadline may still run in Redis, so the local fallback counts these units as consumed (a unit Redis may
 * grant is not granted a second time locally). A command leaves when its reply or error finally arrives.
 */
class PendingUnits {
  private readonly units = new Map<string, number>();

  add(plan: RequestPlan, cost: number): void {
    if (cost <= 0) return;
    for (const p of plan.applied) {
      const key = stateKey(p);
      this.units.set(key, (this.units.get(key) ?? 0) + cost);
    }
  }

  remove(plan: RequestPlan, cost: number): void {
    if (cost <= 0) return;
    for (const p of plan.applied) {
      const key = stateKey(p);
      const left = (this.units.get(key) ?? 0) - cost;
      if (left > 0) this.units.set(key, left);
      else this.units.delete(key);
    }
  }

  /** Other requests' unknown units for a key, given this request's own `cost` is among them. */
  others(key: string, own: number): number {
    return Math.max(0, (this.units.get(key) ?? 0) - own);
  }
}

const processPending = new PendingUnits();

export class Enforcer {
  readonly redis: RedisHandle;
  private readonly local: LocalLimiter | undefined;
  private readonly state: DegradedState;
  private readonly mode: FailureMode;
  private readonly useRedisTime: boolean;
  private readonly prefix: string;
  private readonly nodeCount: number;
  private readonly commandTimeoutMs: number;
  private readonly sharePercent: number;
  /** Until the first connection is up, a request waits for it (at most command_timeout_ms) instead of failing. */
  private connected = false;

  constructor(
    config: TenantQuotaConfig,
    private readonly log: Logger,
  ) {
    this.redis = getRedis(config.redis);
    this.mode = config.on_redis_failure;
    this.local = this.mode === 'local' ? processLocalLimiter : undefined;
    this.state = new DegradedState(log, this.redis.target, this.mode);
    this.useRedisTime = config.time_source === 'redis';
    this.prefix = config.key_prefix;
    this.nodeCount = config.node_count;
    this.commandTimeoutMs = config.redis.command_timeout_ms;
    this.sharePercent = config.local_share_percent;
  }

  async decide(limits: readonly CompiledLimit[], who: Identity, cost: number, now: number): Promise<Verdict> {
    const plan = planRequest(this.prefix, limits, who, now);
    if (!this.connected) {
      await this.redis.ready(this.commandTimeoutMs).then(
        () => (this.connected = true),
        () => undefined,
      );
    }
    const local = this.local;
    // the local fallback needs to know what is in flight and what Redis last said; other modes skip the bookkeeping
    if (local) processPending.add(plan, cost);
    let answered = false;
    try {
      const script = scriptFor(quotaScripts, 'tenant-quota', QUOTA_LUA, plan.keys.length);
      const onLate = local ? (late: LateOutcome<unknown>) => this.settleLate(local, plan, cost, late, () => planRequest(this.prefix, limits, who, now, this.nodeCount), now) : undefined;
      const reply = await this.redis.runScript(script, plan.keys, plan.scriptArgs(this.useRedisTime ? 0 : now, cost), onLate);
      answered = true;
      if (local) processPending.remove(plan, cost);
      this.state.ok();
      const decision = plan.decode(reply);
      local?.observe(plan, decision);
      return { source: 'redis', plan, decision };
    } catch (err) {
      // a timeout leaves the command pending until its late outcome arrives; any other failure never ran it
      if (local && !answered && !(err instanceof RedisUnavailableError && err.reason === 'timeout')) processPending.remove(plan, cost);
      if (!(err instanceof RedisUnavailableError)) throw err;
      this.state.failed(err);
      if (local) {
        const localPlan = planRequest(this.prefix, limits, who, now, this.nodeCount);
        const terms = { pending: (key: string) => processPending.others(key, cost), divisor: this.nodeCount, sharePercent: this.sharePercent };
        return { source: 'local', plan: localPlan, decision: local.check(localPlan, cost, now, true, terms) };
      }
      return this.mode === 'fail_closed' ? { source: 'fail_closed', plan, reason: err.reason } : { source: 'fail_open', plan, reason: err.reason };
    }
  }

  /** A command past its deadline ended after all: what Redis said seeds the fallback; an error leaves it unknown. */
  private settleLate(local: LocalLimiter, plan: RequestPlan, cost: number, late: LateOutcome<unknown>, localPlan: () => RequestPlan, now: number): void {
    processPending.remove(plan, cost);
    if (late.ok) {
      try {
        local.observe(plan, plan.decode(late.value), true);
      } catch (err) {
        this.log.warn({ ...errorFields(err) }, 'tenant-quota: unreadable late quota reply');
      }
    } else {
      // it may have run before the error: count it, as Redis may have
      local.chargeUnknown(localPlan(), cost, now);
    }
  }

  /** Gives a 5xx request's units back; a failure is logged, never thrown (the response is already gone). */
  async refund(ticket: RefundTicket, now: number): Promise<boolean> {
    // a local admission is refunded locally: Redis never counted it
    if (ticket.local) return (this.local?.refund(ticket, now) ?? 0) > 0;
    try {
      const keys = ticket.keys;
      const script = scriptFor(refundScripts, 'tenant-quota-refund', REFUND_LUA, keys.length);
      await this.redis.runScript(script, keys, ticket.scriptArgs(this.useRedisTime ? 0 : now));
      return true;
    } catch (err) {
      this.log.warn({ ...errorFields(err) }, 'tenant-quota: refund failed');
      return false;
    }
  }
}
