import type { AuthorizationAction, AuthorizationPolicySpec, Condition, K8sObject, Operation, Rule, Source } from './model';
import { anyOf, compileCidr, compilePath, compileString, pathTemplateProblem, type Matcher } from './match';

/**
 * AuthorizationPolicy evaluation compiled once per policy set, as an Istio sidecar decides it
 * (https://istio.io/latest/docs/concepts/security/#implicit-enablement and
 * https://istio.io/latest/docs/reference/config/security/authorization-policy/):
 * CUSTOM first, then any matching DENY denies, then no ALLOW policy allows, else only a matching ALLOW allows.
 * AUDIT never decides. Dry-run policies (`istio.io/dry-run: "true"`) are evaluated as a shadow: they neither enforce
 * nor switch deny-by-default on. A rule matches when one `from`, one `to` and every `when` match; an empty rule
 * matches; a policy without rules matches nothing (ALLOW `spec: {}` denies all).
 *
 * Three-valued: an attribute the edge cannot know (connection.sni without TLS config, experimental keys, headers
 * the proxies add later) makes a match UNKNOWN, and a decision that depends on it is `unknown`: the edge then lets
 * the mesh decide, so it never denies what the mesh allows nor claims to allow what it denies.
 */

export const F = 0;
export const T = 1;
export const U = 2;
export type Tri = 0 | 1 | 2;

/** An attribute the edge cannot know. */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Known<V> = V | undefined | typeof UNKNOWN;

/** What the workload's sidecar sees, precomputed once per request. Absent (`undefined`) = missing in the mesh too. */
export interface Attributes {
  /** `source.principal`: Kong's SPIFFE identity without `spiffe://` under mTLS; absent for plaintext. */
  principal: Known<string>;
  namespace: Known<string>;
  sourceIp: Known<string>;
  remoteIp: Known<string>;
  destinationIp: Known<string>;
  port: Known<number>;
  sni: Known<string>;
  /** Request identity from a validated JWT: `iss/sub`, absent without a token. */
  requestPrincipal?: string;
  audiences?: string[];
  presenter?: string;
  claims?: Record<string, unknown>;
  method?: string;
  /** Path without the query, normalized as the sidecar does (BASE). */
  path?: string;
  host?: string;
  /** Lower-case names; several values joined with "," as Envoy's header matcher sees them. */
  headers: Record<string, string>;
  /** Headers whose value at the workload the edge cannot know (added by proxies after it). */
  unknownHeader?: (name: string) => boolean;
}

type Getter = (a: Attributes) => string | string[] | undefined | typeof UNKNOWN;
type Test = (a: Attributes) => Tri;

export type Policy = K8sObject<AuthorizationPolicySpec>;

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

export interface CompiledPolicy {
  /** `namespace/name`. */
  name: string;
  namespace: string;
  action: AuthorizationAction;
  provider?: string;
  dryRun: boolean;
  selector?: Record<string, string>;
  /** targetRefs bind to gateways/waypoints, never to a sidecar workload. */
  targetRefs: boolean;
  match: Test;
  /** Keys or fields the edge cannot evaluate (the match is UNKNOWN where they count). */
  unknowable: string[];
  /** Attributes the match reads, so the handler fetches only those. */
  reads: Set<AttributeNeed>;
  /** The `when` keys used (to warn about those the edge's configuration cannot know). */
  keys: Set<string>;
}

export type AttributeNeed = 'method' | 'path' | 'host' | 'headers' | 'remoteIp' | 'jwt';

export function policyName(p: { metadata: { name: string; namespace?: string } }): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}

const ACTIONS: readonly string[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];

/** Headers the workload receives but the edge has not yet got at its access phase: Kong and the sidecars add them. */
const PROXY_HEADERS = /^(x-forwarded-|x-real-ip$|via$|forwarded$|x-kong-|x-request-id$|x-b3-|b3$|traceparent$|tracestate$|x-envoy-|x-ot-span-context$)/;

export const isProxyHeader = (name: string): boolean => PROXY_HEADERS.test(name);

