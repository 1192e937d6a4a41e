import { compilePolicy, decide, matching, selects, UNKNOWN, WorkloadPolicies, type Attributes, type Policy, type Workload } from './engine';

/**
 * One-shot AuthorizationPolicy evaluation for tools (the `kong-plugins istio check` drift check probes Kong's routes
 * with it): compiles the policies and evaluates one request with the same engine the istio-policy-sync plugin runs
 * (shared/istio/engine.ts). Every attribute is known here: an absent one is missing, as in the mesh.
 * CUSTOM policies are reported as delegated (their provider decides; assumed to allow).
 */

export { DRY_RUN_ANNOTATION, policyName, type Policy, type Workload } from './engine';
export { inCidr, pathMatch, stringMatch } from './match';

export interface RequestAttributes {
  /** mTLS peer identity, `<trust domain>/ns/<ns>/sa/<sa>`; absent for plaintext. */
  principal?: string;
  /** Source namespace (from the peer identity). */
  namespace?: string;
  /** `iss/sub` of a validated JWT; absent without a token. */
  requestPrincipal?: string;
  claims?: Record<string, unknown>;
  audiences?: string[];
  sourceIp?: string;
  remoteIp?: string;
  method?: string;
  path?: string;
  host?: string;
  port?: number;
  headers?: Record<string, string>;
}

export interface Decision {
  allowed: boolean;
  /** `deny` a DENY policy matched; `allow` an ALLOW matched; `no-allow-policies`; `no-allow-match`. */
  reason: 'deny' | 'allow' | 'no-allow-policies' | 'no-allow-match';
  /** The deciding policy (`namespace/name`), for deny and allow. */
  policy?: string;
  /** Every ALLOW policy that applied (for no-allow-match reports). */
  allowPolicies: string[];
  audited: string[];
  /** CUSTOM policies that matched: their provider decides; evaluation assumed they allow. */
  delegated: string[];
  /** What enforcing the dry-run policies would change: their matching names. */
  dryRunMatches: string[];
}

/** Whether a policy applies to a sidecar workload (root-namespace policies mesh-wide; targetRefs policies bind to gateways/waypoints, not sidecars). */
export function appliesTo(policy: { metadata: { namespace?: string }; spec?: { selector?: { matchLabels?: Record<string, string> }; targetRefs?: unknown[] } }, workload: Workload, rootNamespace = 'istio-system'): boolean {
  return selects({ namespace: policy.metadata.namespace ?? 'default', selector: policy.spec?.selector?.matchLabels, targetRefs: (policy.spec?.targetRefs?.length ?? 0) > 0 }, workload, rootNamespace);
}

export function toAttributes(r: RequestAttributes): Attributes {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    principal: r.principal,
    namespace: r.namespace,
    sourceIp: r.sourceIp,
    remoteIp: r.remoteIp ?? r.sourceIp,
    destinationIp: UNKNOWN,
    port: r.port,
    sni: UNKNOWN,
    requestPrincipal: r.requestPrincipal,
    audiences: r.audiences,
    claims: r.claims,
    method: r.method,
    path: r.path,
    host: r.host,
    headers,
  };
}

export function evaluate(policies: Policy[], workload: Workload, request: RequestAttributes, rootNamespace = 'istio-system'): Decision {
  const applicable = policies.filter((p) => appliesTo(p, workload, rootNamespace)).map(compilePolicy);
  const set = new WorkloadPolicies(applicable);
  const a = toAttributes(request);
  const names = (list: { policy: { name: string } }[]) => list.map((m) => m.policy.name);
  const base = {
    audited: names(matching(set.audit, a)),
    delegated: names(matching(set.custom, a)),
    dryRunMatches: names(matching([...set.dryDeny, ...set.dryAllow], a)),
    allowPolicies: set.allow.map((p) => p.name),
  };
  const verdict = decide(set.deny, set.allow, a);
  const allowed = verdict.decision !== 'deny';
  const reason = verdict.reason === 'deny-policy' ? 'deny' : verdict.reason === 'allow-policy' ? 'allow' : verdict.reason === 'unknown' ? (allowed ? 'allow' : 'no-allow-match') : verdict.reason;
  return { ...base, allowed, reason, ...(verdict.reason === 'deny-policy' || verdict.reason === 'allow-policy' ? { policy: verdict.policy } : {}) };
}

export function policyMatches(policy: Policy, request: RequestAttributes): boolean {
  return compilePolicy(policy).match(toAttributes(request)) === 1;
}
