import { appliesTo, evaluate, type Decision, type Policy } from './authz';
import { describe, ofKind, type JwtRule, type Manifest, type PeerAuthenticationSpec, type RequestAuthenticationSpec, type ServiceSpec, type VirtualServiceSpec } from './model';
import { fqdn, semanticFindings, serviceHosts, workloads, type Finding } from './semantics';
import { KONG_NAMESPACE, KONG_PRINCIPAL, ROOT_NAMESPACE, type MeshService, type MeshTopology } from './topology';

/**
 * `istio check`: does the mesh (a folder of manifests) carry what kong.yml routes? Errors: a route Kong sends that the
 * sidecar would deny (no ALLOW for Kong's identity, or a DENY matching it), a Kong service with no Service or
 * workload, a JWT issuer accepted on one side only, TLS or Host settings that stop Envoy applying L7 policy, no
 * mesh-wide STRICT mTLS. Warnings: retry amplification and timeout inversions. Plus the semantic checks.
 */

/** Istio's defaults for an HTTP route without `retries`/`timeout`: 2 attempts, no timeout. */
export const ISTIO_DEFAULT_ATTEMPTS = 2;
/** Methods probed for a route that accepts every method. */
const PROBE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface CheckReport {
  errors: string[];
  warnings: string[];
}

export function check(topology: MeshTopology, manifests: Manifest[]): CheckReport {
  const findings: Finding[] = [...semanticFindings(manifests)];
  const error = (message: string) => findings.push({ level: 'error', message });
  const warn = (message: string) => findings.push({ level: 'warning', message });
  const policies = ofKind(manifests, 'AuthorizationPolicy').map((m) => m.object as Policy);
  const hosts = serviceHosts(manifests);
  const shipped = workloads(manifests);

  checkMeshMtls(manifests, error);
  for (const s of topology.services) {
    const subject = `service ${s.name}`;
    if (s.protocol !== 'http') error(`${subject}: Kong speaks ${s.protocol} to it; the sidecar then sees bytes it cannot read, so path/method ALLOW rules never match (use http: the sidecars add mTLS)`);
    const service = hosts.get(s.host);
    if (!service || service.object.kind !== 'Service') {
      error(`${subject}: no Service ${s.namespace}/${s.name} in the mesh (Kong targets ${s.host}:${s.port})`);
      continue;
    }
    const spec = service.object.spec as ServiceSpec | undefined;
    if (!(spec?.ports ?? []).some((p) => p.port === s.port)) error(`${subject}: Service ${s.namespace}/${s.name} has no port ${s.port} (Kong targets ${s.host}:${s.port})`);
    const workload = shipped.find((w) => w.namespace === s.namespace && Object.entries(spec?.selector ?? {}).every(([k, v]) => w.labels[k] === v));
    if (!workload) {
      error(`${subject}: no workload behind Service ${s.namespace}/${s.name}`);
      continue;
    }
    for (const route of s.routes) {
      if (route.preserveHost) error(`route ${route.name}: preserve_host sends the client's Host, so Envoy matches no VirtualService for ${s.host} (and STRICT mTLS is skipped on the passthrough); set preserve_host: false`);
      if (route.regexPaths.length > 0) warn(`route ${route.name}: regex paths ${route.regexPaths.join(', ')} are covered in the mesh by the service prefix only`);
      const denials = new Map<string, string>();
      for (const method of route.methods.length > 0 ? route.methods : PROBE_METHODS) {
        for (const path of route.samplePaths) {
          const decision = evaluate(policies, workload, { principal: KONG_PRINCIPAL, namespace: KONG_NAMESPACE, method, path, host: s.host, port: s.port }, ROOT_NAMESPACE);
          if (decision.allowed) continue;
          const why = denialReason(decision);
          denials.set(why, [denials.get(why), `${method} ${path}`].filter(Boolean).join(', '));
        }
      }
      for (const [why, probes] of denials) error(`route ${route.name}: Kong's ${probes} to ${s.namespace}/${s.name} ${why}`);
    }
    checkIssuers(s, manifests, workload, error);
    checkRetriesAndTimeouts(s, manifests, warn);
  }
  return { errors: findings.filter((f) => f.level === 'error').map((f) => f.message), warnings: findings.filter((f) => f.level === 'warning').map((f) => f.message) };
}

function denialReason(d: Decision): string {
  if (d.reason === 'deny') return `is denied by DENY policy ${d.policy}`;
  return `matches no ALLOW rule for ${KONG_PRINCIPAL} (ALLOW policies there: ${d.allowPolicies.join(', ')})`;
}

