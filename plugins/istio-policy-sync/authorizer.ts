import { decide, matching, type Attributes, type Verdict, type Workload } from '../../shared/istio/engine';
import type { HeaderInput } from '../../shared/pdk';
import { buildAttributes, workloadPath, type KongIdentity, type RequestFacts, type WorkloadTarget } from './attributes';
import type { CheckResult, ExtAuthzProvider } from './ext-authz';
import { JwtAuthenticator, type JwksOptions } from './jwt';
import { decisionMetrics } from './metrics';
import type { PolicySnapshot, WorkloadView } from './policy-set';

/**
 * One workload's decision procedure for one policy snapshot, in the sidecar's filter order: the connection
 * (PeerAuthentication STRICT refuses plaintext), jwt_authn (RequestAuthentication: an invalid token is 401), then
 * ext_authz (CUSTOM), then RBAC (DENY, then ALLOW). Pure apart from the provider call and the JWKS fetch.
 */

export type Need = 'method' | 'path' | 'headers' | 'query' | 'remoteIp' | 'host';

export interface Outcome {
  decision: 'allow' | 'deny' | 'unknown';
  /** The status the mesh would answer a denial with (403; 401 for a bad token; the provider's for CUSTOM). */
  status: number;
  /** deny-policy, allow-policy, no-allow-policies, no-allow-match, unknown, jwt-invalid, peer-authentication-strict, custom-deny, custom-error, custom-allow, no-policy-set */
  reason: string;
  policy?: string;
  action?: string;
  detail?: string;
  /** Headers for the upstream request (ext_authz headersToUpstreamOnAllow, JWT claim headers). */
  upstreamHeaders: HeaderInput;
  /** Headers for the client (ext_authz on deny/allow; WWW-Authenticate on 401). */
  downstreamHeaders: HeaderInput;
  audit: string[];
  /** What enforcing the dry-run policies too would decide (absent when there are none). */
  shadow?: Verdict;
  dryRunMatches: string[];
  requestPrincipal?: string;
}

export interface AuthorizerOptions {
  workload: Workload;
  target: WorkloadTarget;
  identity: KongIdentity;
  providers: Map<string, ExtAuthzProvider>;
  jwks: JwksOptions;
  /** Apply outputClaimToHeaders upstream (the sidecar overwrites them anyway). */
  claimHeadersUpstream: boolean;
}

export class Authorizer {
  readonly view: WorkloadView;
  readonly needs = new Set<Need>();
  private readonly jwt: JwtAuthenticator;
  /** Providers CUSTOM policies name that the config does not define: those requests are left to the mesh. */
  readonly missingProviders: string[];

  constructor(
    readonly snapshot: PolicySnapshot,
    private readonly options: AuthorizerOptions,
  ) {
    this.view = snapshot.forWorkload(options.workload);
    this.jwt = new JwtAuthenticator(this.view.jwtRules, options.jwks);
    const reads = this.view.policies.reads;
    if (reads.has('method')) this.needs.add('method');
    if (reads.has('path')) this.needs.add('path');
    if (reads.has('headers')) this.needs.add('headers');
    if (reads.has('remoteIp')) this.needs.add('remoteIp');
    if (reads.has('host') && !options.target.host) this.needs.add('headers');
    if (!this.jwt.empty) {
      this.needs.add('headers');
      if (this.jwt.needsQuery) this.needs.add('query');
    }
    if (this.view.policies.custom.length > 0) for (const n of ['method', 'path', 'headers', 'query'] as const) this.needs.add(n);
    this.missingProviders = [...this.view.providers].filter((p) => !options.providers.has(p));
  }

  /** Nothing applies: the plugin can skip every read. */
  get idle(): boolean {
    return this.view.policies.size === 0 && this.jwt.empty && !this.strictBlocksPlaintext();
  }

  private strictBlocksPlaintext(): boolean {
    return !this.options.identity.principal && this.view.mtls(this.options.target.port ?? undefined).mode === 'STRICT';
  }

