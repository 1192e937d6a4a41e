/**
 * The bodies of this plugin's answers, from the suite's problem catalogue (shared/problems). 429 uses the problem
 * type registered by draft-ietf-httpapi-ratelimit-headers (quota-exceeded) with its `violated-policies` member.
 */
import { PROBLEMS, type Problem } from '../../shared/problems';

export function quotaExceeded(tenant: string, violated: readonly string[], retryAfter: number): Problem {
  return PROBLEMS.quotaExceeded.create(`Tenant ${tenant} exceeded ${violated.join(', ')}; retry in ${retryAfter} s.`, { 'violated-policies': [...violated] });
}

export function temporarilyUnavailable(retryAfter: number): Problem {
  return PROBLEMS.quotaUnavailable.create(`Quotas cannot be checked right now; retry in ${retryAfter} s.`, {});
}

export function unidentified(what: string): Problem {
  return PROBLEMS.tenantUnidentified.create(`No tenant could be identified from ${what}.`, {});
}

export function ambiguousHeader(header: string): Problem {
  return PROBLEMS.ambiguousHeader.create(`The ${header} header must be sent once, with one value.`, { header });
}

export function keysUnavailable(retryAfter: number): Problem {
  return PROBLEMS.identityKeysUnavailable.create(`Tokens cannot be verified right now (the signing keys are unavailable); retry in ${retryAfter} s.`, {});
}

export function invalidCost(header: string, min: number, max: number): Problem {
  return PROBLEMS.invalidCost.create(`${header} must be an integer from ${min} to ${max}.`, {});
}