function checkMeshMtls(manifests: Manifest[], error: (m: string) => void): void {
  const peer = ofKind<PeerAuthenticationSpec>(manifests, 'PeerAuthentication');
  const mesh = peer.find((m) => m.object.metadata.namespace === ROOT_NAMESPACE && !m.object.spec?.selector);
  if (!mesh || mesh.object.spec?.mtls?.mode !== 'STRICT') error(`mesh: no STRICT PeerAuthentication without selector in ${ROOT_NAMESPACE} (mesh-wide mTLS)`);
}

function rulesFor(manifests: Manifest[], workload: { namespace: string; labels: Record<string, string> }): { rule: JwtRule; from: Manifest }[] {
  return ofKind<RequestAuthenticationSpec>(manifests, 'RequestAuthentication')
    .filter((m) => appliesTo(m.object, workload, ROOT_NAMESPACE))
    .flatMap((m) => (m.object.spec?.jwtRules ?? []).map((rule) => ({ rule, from: m })));
}

function checkIssuers(s: MeshService, manifests: Manifest[], workload: { namespace: string; labels: Record<string, string> }, error: (m: string) => void): void {
  const mesh = rulesFor(manifests, workload);
  for (const issuer of s.issuers) {
    const rule = mesh.find((r) => r.rule.issuer === issuer.issuer);
    if (!rule) error(`service ${s.name}: issuer ${issuer.issuer} is accepted by Kong (${issuer.acceptedBy}) but no RequestAuthentication for ${s.namespace}/${s.name} accepts it`);
    else if (issuer.jwksUri && rule.rule.jwksUri && rule.rule.jwksUri !== issuer.jwksUri) {
      error(`service ${s.name}: issuer ${issuer.issuer}: Kong's keys come from ${issuer.jwksUri}, ${describe(rule.from)}'s from ${rule.rule.jwksUri}`);
    }
  }
  for (const { rule, from } of mesh) {
    if (!rule.jwks && !rule.jwksUri && !/^https:\/\//.test(rule.issuer)) {
      error(`${describe(from)}: issuer ${rule.issuer} has neither jwks nor jwksUri and is no https URL to discover keys from: istiod rejects every token it signs`);
    }
    if (!s.issuers.some((i) => i.issuer === rule.issuer)) error(`service ${s.name}: issuer ${rule.issuer} is accepted by ${describe(from)} for ${s.namespace}/${s.name} but by no Kong plugin on its routes`);
  }
}

/** Istio duration ("1.5s", "250ms", "1m", "1h") in milliseconds. */
export function durationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function checkRetriesAndTimeouts(s: MeshService, manifests: Manifest[], warn: (m: string) => void): void {
  const vs = ofKind<VirtualServiceSpec>(manifests, 'VirtualService').find((m) => (m.object.spec?.gateways ?? ['mesh']).includes('mesh') && (m.object.spec?.hosts ?? []).some((h) => fqdn(h, m.object.metadata.namespace) === s.host));
  const route = vs?.object.spec?.http?.[0];
  const where = vs ? describe(vs) : `Istio's defaults (no VirtualService for ${s.host})`;
  const attempts = route?.retries?.attempts ?? ISTIO_DEFAULT_ATTEMPTS;
  if (s.retries > 0 && attempts > 0) {
    warn(`service ${s.name}: retry amplification: Kong retries ${s.retries} times and ${where} retries ${attempts} times: up to ${(s.retries + 1) * (attempts + 1)} upstream tries for one request (set Kong's retries to 0 or the mesh's attempts to 0)`);
  }
  const timeout = durationMs(route?.timeout);
  const read = s.readTimeoutMs;
  if (timeout === undefined) warn(`service ${s.name}: timeout inversion: Kong's read_timeout is ${read} ms and ${where} sets no timeout: the mesh keeps waiting (and retrying) after Kong gave up`);
  else if (timeout > read) warn(`service ${s.name}: timeout inversion: Kong's read_timeout ${read} ms is shorter than ${where}'s timeout ${route?.timeout}`);
  const perTry = durationMs(route?.retries?.perTryTimeout);
  if (perTry !== undefined && attempts > 0 && perTry * (attempts + 1) > read) {
    warn(`service ${s.name}: timeout inversion: ${attempts + 1} tries of ${route?.retries?.perTryTimeout} in ${where} outlast Kong's read_timeout ${read} ms`);
  }
}
