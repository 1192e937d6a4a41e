import { compileLimit, mergeLimits } from '../../../plugins/tenant-quota/limits';
import { planRequest } from '../../../plugins/tenant-quota/quota-plan';
import { LocalLimiter } from '../../../plugins/tenant-quota/local-fallback';
import type { LimitConfig } from '../../../plugins/tenant-quota/schema';

const cal = { timeZone: 'UTC', anchorDay: 1, weekStart: 'monday' as const };
const l = (x: Partial<LimitConfig>): LimitConfig => ({ scope: 'tenant', window_seconds: null, burst: null, period: null, ...x }) as LimitConfig;
const NOW = Date.parse('2025-06-15T12:00:00Z');

describe('tenant-quota limits', () => {
  it('keys carry the tenant hash tag, the scope and the window; one slot per request', () => {
    const limits = [
      compileLimit(l({ name: 'a', algorithm: 'gcra', limit: 10, window_seconds: 1 }), cal),
      compileLimit(l({ name: 'b', scope: 'consumer', algorithm: 'sliding_window', limit: 10, window_seconds: 60 }), cal),
      compileLimit(l({ name: 'c', scope: 'endpoint', algorithm: 'calendar', limit: 10, period: 'month' }), cal),
    ];
    const plan = planRequest('tq', limits, { tenant: 'acme', consumer: 'u:1', endpoint: 'orders' }, NOW);
    expect(plan.keys).toEqual(['tq:{acme}:t:a:g1', 'tq:{acme}:c:u%3A1:b:s60:z', 'tq:{acme}:c:u%3A1:b:s60:h', 'tq:{acme}:e:orders:c:M20250601']);
    expect(plan.args).toEqual(['g', 10, 1000, 10, 's', 10, 60000, 0, 'c', 10, Date.parse('2025-07-01T00:00:00Z') - NOW, 0]);
    expect(plan.applied.map((a) => a.windowSeconds)).toEqual([1, 60, 30 * 86400]);
  });

  it('local fallback divides every quota by node_count, never below 1', () => {
    const limits = [compileLimit(l({ name: 'a', algorithm: 'gcra', limit: 10, window_seconds: 60, burst: 9 }), cal), compileLimit(l({ name: 'b', algorithm: 'calendar', limit: 2, period: 'day' }), cal)];
    const plan = planRequest('tq', limits, { tenant: 't', consumer: '_', endpoint: 'r' }, NOW, 3);
    expect(plan.applied.map((a) => a.quota)).toEqual([3, 1]);
    expect(plan.args[3]).toBe(3);
  });

  it('tenant overrides replace same-named limits and add new ones', () => {
    const merged = mergeLimits([l({ name: 'a', limit: 1 }), l({ name: 'b', limit: 2 })], [l({ name: 'b', limit: 20 }), l({ name: 'c', limit: 3 })]);
    expect(merged.map((m) => [m.name, m.limit])).toEqual([['a', 1], ['b', 20], ['c', 3]]);
  });

  it('the local limiter keeps memory bounded under key churn', () => {
    const local = new LocalLimiter(1000);
    const limits = [compileLimit(l({ name: 'a', algorithm: 'sliding_window', limit: 5, window_seconds: 3600 }), cal)];
    for (let i = 0; i < 20_000; i++) local.check(planRequest('tq', limits, { tenant: `t${i}`, consumer: '_', endpoint: 'r' }, NOW), 1, NOW + i);
    expect(local.size).toBeLessThanOrEqual(1000);
  });

  it('the local limiter admits exactly the limit, then recovers as the window slides', () => {
    const local = new LocalLimiter();
    const limits = [compileLimit(l({ name: 'a', algorithm: 'sliding_window', limit: 5, window_seconds: 10 }), cal)];
    const plan = planRequest('tq', limits, { tenant: 't', consumer: '_', endpoint: 'r' }, NOW);
    const admitted = Array.from({ length: 64 }, () => local.check(plan, 1, NOW).allowed).filter(Boolean).length;
    expect(admitted).toBe(5);
    expect(local.check(plan, 1, NOW + 10_000).allowed).toBe(true);
  });
});
