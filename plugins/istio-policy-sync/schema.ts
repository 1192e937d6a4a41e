import { field, type InferFields } from '../../shared/schema';
import { ManifestError, parseManifests } from './manifests';

export const SOURCE_KINDS = ['inline', 'directory', 'kubernetes'] as const;
export const MODES = ['enforce', 'dry_run'] as const;

const headerName = (fallback: string, description: string) => field.string({ default: fallback, len_min: 1, len_max: 256, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", lua_match: "^[A-Za-z0-9!#$%%&'*+.^_`|~-]+$", description });

const extAuthzHttp = field.record({
  service: field.string({ required: true, len_min: 1, len_max: 253, description: 'Host name or address of the authorization service (MeshConfig envoyExtAuthzHttp.service).' }),
  port: field.integer({ required: true, between: [1, 65535], description: 'Port of the authorization service (envoyExtAuthzHttp.port).' }),
  path_prefix: field.string({ len_min: 1, pattern: '^/', lua_match: '^/', description: 'Prefix of the check request path; the original path is appended (envoyExtAuthzHttp.pathPrefix).' }),
  timeout_ms: field.integer({ default: 5000, between: [1, 600000], description: 'Check request timeout in ms (Istio defaults to 600 s; a failure answers status_on_error unless fail_open).' }),
  fail_open: field.boolean({ default: false, description: 'When the provider fails or times out, let the request continue (envoyExtAuthzHttp.failOpen).' }),
  status_on_error: field.integer({ default: 403, between: [200, 599], description: 'Status answered when the provider fails and fail_open is false (envoyExtAuthzHttp.statusOnError).' }),
  include_request_headers_in_check: field.array(field.string({ len_min: 1 }), {
    description: 'Client request headers sent to the provider (exact names or prefix* or *suffix); unset: Authorization only, as Envoy.',
  }),
  include_additional_headers_in_check: field.map(field.string({ len_min: 1 }), field.string({ len_min: 1 }), { description: 'Fixed headers added to every check request (envoyExtAuthzHttp.includeAdditionalHeadersInCheck).' }),
  headers_to_upstream_on_allow: field.array(field.string({ len_min: 1 }), { description: 'Provider response headers copied to the upstream request on allow (envoyExtAuthzHttp.headersToUpstreamOnAllow).' }),
  headers_to_downstream_on_deny: field.array(field.string({ len_min: 1 }), { description: 'Provider response headers sent to the client on deny (envoyExtAuthzHttp.headersToDownstreamOnDeny).' }),
  headers_to_downstream_on_allow: field.array(field.string({ len_min: 1 }), { description: 'Provider response headers sent to the client on allow (envoyExtAuthzHttp.headersToDownstreamOnAllow).' }),
});

export const fields = {
  source: field.record({
    kind: field.string({ one_of: SOURCE_KINDS, default: 'inline', description: 'Where the Istio manifests come from: inline YAML, a directory (hot reloaded) or a Kubernetes API watch.' }),
    manifests: field.string({ len_min: 1, description: 'Inline multi-document YAML of AuthorizationPolicy, RequestAuthentication and PeerAuthentication objects (kind inline).' }),
    directory: field.string({ len_min: 1, description: 'Directory of *.yaml/*.yml manifests, recursively (kind directory); relative to the suite install root; other kinds ignored.' }),
    reload_interval_ms: field.integer({ default: 1000, between: [50, 3600000], description: 'How often the directory is checked for changes; a bad file keeps the last good set and is reported.' }),
    api_server: field.string({ format: 'uri', description: 'Kubernetes API server URL (kind kubernetes), e.g. https://kubernetes.default.svc.' }),
    token: field.string({ len_min: 1, referenceable: true, encrypted: true, description: 'Bearer token for the API server; unset: the service account token file when present.' }),
    token_file: field.string({ default: '/var/run/secrets/kubernetes.io/serviceaccount/token', len_min: 1, description: 'Service account token file read when token is unset.' }),
    ca_file: field.string({ len_min: 1, description: 'CA bundle for the API server (https); unset: the service account CA when present, else system CAs.' }),
    namespaces: field.set(field.string({ len_min: 1, len_max: 63 }), { description: 'Namespaces watched (kind kubernetes); unset: all namespaces (needs cluster-wide list/watch).' }),
  }),
  root_namespace: field.string({ default: 'istio-system', len_min: 1, len_max: 63, description: "The mesh's root namespace (MeshConfig rootNamespace): its policies apply mesh-wide." }),
  workload: field.record({
    namespace: field.string({ required: true, len_min: 1, len_max: 63, description: 'Namespace of the mesh workload this route or service reaches.' }),
    labels: field.map(field.string({ len_min: 1 }), field.string({ len_min: 1 }), { default: {}, description: 'Labels of the workload pods (policy selectors are matched against them).' }),
    port: field.integer({ between: [1, 65535], description: 'Port the workload sidecar receives on (destination.port, operation ports); unset: unknown to the edge.' }),
    host: field.string({ len_min: 1, description: 'Host header the workload receives (Kong sends the service host unless preserve_host); unset: the client Host.' }),
    ip: field.string({ len_min: 2, description: 'Pod address of the workload (destination.ip); unset: unknown to the edge.' }),
    strip_prefix: field.string({ len_min: 1, pattern: '^/', lua_match: '^/', description: 'Route path prefix Kong strips (strip_path) before the request reaches the workload.' }),
    service_path: field.string({ len_min: 1, pattern: '^/', lua_match: '^/', description: 'Path of the Kong service, prepended to the (stripped) request path upstream.' }),
  }),
  kong_identity: field.record({
    principal: field.string({ len_min: 1, description: "Kong's mesh identity (source.principal), e.g. cluster.local/ns/kong/sa/kong; unset: Kong talks plaintext (no principal)." }),
    pod_ip: field.string({ len_min: 2, description: "Kong's pod address (source.ip, ipBlocks); unset: unknown to the edge." }),
    sni: field.string({ len_min: 1, description: 'SNI of the mTLS connection to the workload (connection.sni); unset: unknown under mTLS, absent in plaintext.' }),
  }),
  extension_providers: field.array(field.record({ name: field.string({ required: true, len_min: 1, description: 'Provider name CUSTOM policies refer to (provider.name).' }), envoy_ext_authz_http: extAuthzHttp }), {
    default: [],
    description: 'Like MeshConfig extensionProviders: the HTTP ext_authz services CUSTOM policies call.',
  }),
  mode: field.string({ one_of: MODES, default: 'enforce', description: 'enforce: answer what the mesh would deny at the edge; dry_run: only log the decision and send it upstream in a header.' }),
  decision_header: headerName('X-Mesh-Authz-Decision', 'Upstream request header carrying the decision in dry_run mode (e.g. "deny; policy=ns/name").'),
  audit_log: field.boolean({ default: true, description: 'Log one JSON line per decision (decision, deciding policy, audit and dry-run matches).' }),
  jwks_cache_seconds: field.integer({ default: 1200, between: [1, 86400], description: 'How long keys fetched from a jwksUri are cached (istiod refreshes every 20 minutes).' }),
  jwks_timeout_ms: field.integer({ default: 5000, between: [10, 60000], description: 'Timeout of one jwksUri fetch; an unreachable JWKS makes tokens of that issuer invalid (401), as in Istio.' }),
};

export type IstioPolicySyncConfig = InferFields<typeof fields> & { failure_policy: 'fail_open' | 'fail_closed' };
export type ExtAuthzHttpConfig = IstioPolicySyncConfig['extension_providers'][number]['envoy_ext_authz_http'];

type Check = (config: IstioPolicySyncConfig) => [string, string] | undefined;

const sourceFields: Check = (config) => {
  const s = config.source;
  if (s.kind === 'inline' && !s.manifests) return ['source.manifests', 'is required for source kind inline'];
  if (s.kind === 'directory' && !s.directory) return ['source.directory', 'is required for source kind directory'];
  if (s.kind === 'kubernetes' && !s.api_server) return ['source.api_server', 'is required for source kind kubernetes'];
  return undefined;
};

const inlineParses: Check = (config) => {
  if (config.source.kind !== 'inline' || !config.source.manifests) return undefined;
  try {
    parseManifests(config.source.manifests, 'inline');
  } catch (err) {
    if (err instanceof ManifestError) return ['source.manifests', err.message];
    throw err;
  }
  return undefined;
};

const providersUnique: Check = (config) => {
  const seen = new Set<string>();
  for (const [i, p] of config.extension_providers.entries()) {
    if (seen.has(p.name)) return [`extension_providers[${i}].name`, `"${p.name}" is already defined`];
    seen.add(p.name);
  }
  return undefined;
};

const identityParses: Check = (config) => {
  const principal = config.kong_identity?.principal;
  if (principal && !/^[^/]+\/ns\/[^/]+\/sa\/[^/]+$/.test(principal)) return ['kong_identity.principal', 'must be <trust domain>/ns/<namespace>/sa/<service account>'];
  return undefined;
};

export const checks: Check[] = [sourceFields, inlineParses, providersUnique, identityParses];