/** Why Istio's validation would refuse this AuthorizationPolicy, or undefined. */
export function policyProblem(p: Policy): string | undefined {
  const spec = p.spec ?? {};
  const action = spec.action ?? 'ALLOW';
  if (!ACTIONS.includes(action)) return `action "${String(action)}" is not ALLOW, DENY, AUDIT or CUSTOM`;
  if (action === 'CUSTOM' && !spec.provider?.name) return 'a CUSTOM policy needs provider.name';
  if (action !== 'CUSTOM' && spec.provider) return 'provider is only allowed with action CUSTOM';
  if (spec.selector && spec.targetRefs && spec.targetRefs.length > 0) return 'selector and targetRefs are exclusive';
  if (spec.rules !== undefined && !Array.isArray(spec.rules)) return 'rules must be a list';
  for (const [i, rule] of (spec.rules ?? []).entries()) {
    const r: Rule = rule ?? {};
    const shape = shapeProblem(r, RULE_LISTS, `rules[${i}]`);
    if (shape) return shape;
    for (const [j, from] of (r.from ?? []).entries()) {
      const s = from?.source;
      if (!s || Object.keys(s).length === 0) return `rules[${i}].from[${j}].source must not be empty`;
      const sourceShape = shapeProblem(s, SOURCE_LISTS, `rules[${i}].from[${j}].source`);
      if (sourceShape) return sourceShape;
      for (const key of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) {
        for (const cidr of s[key] ?? []) if (!compileCidr(String(cidr))) return `rules[${i}].from[${j}].source.${key}: "${cidr}" is not an IP or CIDR`;
      }
    }
    for (const [j, to] of (r.to ?? []).entries()) {
      const o = to?.operation;
      if (!o || Object.keys(o).length === 0) return `rules[${i}].to[${j}].operation must not be empty`;
      const operationShape = shapeProblem(o, OPERATION_LISTS, `rules[${i}].to[${j}].operation`);
      if (operationShape) return operationShape;
      for (const key of ['ports', 'notPorts'] as const) {
        for (const port of o[key] ?? []) if (!isPort(String(port))) return `rules[${i}].to[${j}].operation.${key}: "${port}" is not a port`;
      }
      for (const key of ['paths', 'notPaths'] as const) {
        for (const path of o[key] ?? []) {
          const problem = pathTemplateProblem(String(path));
          if (problem) return `rules[${i}].to[${j}].operation.${key}: ${problem}`;
        }
      }
    }
    for (const [j, c] of (r.when ?? []).entries()) {
      if (!c || typeof c.key !== 'string') return `rules[${i}].when[${j}].key is required`;
      const conditionShape = shapeProblem(c, CONDITION_LISTS, `rules[${i}].when[${j}]`);
      if (conditionShape) return conditionShape;
      if (!(c.values?.length || c.notValues?.length)) return `rules[${i}].when[${j}]: values or notValues is required`;
      const kind = keyKind(c.key);
      if (kind === 'invalid') return `rules[${i}].when[${j}].key "${c.key}" is not a supported attribute`;
      for (const v of [...(c.values ?? []), ...(c.notValues ?? [])]) {
        if (kind === 'ip' && !compileCidr(String(v))) return `rules[${i}].when[${j}] (${c.key}): "${v}" is not an IP or CIDR`;
        if (kind === 'port' && !isPort(String(v))) return `rules[${i}].when[${j}] (${c.key}): "${v}" is not a port`;
      }
    }
  }
  return undefined;
}

const RULE_LISTS = ['from', 'to', 'when'] as const;
const SOURCE_LISTS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
const OPERATION_LISTS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const CONDITION_LISTS = ['values', 'notValues'] as const;

