import type { HeaderInput } from '../../shared/pdk';
import type { LimitResult, PlannedLimit } from './quota-plan';

/**
 * Pure: response headers for a decision.
 * - ietf (draft-ietf-httpapi-ratelimit-headers-11): `RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400`
 *   and `RateLimit: "burst";r=50;t=30`, Structured-Field lists with one item per applicable limit.
 * - legacy: `X-RateLimit-Limit-<name>` / `X-RateLimit-Remaining-<name>` per limit, plus `X-RateLimit-Limit`,
 *   `-Remaining`, `-Reset` for the limit with the fewest units left.
 * - `Retry-After` (seconds) on 429 whatever the style: when every violated limit admits this request again.
 */
export type HeaderStyle = 'ietf' | 'legacy' | 'both' | 'none';

export function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

export function policyHeader(applied: readonly PlannedLimit[]): string {
  return applied.map((a) => `"${a.limit.name}";q=${a.quota};w=${Math.max(1, Math.round(a.windowSeconds))}`).join(', ');
}

export function rateLimitHeader(applied: readonly PlannedLimit[], results: readonly LimitResult[]): string {
  return applied.map((a, i) => `"${a.limit.name}";r=${Math.max(0, results[i].remaining)};t=${seconds(results[i].resetMs)}`).join(', ');
}

export function retryAfterSeconds(results: readonly LimitResult[]): number {
  let ms = 0;
  for (const r of results) if (!r.allowed) ms = Math.max(ms, r.retryMs);
  return Math.max(1, seconds(ms));
}

export function rateLimitHeaders(style: HeaderStyle, applied: readonly PlannedLimit[], results: readonly LimitResult[], denied: boolean): HeaderInput {
  const out: HeaderInput = {};
  if (applied.length > 0 && (style === 'ietf' || style === 'both')) {
    out['RateLimit-Policy'] = policyHeader(applied);
    out['RateLimit'] = rateLimitHeader(applied, results);
  }
  if (applied.length > 0 && (style === 'legacy' || style === 'both')) {
    let tightest = 0;
    for (let i = 0; i < applied.length; i++) {
      out[`X-RateLimit-Limit-${applied[i].limit.name}`] = applied[i].quota;
      out[`X-RateLimit-Remaining-${applied[i].limit.name}`] = Math.max(0, results[i].remaining);
      if (results[i].remaining < results[tightest].remaining) tightest = i;
    }
    out['X-RateLimit-Limit'] = applied[tightest].quota;
    out['X-RateLimit-Remaining'] = Math.max(0, results[tightest].remaining);
    out['X-RateLimit-Reset'] = seconds(results[tightest].resetMs);
  }
  if (denied) out['Retry-After'] = retryAfterSeconds(results);
  return out;
}
