import type { RedisHandle } from '../../shared/redis';
import type { Weekday } from './calendar';
import { compileLimit, mergeLimits, type CompiledLimit } from './limits';
import type { LimitConfig, TenantQuotaConfig } from './schema';

/**
 * Tenant -> plan -> compiled limits. Plans and overrides are compiled once per config; a tenant's plan comes from the
 * Redis hash (plan_source redis: operators HSET it at runtime), then tenant_plans, then default_plan. Redis answers are
 * cached for plan_cache_seconds and refreshed in the background when stale, so a request waits for the hash only
 * the first time a tenant is seen (per process and cache size); a failed read falls back to the static assignment.
 */
const MAX_CACHED_TENANTS = 10_000;

export interface PlanChoice {
  plan: string;
  limits: readonly CompiledLimit[];
}

interface CacheEntry {
  plan: string | undefined;
  fetchedAt: number;
  refreshing: boolean;
}

export class PlanResolver {
  private readonly plans = new Map<string, readonly CompiledLimit[]>();
  private readonly overrides = new Map<string, { limits: LimitConfig[]; zone: string; anchor: number }>();
  private readonly compiled = new Map<string, readonly CompiledLimit[]>();
  private readonly cache = new Map<string, CacheEntry>();
  private readonly rawPlans = new Map<string, LimitConfig[]>();
  private readonly staticPlans: Record<string, string>;
  private readonly defaultPlan: string;
  private readonly fromRedis: boolean;
  private readonly cacheMs: number;
  private readonly weekStart: Weekday;

  constructor(
    private readonly config: TenantQuotaConfig,
    private readonly redis: RedisHandle | undefined,
    private readonly now: () => number,
    /** A failed read of the plan hash: logged and counted by the caller. */
    private readonly onLookupFailure: (reason: string, err: unknown) => void = () => undefined,
  ) {
    this.weekStart = config.calendar.week_start;
    for (const plan of config.plans) {
      this.rawPlans.set(plan.name, plan.limits ?? []);
      this.plans.set(plan.name, this.compile(plan.limits ?? [], config.calendar.time_zone, config.calendar.billing_anchor_day));
    }
    for (const o of config.tenant_overrides ?? []) {
      this.overrides.set(o.tenant, { limits: o.limits ?? [], zone: o.time_zone ?? config.calendar.time_zone, anchor: o.billing_anchor_day ?? config.calendar.billing_anchor_day });
    }
    this.staticPlans = config.tenant_plans ?? {};
    this.defaultPlan = config.default_plan;
    this.fromRedis = config.plan_source === 'redis' && redis !== undefined;
    this.cacheMs = config.plan_cache_seconds * 1000;
  }

  /** Synchronous when the answer is known (static, or cached from Redis); a Promise on a cache miss. */
  resolve(tenant: string): PlanChoice | Promise<PlanChoice> {
    if (!this.fromRedis) return this.choice(tenant, undefined);
    const entry = this.cache.get(tenant);
    const now = this.now();
    if (entry) {
      if (now - entry.fetchedAt >= this.cacheMs && !entry.refreshing) {
        entry.refreshing = true;
        void this.fetch(tenant).then((plan) => this.remember(tenant, plan, now));
      }
      return this.choice(tenant, entry.plan);
    }
    return this.fetch(tenant).then((plan) => {
      this.remember(tenant, plan, now);
      return this.choice(tenant, plan);
    });
  }

  private remember(tenant: string, plan: string | undefined, at: number): void {
    this.cache.delete(tenant);
    this.cache.set(tenant, { plan, fetchedAt: at, refreshing: false });
    if (this.cache.size > MAX_CACHED_TENANTS) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** The plan name from the hash; undefined when unset, unknown, or Redis failed (static assignment then applies). */
  private async fetch(tenant: string): Promise<string | undefined> {
    try {
      const value = await (this.redis as RedisHandle).command('hget', this.config.plan_hash, tenant);
      return typeof value === 'string' && this.plans.has(value) ? value : undefined;
    } catch (err) {
      this.onLookupFailure((err as { reason?: string }).reason ?? 'error', err);
      return this.cache.get(tenant)?.plan;
    }
  }

  private choice(tenant: string, fromRedis: string | undefined): PlanChoice {
    const assigned = fromRedis ?? this.staticPlans[tenant];
    const plan = assigned && this.plans.has(assigned) ? assigned : this.defaultPlan;
    const override = this.overrides.get(tenant);
    if (!override) return { plan, limits: this.plans.get(plan) as readonly CompiledLimit[] };
    const id = `${tenant}\u0000${plan}`;
    let limits = this.compiled.get(id);
    if (!limits) {
      limits = this.compile(mergeLimits(this.rawPlans.get(plan) ?? [], override.limits), override.zone, override.anchor);
      this.compiled.set(id, limits);
    }
    return { plan, limits };
  }

  private compile(limits: readonly LimitConfig[], timeZone: string, anchorDay: number): CompiledLimit[] {
    return limits.map((l) => compileLimit(l, { timeZone, anchorDay, weekStart: this.weekStart }));
  }
}
