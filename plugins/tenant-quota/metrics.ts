import { BoundedLabel, counter, gauge } from '../../shared/observability/metrics';

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
  | 'invalid_cost';

export const requestsTotal = counter('kong_tenant_quota_requests_total', 'Requests by tenant, plan and outcome', ['tenant', 'plan', 'outcome']);
export const unitsTotal = counter('kong_tenant_quota_units_total', 'Quota units consumed (request cost) by tenant and plan', ['tenant', 'plan']);
export const nearLimitTotal = counter('kong_tenant_quota_near_limit_total', 'Calendar quotas crossing a configured usage percentage', ['tenant', 'limit', 'percent']);
export const refundsTotal = counter('kong_tenant_quota_refunds_total', 'Requests refunded after a 5xx, by tenant and result', ['tenant', 'result']);
export const redisDegraded = gauge('kong_tenant_quota_redis_degraded', '1 while the last quota call to Redis failed (failure mode in effect), else 0', ['target']);
export const redisFailures = counter('kong_tenant_quota_redis_failures_total', 'Quota calls Redis could not serve, by reason and the failure mode applied', ['reason', 'mode']);

const labels = new Map<number, BoundedLabel>();

/** One bounded tenant label set per configured size, shared by every instance in the process. */
export function tenantLabels(max: number): BoundedLabel {
  let l = labels.get(max);
  if (!l) {
    l = new BoundedLabel(max);
    labels.set(max, l);
  }
  return l;
}
