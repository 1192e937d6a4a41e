import type { Clock } from '../../shared/clock';
import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import type { Pdk } from '../../shared/pdk';
import { exitWithProblem } from '../../shared/problems';
import { AnswerPolicy, type Answer } from './answer';
import { CostPricer } from './cost';
import { EndpointMatcher } from './endpoints';
import { Enforcer } from './enforcer';
import { IdentityResolver, type RequestFacts } from './identity';
import { QuotaMetrics } from './metrics';
import { crossedThresholds } from './near-limit';
import { PlanResolver } from './plans';
import { RefundTicket } from './quota-plan';
import type { TenantQuotaConfig } from './schema';

function hasEndpointScope(config: TenantQuotaConfig): boolean {
  const limits = [...config.plans.flatMap((p) => p.limits ?? []), ...(config.tenant_overrides ?? []).flatMap((o) => o.limits ?? [])];
  return limits.some((l) => l.scope === 'endpoint');
}

/** kong.ctx.shared key carrying what an admitted request consumed, for a refund in the log phase. */
export const REFUND_CTX_KEY = 'tenant_quota_refund';

/**
 * Access, as a sentence: read what identity and cost need, identify the tenant, price the request, find its
 * endpoint and plan, ask Redis once (or the failure mode), then answer: the headers, or a problem. PDK calls per
 * admitted request: 1 read (headers, consumer or credential; 2 when a header source also needs the consumer) + 1
 * setHeaders (+1 ctx.set with refund_5xx; +2 reads with endpoint patterns; +1 get_route for endpoint-scoped limits of a config on a service or global). A 429 is a single exit call.
 */
export class TenantQuotaHandler implements PhaseHandler {
  private readonly identity: IdentityResolver;
  private readonly pricer: CostPricer;
  private readonly endpoints: EndpointMatcher;
  private readonly plans: PlanResolver;
  private readonly enforcer: Enforcer;
  private readonly answers: AnswerPolicy;
  private readonly metrics: QuotaMetrics;
  private readonly clock: Clock;
  private readonly nearPercents: number[];
  private readonly routeFromRequest: boolean;

  constructor(
    private readonly config: TenantQuotaConfig,
    context: HandlerContext,
  ) {
    this.clock = context.clock;
    this.identity = new IdentityResolver(config);
    this.pricer = new CostPricer(config.cost);
    this.endpoints = new EndpointMatcher(config.endpoints, context.meta.routeId ?? context.meta.serviceId ?? 'global');
    // a config on a service (or global) serves several routes: an endpoint-scoped count needs the request's route
    this.routeFromRequest = !context.meta.routeId && hasEndpointScope(config);
    this.enforcer = new Enforcer(config, context.log);
    this.answers = new AnswerPolicy(config);
    this.metrics = new QuotaMetrics(config.metrics_max_tenants, context.log);
    this.plans = new PlanResolver(config, this.enforcer.redis, () => this.clock.now(), (reason, err) => this.metrics.planLookupFailed(reason, err));
    // a percentage listed twice is one threshold (it was signalled and counted twice)
    this.nearPercents = [...new Set(config.near_limit_percents ?? [])].sort((a, b) => a - b);
  }

  async access(pdk: Pdk): Promise<void> {
    const facts = await this.readFacts(pdk);
    const ambiguous = this.identity.ambiguousHeader(facts.headers) ?? this.pricer.ambiguousHeader(facts.headers);
    if (ambiguous) return this.write(pdk, this.answers.ambiguous(ambiguous), undefined, '-');
    const identified = await this.identity.identify(facts);
    if (identified.kind === 'unavailable') {
      this.metrics.identityUnavailable(identified.reason);
      return this.write(pdk, this.answers.keysUnavailable(), undefined, '-');
    }
    const who = identified.kind === 'identified' ? identified.who : this.identity.anonymous();
    if (!who) return this.write(pdk, this.answers.unidentified(this.identity.describe, this.identity.challenge, identified.kind === 'none' && identified.tokenRejected), undefined, '-');
    const cost = this.pricer.price(facts.headers);
    if (cost === undefined) return this.write(pdk, this.answers.invalidCost(), who.tenant, '-');
    const endpoint = await this.endpointOf(pdk);
    const choice = await this.plans.resolve(who.tenant);
    if (choice.limits.length === 0) return;
    const verdict = await this.enforcer.decide(choice.limits, { tenant: who.tenant, consumer: who.consumer, endpoint }, cost, this.clock.now());
    const answer = this.answers.forVerdict(verdict, who.tenant, cost);
    if (!answer.exit && answer.consumed && 'decision' in verdict) {
      this.metrics.consumed(who.tenant, choice.plan, cost);
      this.metrics.nearLimit(who.tenant, crossedThresholds(verdict.plan, verdict.decision, cost, this.nearPercents));
    }
    return this.write(pdk, answer, who.tenant, choice.plan);
  }

  /** Refund of 5xx answers: one status read per request, the saved ticket and one Redis call for 5xx only. */
  async log(pdk: Pdk): Promise<void> {
    if (!this.config.refund_5xx) return;
    const status = await pdk.response.getStatus();
    if (!(status >= 500)) return;
    const ticket = RefundTicket.decode(await pdk.ctx.get<string>(REFUND_CTX_KEY));
    if (!ticket) return;
    this.metrics.refunded(ticket.tenant, await this.enforcer.refund(ticket, this.clock.now()));
  }

  /** The configured endpoint matched, else the request's route (one get_route, only for a config not on a route). */
  private async endpointOf(pdk: Pdk): Promise<string> {
    const matched = this.endpoints.needsRequest ? this.endpoints.match(await pdk.request.getMethod(), await pdk.request.getPath()) : undefined;
    if (matched !== undefined) return matched;
    if (!this.routeFromRequest) return this.endpoints.route;
    return (await pdk.router.getRoute())?.id ?? this.endpoints.route;
  }

  /** Only the reads the identity source and the cost header need. */
  private async readFacts(pdk: Pdk): Promise<RequestFacts> {
    const facts: RequestFacts = {};
    if (this.identity.needsHeaders || this.pricer.header !== undefined) facts.headers = await pdk.request.getHeaders();
    if (this.identity.needsConsumer) facts.consumer = await pdk.client.getConsumer();
    if (this.identity.needsCredential) facts.credential = await pdk.client.getCredential();
    return facts;
  }

  private async write(pdk: Pdk, answer: Answer, tenant: string | undefined, plan: string): Promise<void> {
    this.metrics.request(tenant, plan, answer.outcome);
    if (answer.exit) return exitWithProblem(pdk, answer.exit.problem, answer.exit.headers);
    if (answer.headers) await pdk.response.setHeaders(answer.headers);
    if (answer.refund) await pdk.ctx.set(REFUND_CTX_KEY, answer.refund.encode());
  }
}
