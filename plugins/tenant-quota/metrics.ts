import type { Logger } from '../../shared/observability/log';
import { BoundedLabel, counter, gauge } from '../../shared/observability/metrics';
import type { Crossing } from './near-limit';

/**
 * Per-tenant usage metrics with bounded cardinality: the tenant label keeps the first metrics_max_tenants values
 * per process, later tenants count as "__other__". Plan and limit names come from config (bounded).
 */
export type Outcome =
  | 'allowed'
  | 'limited'
  | 'shadow_limited'
  | 'redis_fail_open'
  | 'redis_fail_closed'
  | 'local_allowed'
  | 'local_limited'
  | 'unidentified'
  | 'ambiguous_header'
  | 'identity_unavailable'
  | 'invalid_cost';

export const requestsTotal = counter('kong_tenant_quota_requests_total', 'Requests by tenant, plan and outcome', ['tenant', 'plan', 'outcome']);
export const unitsTotal = counter('kong_tenant_quota_units_total', 'Quota units consumed (request cost) by tenant and plan', ['tenant', 'plan']);
export const nearLimitTotal = counter('kong_tenant_quota_near_limit_total', 'Calendar quotas crossing a configured usage percentage', ['tenant', 'limit', 'percent']);
export const refundsTotal = counter('kong_tenant_quota_refunds_total', 'Requests refunded after a 5xx, by tenant and result', ['tenant', 'result']);
export const redisDegraded = gauge('kong_tenant_quota_redis_degraded', '1 while the last quota call to Redis failed (failure mode in effect), else 0', ['target']);
export const identityFailures = counter('kong_tenant_quota_identity_failures_total', 'Requests whose identity could not be checked (JWKS timeout, unreachable, invalid; key import), by reason', ['reason']);
export const planLookupFailures = counter('kong_tenant_quota_plan_lookup_failures_total', 'Plan reads from the Redis hash that failed (the cached or static plan applied), by reason', ['reason']);
export const redisFailures = counter('kong_tenant_quota_redis_failures_total', 'Quota calls Redis could not serve, by reason and the failure mode applied', ['reason', 'mode']);

const labels = new Map<number, BoundedLabel>();
const LOG_EVERY_MS = 10_000;
const lastLogged = new Map<string, number>();

/** One bounded tenant label set per configured size, shared by every instance in the process. */
function tenantLabels(max: number): BoundedLabel {
  let l = labels.get(max);
  if (!l) {
    l = new BoundedLabel(max);
    labels.set(max, l);
  }
  return l;
}

/** What one plugin config reports: every tenant label bounded by metrics_max_tenants (unidentified: "-"). */
export class QuotaMetrics {
  private readonly tenants: BoundedLabel;

  constructor(
    maxTenants: number,
    private readonly log: Logger,
  ) {
    this.tenants = tenantLabels(maxTenants);
  }

  request(tenant: string | undefined, plan: string, outcome: Outcome): void {
    requestsTotal.inc({ tenant: tenant === undefined ? '-' : this.tenants.value(tenant), plan, outcome });
  }

  consumed(tenant: string, plan: string, cost: number): void {
    unitsTotal.inc({ tenant: this.tenants.value(tenant), plan }, cost);
  }

  /** Calendar quotas crossing a configured percentage: logged (the real tenant name) and counted. */
  nearLimit(tenant: string, crossings: readonly Crossing[]): void {
    for (const c of crossings) {
      nearLimitTotal.inc({ tenant: this.tenants.value(tenant), limit: c.limit, percent: String(c.percent) });
      this.log.warn({ tenant, limit: c.limit, percent: c.percent, used: c.used, quota: c.quota }, 'tenant-quota: quota usage crossed a threshold');
    }
  }

  /** Counted every time; logged at most once per LOG_EVERY_MS per reason (an outage is one line, not one per request). */
  identityUnavailable(reason: string): void {
    identityFailures.inc({ reason });
    this.throttled(`identity:${reason}`, { reason }, 'tenant-quota: tenant identity cannot be verified, answering 503');
  }

  planLookupFailed(reason: string, err: unknown): void {
    planLookupFailures.inc({ reason });
    this.throttled(`plan:${reason}`, { reason, error: err instanceof Error ? err.message : String(err) }, 'tenant-quota: plan lookup in redis failed, using the cached or static plan');
  }

  private throttled(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - (lastLogged.get(key) ?? -Infinity) < LOG_EVERY_MS) return;
    lastLogged.set(key, now);
    this.log.warn(fields, message);
  }

  refunded(tenant: string, ok: boolean): void {
    refundsTotal.inc({ tenant: this.tenants.value(tenant), result: ok ? 'refunded' : 'failed' });
  }
}
