import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import { childLogger, type Logger } from '../../shared/observability/log';
import { exitWithProblem, type HeaderMultimap, type Pdk } from '../../shared/pdk';
import type { RedisHandle } from '../../shared/redis';
import { CLOCK_OFFSET_ENV, offsetClock, offsetFromEnv, type Clock } from './clock';
import { Enforcer, type Verdict } from './enforcer';
import { rateLimitHeaders, retryAfterSeconds, type HeaderStyle } from './headers';
import { IdentityResolver, type RequestFacts } from './identity';
import type { BoundedLabel } from '../../shared/observability/metrics';
import { nearLimitTotal, refundsTotal, requestsTotal, tenantLabels, unitsTotal, type Outcome } from './metrics';
import { PlanResolver } from './plans';
import { invalidCost, quotaExceeded, temporarilyUnavailable, unidentified } from './problem';
import type { TenantQuotaConfig } from './schema';

type Decided = Extract<Verdict, { source: 'redis' | 'local' }>;

const fromEnv = offsetFromEnv();
if (fromEnv.problem) childLogger({ plugin: 'tenant-quota' }).warn(fromEnv.problem);
if (fromEnv.offsetMs !== 0) childLogger({ plugin: 'tenant-quota' }).warn({ offset_ms: fromEnv.offsetMs }, `${CLOCK_OFFSET_ENV} is set: calendar windows use a shifted clock (test hook)`);
export const processClock: Clock = offsetClock(fromEnv.offsetMs);

const MAX_MATCHED_PATH = 2048;

/** kong.ctx.shared key carrying what an admitted request consumed, for a refund in the log phase. */
export const REFUND_CTX_KEY = 'tenant_quota_refund';

interface EndpointMatcher {
  name: string;
  methods: Set<string> | undefined;
  pattern: RegExp;
}

export interface HandlerOptions {
  clock?: Clock;
  redis?: RedisHandle;
}

/**
 * Access, as a sentence: identify the tenant (reading only what the source needs), price the request, pick the
 * tenant's limits, ask Redis once (or the failure mode), then either add the headers or answer 429. PDK calls per
 * admitted request: 1 read (headers, consumer or credential; 2 when a header source also needs the consumer) + 1
 * setHeaders (+1 ctx.set with refund_5xx; +2 reads with endpoint patterns). A 429 is a single exit call.
 */
export class TenantQuotaHandler implements PhaseHandler {
  private readonly identity: IdentityResolver;
  private readonly plans: PlanResolver;
  private readonly enforcer: Enforcer;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly style: HeaderStyle;
  private readonly shadow: boolean;
  private readonly costHeader: string | undefined;
  private readonly needsHeaders: boolean;
  private readonly endpoints: EndpointMatcher[];
  private readonly routeEndpoint: string;
  private readonly tenants: BoundedLabel;
  private readonly nearPercents: number[];
  private readonly retryAfterClosed: number;

  constructor(
    private readonly config: TenantQuotaConfig,
    context: HandlerContext,
    options: HandlerOptions = {},
  ) {
    this.clock = options.clock ?? processClock;
    this.logger = context.log;
    this.identity = new IdentityResolver(config);
    this.enforcer = new Enforcer(config, context.log, options.redis);
    this.plans = new PlanResolver(config, this.enforcer.redis, () => this.clock.now());
    this.style = config.headers;
    this.shadow = config.mode === 'shadow';
    this.costHeader = config.cost.header?.toLowerCase();
    this.needsHeaders = this.identity.needsHeaders || this.costHeader !== undefined;
    this.endpoints = (config.endpoints ?? []).map((e) => ({ name: e.name, methods: e.methods?.length ? new Set(e.methods.map((m) => m.toUpperCase())) : undefined, pattern: new RegExp(e.path_pattern) }));
    this.routeEndpoint = context.meta.routeId ?? context.meta.serviceId ?? 'global';
    this.tenants = tenantLabels(config.metrics_max_tenants);
    this.nearPercents = [...(config.near_limit_percents ?? [])].sort((a, b) => a - b);
    this.retryAfterClosed = Math.max(1, Math.ceil(config.redis.breaker.open_ms / 1000));
  }

  async access(pdk: Pdk): Promise<void> {
    const facts: RequestFacts = {};
    if (this.needsHeaders) facts.headers = await pdk.request.getHeaders();
    if (this.identity.needsConsumer) facts.consumer = await pdk.client.getConsumer();
    if (this.identity.needsCredential) facts.credential = await pdk.client.getCredential();

    const who = (await this.identity.resolve(facts)) ?? this.identity.anonymous();
    if (!who) {
      this.count('-', '-', 'unidentified');
      return exitWithProblem(pdk, unidentified(this.identity.describe));
    }
    const cost = this.cost(facts.headers);
    if (cost === undefined) {
      this.count(who.tenant, '-', 'invalid_cost');
      return exitWithProblem(pdk, invalidCost(this.config.cost.header as string, this.config.cost.min, this.config.cost.max));
    }
    const endpoint = this.endpoints.length ? await this.endpoint(pdk) : this.routeEndpoint;
    const choice = await this.plans.resolve(who.tenant);
    if (choice.limits.length === 0) return;

    const now = this.clock.now();
    const verdict = await this.enforcer.decide(choice.limits, { tenant: who.tenant, consumer: who.consumer, endpoint }, cost, now);
    const tenant = this.tenants.value(who.tenant);

    if (verdict.source === 'fail_open') return this.count(tenant, choice.plan, 'redis_fail_open');
    if (verdict.source === 'fail_closed') {
      this.count(tenant, choice.plan, 'redis_fail_closed');
      return exitWithProblem(pdk, temporarilyUnavailable(this.retryAfterClosed), { 'Retry-After': this.retryAfterClosed });
    }
    return this.apply(pdk, verdict, who.tenant, tenant, choice.plan, cost);
  }

