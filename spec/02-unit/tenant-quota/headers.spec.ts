import { rateLimitHeaders, retryAfterSeconds } from '../../../plugins/tenant-quota/headers';
import { compileLimit } from '../../../plugins/tenant-quota/limits';
import { planRequest } from '../../../plugins/tenant-quota/quota-plan';
import { quotaExceeded } from '../../../plugins/tenant-quota/problem';
import type { LimitConfig } from '../../../plugins/tenant-quota/schema';
import { parseRateLimitList } from '../../helpers/ratelimit-headers';

const cal = { timeZone: 'Europe/Berlin', anchorDay: 1, weekStart: 'monday' as const };
const limits = [
  compileLimit({ name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 100, window_seconds: 60, burst: 20, period: null } as LimitConfig, cal),
  compileLimit({ name: 'daily', scope: 'consumer', algorithm: 'calendar', limit: 1000, window_seconds: null, burst: null, period: 'day' } as LimitConfig, cal),
];
const NOW = Date.parse('2025-03-30T10:00:00Z'); // a 23-hour day in Berlin
const plan = planRequest('tq', limits, { tenant: 'acme', consumer: 'c1', endpoint: 'r' }, NOW);
const results = [
  { allowed: true, remaining: 19, resetMs: 600, retryMs: 0, token: '' },
  { allowed: true, remaining: 4, resetMs: 43_200_001, retryMs: 0, token: '' },
];

describe('tenant-quota headers', () => {
  it('RateLimit-Policy and RateLimit are valid Structured-Field lists (draft-11)', () => {
    const h = rateLimitHeaders('ietf', plan.applied, results, false);
    expect(parseRateLimitList(String(h['RateLimit-Policy']))).toEqual({ burst: { q: 100, w: 60 }, daily: { q: 1000, w: 23 * 3600 } });
    expect(parseRateLimitList(String(h['RateLimit']))).toEqual({ burst: { r: 19, t: 1 }, daily: { r: 4, t: 43_201 } });
    expect(h['Retry-After']).toBeUndefined();
    expect(Object.keys(h).some((k) => k.startsWith('X-'))).toBe(false);
  });

  it('legacy X-RateLimit-* name every limit and summarise the tightest', () => {
    const h = rateLimitHeaders('legacy', plan.applied, results, false);
    expect(h).toEqual({
      'X-RateLimit-Limit-burst': 100,
      'X-RateLimit-Remaining-burst': 19,
      'X-RateLimit-Limit-daily': 1000,
      'X-RateLimit-Remaining-daily': 4,
      'X-RateLimit-Limit': 1000,
      'X-RateLimit-Remaining': 4,
      'X-RateLimit-Reset': 43_201,
    });
    expect(Object.keys(rateLimitHeaders('both', plan.applied, results, false))).toHaveLength(9);
  });

  it('none hides the rate-limit headers but a 429 still gets Retry-After: the longest wait of the violated limits', () => {
    const denied = [
      { allowed: false, remaining: 0, resetMs: 3000, retryMs: 2500, token: '' },
      { allowed: false, remaining: 0, resetMs: 9000, retryMs: 9000, token: '' },
    ];
    expect(rateLimitHeaders('none', plan.applied, denied, true)).toEqual({ 'Retry-After': 9 });
    expect(retryAfterSeconds([{ allowed: false, remaining: 0, resetMs: 0, retryMs: 0, token: '' }])).toBe(1);
  });

  it('the 429 body is problem+json with violated-policies', () => {
    const p = quotaExceeded('acme', ['burst'], 3);
    expect(p).toMatchObject({ type: 'https://iana.org/assignments/http-problem-types#quota-exceeded', status: 429, 'violated-policies': ['burst'] });
  });
});
