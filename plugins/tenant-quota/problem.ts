/**
 * RFC 9457 problem details for the answers this plugin gives. 429 uses the problem type registered by
 * draft-ietf-httpapi-ratelimit-headers (quota-exceeded) with its `violated-policies` member.
 */
import type { Problem } from '../../shared/pdk';

const IANA = 'https://iana.org/assignments/http-problem-types#';

export function quotaExceeded(tenant: string, violated: readonly string[], retryAfter: number): Problem {
  return {
    type: `${IANA}quota-exceeded`,
    title: 'Request quota exceeded',
    status: 429,
    detail: `Tenant ${tenant} exceeded ${violated.join(', ')}; retry in ${retryAfter} s.`,
    'violated-policies': [...violated],
  };
}

export function temporarilyUnavailable(retryAfter: number): Problem {
  return {
    type: `${IANA}temporary-reduced-capacity`,
    title: 'Quota service temporarily unavailable',
    status: 503,
    detail: `Quotas cannot be checked right now; retry in ${retryAfter} s.`,
  };
}

export function unidentified(what: string): Problem {
  return { type: 'about:blank', title: 'Unauthorized', status: 401, detail: `No tenant could be identified from ${what}.` };
}

export function invalidCost(header: string, min: number, max: number): Problem {
  return { type: 'about:blank', title: 'Bad Request', status: 400, detail: `${header} must be an integer from ${min} to ${max}.` };
}