  /** 429, or the headers (and the refund record) of an admitted request. */
  private async apply(pdk: Pdk, verdict: Decided, rawTenant: string, tenant: string, planName: string, cost: number): Promise<void> {
    const { decision, plan } = verdict;
    const local = verdict.source === 'local';
    const denied = !decision.allowed;
    if (denied && !this.shadow) {
      this.count(tenant, planName, local ? 'local_limited' : 'limited');
      const violated = plan.applied.filter((_, i) => !decision.results[i].allowed).map((a) => a.limit.name);
      const headers = rateLimitHeaders(this.style, plan.applied, decision.results, true);
      return exitWithProblem(pdk, quotaExceeded(rawTenant, violated, retryAfterSeconds(decision.results)), headers);
    }
    this.count(tenant, planName, denied ? 'shadow_limited' : local ? 'local_allowed' : 'allowed');
    if (!denied) {
      unitsTotal.inc({ tenant, plan: planName }, cost);
      this.nearLimit(verdict, rawTenant, tenant, cost);
    }
    const headers = rateLimitHeaders(this.style, plan.applied, decision.results, false);
    if (Object.keys(headers).length) await pdk.response.setHeaders(headers);
    if (this.config.refund_5xx && !denied && cost > 0) {
      const args: Array<string | number> = [];
      plan.applied.forEach((_, i) => args.push(plan.args[i * 4] as string, plan.args[i * 4 + 1] as number, plan.args[i * 4 + 2] as number, decision.results[i].token));
      await pdk.ctx.set(REFUND_CTX_KEY, JSON.stringify({ t: rawTenant, k: plan.keys, a: args, c: cost, l: local ? 1 : 0 }));
    }
  }

  /** Refund of 5xx answers: one status read per request, the saved plan and one Redis call for 5xx only. */
  async log(pdk: Pdk): Promise<void> {
    if (!this.config.refund_5xx) return;
    const status = await pdk.response.getStatus();
    if (!(status >= 500)) return;
    const saved = await pdk.ctx.get<string>(REFUND_CTX_KEY);
    if (typeof saved !== 'string') return;
    const { t, k, a, c, l } = JSON.parse(saved) as { t: string; k: string[]; a: Array<string | number>; c: number; l?: number };
    // a local admission is refunded locally: Redis never counted it
    const ok = await this.enforcer.refund(k, a, c, this.clock.now(), l === 1);
    refundsTotal.inc({ tenant: this.tenants.value(t), result: ok ? 'refunded' : 'failed' });
  }

  private cost(headers: HeaderMultimap | undefined): number | undefined {
    const c = this.config.cost;
    if (!this.costHeader) return c.default;
    const raw = headers?.[this.costHeader]?.[0];
    if (raw === undefined) return c.default;
    const value = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || value < c.min || value > c.max) return undefined;
    return value;
  }

  private async endpoint(pdk: Pdk): Promise<string> {
    const method = await pdk.request.getMethod();
    const path = await pdk.request.getPath();
    // operators' patterns see bounded untrusted input (nginx itself caps request lines at 8 KB by default)
    if (path.length > MAX_MATCHED_PATH) return this.routeEndpoint;
    for (const e of this.endpoints) if ((!e.methods || e.methods.has(method)) && e.pattern.test(path)) return e.name;
    return this.routeEndpoint;
  }

  private count(tenant: string, plan: string, outcome: Outcome): void {
    requestsTotal.inc({ tenant, plan, outcome });
  }

  /** Calendar quotas crossing a configured percentage with this request: exactly once per window, across nodes. */
  private nearLimit(verdict: Decided, tenant: string, label: string, cost: number): void {
    if (!this.nearPercents.length) return;
    verdict.plan.applied.forEach((a, i) => {
      if (a.limit.kind !== 'c') return;
      const after = a.q - verdict.decision.results[i].remaining;
      const before = after - cost;
      for (const p of this.nearPercents) {
        const threshold = Math.ceil((a.q * p) / 100);
        if (before < threshold && after >= threshold) {
          nearLimitTotal.inc({ tenant: label, limit: a.limit.name, percent: String(p) });
          this.logger.warn({ tenant, limit: a.limit.name, percent: p, used: after, quota: a.q }, 'tenant-quota: quota usage crossed a threshold');
        }
      }
    });
  }
}