  async authorize(facts: RequestFacts): Promise<Outcome> {
    const { identity, target } = this.options;
    const base = { upstreamHeaders: {} as HeaderInput, downstreamHeaders: {} as HeaderInput, audit: [] as string[], dryRunMatches: [] as string[] };
    const mtls = this.view.mtls(target.port ?? undefined);
    if (!identity.principal && mtls.mode === 'STRICT') {
      return { ...base, decision: 'deny', status: 403, reason: 'peer-authentication-strict', policy: mtls.policy, action: 'PeerAuthentication', detail: 'the workload accepts mutual TLS only and Kong has no mesh identity' };
    }
    const query = this.jwt.needsQuery && facts.rawQuery ? parseQuery(facts.rawQuery) : undefined;
    const jwt = await this.jwt.authenticate({ headers: facts.headers ?? {}, query });
    if (jwt.kind === 'invalid') {
      return {
        ...base,
        decision: 'deny',
        status: 401,
        reason: 'jwt-invalid',
        policy: jwt.policy,
        action: 'RequestAuthentication',
        detail: jwt.reason,
        downstreamHeaders: { 'WWW-Authenticate': 'Bearer realm="mesh", error="invalid_token"' },
      };
    }
    const a = buildAttributes(facts, target, identity, mtls, jwt);
    if (jwt.kind === 'valid' && this.options.claimHeadersUpstream) Object.assign(base.upstreamHeaders, jwt.outputHeaders);
    const requestPrincipal = jwt.kind === 'valid' ? jwt.requestPrincipal : undefined;
    const p = this.view.policies;
    base.audit = matching(p.audit, a).map((m) => m.policy.name);

    const custom = await this.custom(a, facts);
    if ('final' in custom) return { ...base, ...custom.final, upstreamHeaders: base.upstreamHeaders, requestPrincipal };
    Object.assign(base.upstreamHeaders, custom.upstream);
    Object.assign(base.downstreamHeaders, custom.downstream);
    const verdict = decide(p.deny, p.allow, a);
    const out: Outcome = { ...base, ...verdict, status: 403, requestPrincipal };
    if (p.dryDeny.length > 0 || p.dryAllow.length > 0) {
      out.shadow = decide([...p.deny, ...p.dryDeny], [...p.allow, ...p.dryAllow], a);
      out.dryRunMatches = matching([...p.dryDeny, ...p.dryAllow], a).map((m) => m.policy.name);
    }
    return out;
  }

  /** CUSTOM: a final outcome when the provider denies (or cannot be asked), undefined to go on with DENY/ALLOW. */
  private async custom(a: Attributes, facts: RequestFacts): Promise<{ final: Omit<Outcome, 'upstreamHeaders' | 'audit' | 'dryRunMatches'> & { downstreamHeaders: HeaderInput } } | { upstream: HeaderInput; downstream: HeaderInput }> {
    const allowedHeaders = { upstream: {} as HeaderInput, downstream: {} as HeaderInput };
    const matched = matching(this.view.policies.custom, a);
    if (matched.length === 0) return allowedHeaders;
    for (const { policy, certain } of matched) {
      const provider = this.options.providers.get(policy.provider as string);
      if (!provider) return { final: { decision: 'unknown', status: 403, reason: 'custom-provider-unknown', policy: policy.name, action: 'CUSTOM', detail: `provider "${policy.provider}" is not configured at the edge`, downstreamHeaders: {} } };
      const result: CheckResult = await provider.check({
        method: facts.method ?? 'GET',
        pathWithQuery: workloadPath(facts.path ?? '/', this.options.target) + (facts.rawQuery ? `?${facts.rawQuery}` : ''),
        host: a.host,
        headers: facts.headers ?? {},
      });
      decisionMetrics.provider(provider.name, result.kind);
      if (result.kind === 'allow') {
        Object.assign(allowedHeaders.upstream, result.upstreamHeaders);
        Object.assign(allowedHeaders.downstream, result.downstreamHeaders);
        continue;
      }
      if (result.kind === 'error' && result.failOpen) continue;
      const decision = certain ? 'deny' : 'unknown';
      if (result.kind === 'error') return { final: { decision, status: result.status, reason: 'custom-error', policy: policy.name, action: 'CUSTOM', detail: `provider "${provider.name}": ${result.reason}`, downstreamHeaders: {} } };
      return { final: { decision, status: result.status, reason: 'custom-deny', policy: policy.name, action: 'CUSTOM', detail: result.body.slice(0, 512) || `provider "${provider.name}" denied`, downstreamHeaders: result.downstreamHeaders } };
    }
    return allowedHeaders;
  }
}

function parseQuery(raw: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) (out[k] ??= []).push(v);
  return out;
}
