import type { HeaderInput } from '../../shared/pdk';
import type { Problem } from '../../shared/problems';
import type { Verdict } from './enforcer';
import { rateLimitHeaders, retryAfterSeconds, type HeaderStyle } from './headers';
import type { Outcome } from './metrics';
import { ambiguousHeader, invalidCost, keysUnavailable, quotaExceeded, temporarilyUnavailable, unidentified } from './problem';
import type { RefundTicket } from './quota-plan';
import type { TenantQuotaConfig } from './schema';

/**
 * Pure: what the handler writes for a request, and the outcome it is counted as. Either an exit with a problem
 * (401, 400, 429, 503), or the rate-limit headers of an admitted request (none: nothing to write) and, with
 * refund_5xx, the ticket saved for the log phase.
 */
export type Answer =
  | { readonly outcome: Outcome; readonly exit: { readonly problem: Problem; readonly headers?: HeaderInput } }
  | { readonly outcome: Outcome; readonly exit?: undefined; readonly headers?: HeaderInput; readonly refund?: RefundTicket; readonly consumed: boolean };

/** jose's JWKS cooldown: a refetch is tried again after this. */
const KEYS_RETRY_SECONDS = 5;

export class AnswerPolicy {
  private readonly style: HeaderStyle;
  private readonly shadow: boolean;
  private readonly refunds: boolean;
  private readonly retryAfterClosed: number;

  constructor(private readonly config: TenantQuotaConfig) {
    this.style = config.headers;
    this.shadow = config.mode === 'shadow';
    this.refunds = config.refund_5xx;
    // the breaker's open time: when a fail-closed client may try again
    this.retryAfterClosed = Math.max(1, Math.ceil(config.redis.breaker.open_ms / 1000));
  }

  /** 401 with its challenge (RFC 9110 15.5.2: a 401 carries WWW-Authenticate); a rejected bearer token says so. */
  unidentified(described: string, challenge: string, tokenRejected = false): Answer {
    const value = tokenRejected && challenge.startsWith('Bearer') ? `${challenge}, error="invalid_token"` : challenge;
    return { outcome: 'unidentified', exit: { problem: unidentified(described), headers: { 'WWW-Authenticate': value } } };
  }

  /** A tenant, consumer, token or cost header sent twice: which value would count is not the client's to leave open. */
  ambiguous(header: string): Answer {
    return { outcome: 'ambiguous_header', exit: { problem: ambiguousHeader(header) } };
  }

  /** The JWKS endpoint cannot be reached: 503, not a 401 that would blame the client's valid token. */
  keysUnavailable(): Answer {
    return { outcome: 'identity_unavailable', exit: { problem: keysUnavailable(KEYS_RETRY_SECONDS), headers: { 'Retry-After': KEYS_RETRY_SECONDS } } };
  }

  invalidCost(): Answer {
    const c = this.config.cost;
    return { outcome: 'invalid_cost', exit: { problem: invalidCost(c.header as string, c.min, c.max) } };
  }

  forVerdict(verdict: Verdict, tenant: string, cost: number): Answer {
    if (verdict.source === 'fail_open') return { outcome: 'redis_fail_open', consumed: false };
    if (verdict.source === 'fail_closed') {
      return { outcome: 'redis_fail_closed', exit: { problem: temporarilyUnavailable(this.retryAfterClosed), headers: { 'Retry-After': this.retryAfterClosed } } };
    }
    const { plan, decision } = verdict;
    const local = verdict.source === 'local';
    const denied = !decision.allowed;
    if (denied && !this.shadow) {
      const violated = plan.applied.filter((_, i) => !decision.results[i].allowed).map((a) => a.limit.name);
      const problem = quotaExceeded(tenant, violated, retryAfterSeconds(decision.results));
      return { outcome: local ? 'local_limited' : 'limited', exit: { problem, headers: rateLimitHeaders(this.style, plan.applied, decision.results, true) } };
    }
    const headers = rateLimitHeaders(this.style, plan.applied, decision.results, false);
    return {
      outcome: denied ? 'shadow_limited' : local ? 'local_allowed' : 'allowed',
      headers: Object.keys(headers).length ? headers : undefined,
      refund: this.refunds && !denied && cost > 0 ? plan.refundTicket(tenant, decision.results, cost, local) : undefined,
      consumed: !denied,
    };
  }
}