/** YAML gives any shape: a mapping whose list fields are lists (null counts as absent), as Istio's CRD schema requires. */
function shapeProblem(value: unknown, lists: readonly string[], where: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} must be a mapping`;
  for (const key of lists) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && field !== null && !Array.isArray(field)) return `${where}.${key} must be a list`;
  }
  return undefined;
}

function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) <= 65535;
}

type KeyKind = 'string' | 'ip' | 'port' | 'unknowable' | 'invalid';

/** The `when` keys of https://istio.io/latest/docs/reference/config/security/conditions/. */
function keyKind(key: string): KeyKind {
  if (/^request\.headers\[[^\]]+\]$/.test(key)) return 'string';
  if (/^request\.auth\.claims(\[[^\]]+\])+$/.test(key)) return 'string';
  if (key.startsWith('experimental.envoy.filters.')) return 'unknowable';
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      return 'ip';
    case 'destination.port':
      return 'port';
    case 'source.namespace':
    case 'source.principal':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
    case 'connection.sni':
      return 'string';
    default:
      return 'invalid';
  }
}

function getterFor(key: string, reads: Set<AttributeNeed>): Getter {
  const header = /^request\.headers\[([^\]]+)\]$/.exec(key);
  if (header) {
    const name = header[1].toLowerCase();
    reads.add('headers');
    if (name === 'host' || name === ':authority') {
      reads.add('host');
      return (a) => a.host;
    }
    if (name === ':method') {
      reads.add('method');
      return (a) => a.method;
    }
    if (name === ':path') return () => UNKNOWN; // the sidecar sees the raw path with the query
    return (a) => (a.unknownHeader?.(name) ? UNKNOWN : a.headers[name]);
  }
  const claims = /^request\.auth\.claims((\[[^\]]+\])+)$/.exec(key);
  if (claims) {
    reads.add('jwt');
    const path = claims[1].slice(1, -1).split('][');
    return (a) => claimValue(a.claims, path);
  }
  switch (key) {
    case 'source.ip':
      return (a) => a.sourceIp;
    case 'remote.ip':
      reads.add('remoteIp');
      return (a) => a.remoteIp;
    case 'destination.ip':
      return (a) => a.destinationIp;
    case 'destination.port':
      return (a) => (a.port === UNKNOWN ? UNKNOWN : a.port === undefined ? undefined : String(a.port));
    case 'source.namespace':
      return (a) => a.namespace;
    case 'source.principal':
      return (a) => a.principal;
    case 'connection.sni':
      return (a) => a.sni;
    case 'request.auth.principal':
      reads.add('jwt');
      return (a) => a.requestPrincipal;
    case 'request.auth.audiences':
      reads.add('jwt');
      return (a) => a.audiences;
    case 'request.auth.presenter':
      reads.add('jwt');
      return (a) => a.presenter;
    default:
      return () => UNKNOWN;
  }
}

/** A claim: a string, or a list whose string elements each count (other types match nothing, as in Istio). */
function claimValue(claims: Record<string, unknown> | undefined, path: string[]): string | string[] | undefined | typeof UNKNOWN {
  let v: unknown = claims;
  for (const part of path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const strings = v.filter((e): e is string => typeof e === 'string');
    return strings.length > 0 ? strings : undefined;
  }
  // Istio documents string and list-of-string claims only: how a number or boolean compares is not ours to guess
  if (typeof v === 'number' || typeof v === 'boolean') return UNKNOWN;
  return undefined;
}

/** `values` never match a missing attribute, `notValues` are satisfied by it; an unknowable one makes the field UNKNOWN. */
function fieldTest(values: unknown[] | undefined, notValues: unknown[] | undefined, get: Getter, compile: (pattern: string) => Matcher | undefined): Test | undefined {
  const yes = (values ?? []).map((v) => compile(String(v)) ?? (() => false));
  const no = (notValues ?? []).map((v) => compile(String(v)) ?? (() => false));
  if (yes.length === 0 && no.length === 0) return undefined;
  const yesAny = yes.length ? anyOf(yes) : undefined;
  const noAny = no.length ? anyOf(no) : undefined;
  const hit = (m: Matcher, v: string | string[]) => (typeof v === 'string' ? m(v) : v.some(m));
  return (a) => {
    const v = get(a);
    if (v === UNKNOWN) return U;
    if (yesAny && (v === undefined || !hit(yesAny, v))) return F;
    if (noAny && v !== undefined && hit(noAny, v)) return F;
    return T;
  };
}

function and(tests: Test[]): Test {
  if (tests.length === 0) return () => T;
  if (tests.length === 1) return tests[0];
  return (a) => {
    let result: Tri = T;
    for (const t of tests) {
      const r = t(a);
      if (r === F) return F;
      if (r === U) result = U;
    }
    return result;
  };
}

function or(tests: Test[]): Test {
  if (tests.length === 0) return () => F;
  if (tests.length === 1) return tests[0];
  return (a) => {
    let result: Tri = F;
    for (const t of tests) {
      const r = t(a);
      if (r === T) return T;
      if (r === U) result = U;
    }
    return result;
  };
}

const str = (p: string) => compileString(p);
const host = (p: string) => compileString(p, true);
const exact = (p: string) => (v: string) => v === p;

function compileSource(s: Source, reads: Set<AttributeNeed>): Test {
  const remote: Getter = (a) => a.remoteIp;
  if (s.remoteIpBlocks || s.notRemoteIpBlocks) reads.add('remoteIp');
  if (s.requestPrincipals || s.notRequestPrincipals) reads.add('jwt');
  const tests = [
    fieldTest(s.principals, s.notPrincipals, (a) => a.principal, str),
    fieldTest(s.requestPrincipals, s.notRequestPrincipals, (a) => a.requestPrincipal, str),
    fieldTest(s.namespaces, s.notNamespaces, (a) => a.namespace, str),
    fieldTest(s.ipBlocks, s.notIpBlocks, (a) => a.sourceIp, compileCidr),
    fieldTest(s.remoteIpBlocks, s.notRemoteIpBlocks, remote, compileCidr),
  ].filter((t): t is Test => t !== undefined);
  return and(tests);
}

function compileOperation(o: Operation, reads: Set<AttributeNeed>): Test {
  if (o.hosts || o.notHosts) reads.add('host');
  if (o.methods || o.notMethods) reads.add('method');
  if (o.paths || o.notPaths) reads.add('path');
  const tests = [
    fieldTest(o.hosts, o.notHosts, (a) => a.host, host),
    fieldTest(o.ports, o.notPorts, (a) => (a.port === UNKNOWN ? UNKNOWN : a.port === undefined ? undefined : String(a.port)), exact),
    fieldTest(o.methods, o.notMethods, (a) => a.method, str),
    fieldTest(o.paths, o.notPaths, (a) => a.path, compilePath),
  ].filter((t): t is Test => t !== undefined);
  return and(tests);
}

function compileCondition(c: Condition, reads: Set<AttributeNeed>, unknowable: string[]): Test {
  const kind = keyKind(c.key);
  if (kind === 'unknowable' || kind === 'invalid') {
    unknowable.push(c.key);
    return () => U;
  }
  const compile = kind === 'ip' ? compileCidr : kind === 'port' ? exact : str;
  return fieldTest(c.values, c.notValues, getterFor(c.key, reads), compile) ?? (() => T);
}

function compileRule(rule: Rule, reads: Set<AttributeNeed>, unknowable: string[]): Test {
  const parts: Test[] = [];
  const from = rule.from ?? [];
  const to = rule.to ?? [];
  if (from.length > 0) parts.push(or(from.map((f) => compileSource(f?.source ?? {}, reads))));
  if (to.length > 0) parts.push(or(to.map((t) => compileOperation(t?.operation ?? {}, reads))));
  for (const c of rule.when ?? []) parts.push(compileCondition(c, reads, unknowable));
  return and(parts);
}

/** Compiles one policy (its validity checked by policyProblem first). */
export function compilePolicy(p: Policy): CompiledPolicy {
  const spec = p.spec ?? {};
  const reads = new Set<AttributeNeed>();
  const unknowable: string[] = [];
  const rules = (spec.rules ?? []).map((r) => compileRule(r ?? {}, reads, unknowable));
  const keys = new Set<string>();
  for (const r of spec.rules ?? []) for (const c of r?.when ?? []) if (c && typeof c.key === 'string') keys.add(c.key);
  return {
    name: policyName(p),
    namespace: p.metadata.namespace ?? 'default',
    action: (spec.action ?? 'ALLOW') as AuthorizationAction,
    provider: spec.provider?.name,
    dryRun: p.metadata.annotations?.[DRY_RUN_ANNOTATION] === 'true',
    selector: spec.selector?.matchLabels,
    targetRefs: (spec.targetRefs?.length ?? 0) > 0,
    match: or(rules),
    unknowable,
    reads,
    keys,
  };
}

export interface Workload {
  namespace: string;
  labels: Record<string, string>;
}

/** Whether a policy applies to a sidecar workload: its namespace or the root namespace (mesh-wide), and its selector. */
export function selects(scope: { namespace: string; selector?: Record<string, string>; targetRefs?: boolean }, workload: Workload, rootNamespace: string): boolean {
  if (scope.namespace !== rootNamespace && scope.namespace !== workload.namespace) return false;
  if (scope.targetRefs) return false;
  if (!scope.selector) return true;
  for (const [k, v] of Object.entries(scope.selector)) if (workload.labels[k] !== v) return false;
  return true;
}

/** The policies of one workload, grouped by action, enforced and dry-run apart. */
export class WorkloadPolicies {
  readonly custom: CompiledPolicy[] = [];
  readonly deny: CompiledPolicy[] = [];
  readonly allow: CompiledPolicy[] = [];
  readonly audit: CompiledPolicy[] = [];
  /** Dry-run DENY/ALLOW policies: evaluated for the shadow decision only. */
  readonly dryDeny: CompiledPolicy[] = [];
  readonly dryAllow: CompiledPolicy[] = [];
  readonly reads = new Set<AttributeNeed>();

  constructor(policies: CompiledPolicy[]) {
    for (const p of policies) {
      for (const r of p.reads) this.reads.add(r);
      if (p.action === 'CUSTOM') this.custom.push(p); // Istio does not support dry-run for CUSTOM: enforced
      else if (p.action === 'AUDIT') this.audit.push(p);
      else if (p.dryRun) (p.action === 'DENY' ? this.dryDeny : this.dryAllow).push(p);
      else (p.action === 'DENY' ? this.deny : this.allow).push(p);
    }
  }

  get size(): number {
    return this.custom.length + this.deny.length + this.allow.length + this.audit.length + this.dryDeny.length + this.dryAllow.length;
  }
}

export type DecisionValue = 'allow' | 'deny' | 'unknown';

export interface Verdict {
  decision: DecisionValue;
  /** deny-policy: a DENY matched; allow-policy: an ALLOW matched; no-allow-policies; no-allow-match; unknown: an unknowable attribute decides. */
  reason: 'deny-policy' | 'allow-policy' | 'no-allow-policies' | 'no-allow-match' | 'unknown';
  /** The deciding policy (DENY or ALLOW that matched), or the one whose match is unknown. */
  policy?: string;
  action?: 'DENY' | 'ALLOW';
}

/** DENY then ALLOW over the given lists (CUSTOM is the caller's: it needs the provider's answer first). */
export function decide(deny: CompiledPolicy[], allow: CompiledPolicy[], a: Attributes): Verdict {
  let unknownDeny: CompiledPolicy | undefined;
  for (const p of deny) {
    const m = p.match(a);
    if (m === T) return { decision: 'deny', reason: 'deny-policy', policy: p.name, action: 'DENY' };
    if (m === U) unknownDeny ??= p;
  }
  if (allow.length === 0) {
    return unknownDeny ? { decision: 'unknown', reason: 'unknown', policy: unknownDeny.name, action: 'DENY' } : { decision: 'allow', reason: 'no-allow-policies' };
  }
  let unknownAllow: CompiledPolicy | undefined;
  for (const p of allow) {
    const m = p.match(a);
    if (m === T) {
      if (unknownDeny) return { decision: 'unknown', reason: 'unknown', policy: unknownDeny.name, action: 'DENY' };
      return { decision: 'allow', reason: 'allow-policy', policy: p.name, action: 'ALLOW' };
    }
    if (m === U) unknownAllow ??= p;
  }
  // no ALLOW matches for sure: denied whether or not an unknown DENY would have matched
  if (unknownAllow) return { decision: 'unknown', reason: 'unknown', policy: unknownAllow.name, action: 'ALLOW' };
  return { decision: 'deny', reason: 'no-allow-match', policy: allow[0].name, action: 'ALLOW' };
}

/** Policies whose match is certain (T) or possible (U): CUSTOM and AUDIT are matched, not decided. */
export function matching(policies: CompiledPolicy[], a: Attributes): { policy: CompiledPolicy; certain: boolean }[] {
  const out: { policy: CompiledPolicy; certain: boolean }[] = [];
  for (const p of policies) {
    const m = p.match(a);
    if (m !== F) out.push({ policy: p, certain: m === T });
  }
  return out;
}
