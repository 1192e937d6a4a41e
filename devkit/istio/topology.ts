import crypto from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import { parseDeclarative, type KongConfig, type PluginEntity } from '../emulator/declarative';
import type { RouteEntity, ServiceEntity } from '../emulator/request-context';

/**
 * What kong.yml means for the mesh: which Kubernetes Service each Kong service reaches, the upstream paths and
 * methods Kong sends there, the JWT issuers Kong accepts, Kong's retries and timeouts. Pure: the generator and the
 * drift check both start here, so they cannot disagree about what kong.yml says.
 */

/** Kong's own identity in the mesh (istio/kong/ deploys it so). */
export const KONG_NAMESPACE = 'kong';
export const KONG_SERVICE_ACCOUNT = 'kong';
export const TRUST_DOMAIN = 'cluster.local';
export const ROOT_NAMESPACE = 'istio-system';
/** Where a Kong service goes when nothing in kong.yml names a namespace for it. */
export const DEFAULT_NAMESPACE = 'apis';
export const KONG_PRINCIPAL = `${TRUST_DOMAIN}/ns/${KONG_NAMESPACE}/sa/${KONG_SERVICE_ACCOUNT}`;

/** Kong's service defaults (Kong 3.9 schema): retries 5, every timeout 60000 ms. */
export const KONG_DEFAULT_RETRIES = 5;
export const KONG_DEFAULT_TIMEOUT_MS = 60_000;

export interface JwtIssuer {
  issuer: string;
  jwksUri?: string;
  /** Inline JWKS (JSON) for keys kong.yml holds itself (Kong's jwt plugin credentials). */
  jwks?: string;
  audiences?: string[];
  /** Where Kong accepts it: `plugin <name> on route|service|global <x>` (for reports). */
  acceptedBy: string;
}

export interface MeshRoute {
  name: string;
  /** Methods Kong routes (empty: every method). */
  methods: string[];
  /** Istio path patterns (exact, `prefix*`) covering every upstream path Kong sends for this route. */
  upstreamPaths: string[];
  /** A few concrete upstream paths inside those patterns, for probing policies. */
  samplePaths: string[];
  preserveHost: boolean;
  /** Kong route paths that are regexes: the mesh side can only cover them with the service prefix. */
  regexPaths: string[];
}

export interface MeshService {
  /** Kong service name, also the Kubernetes Service and workload `app` label. */
  name: string;
  namespace: string;
  /** The Service's cluster DNS name, the host Kong targets in the mesh and VirtualServices/DestinationRules use. */
  host: string;
  port: number;
  /** Kong's protocol to this service (http expected: the sidecars add mTLS). */
  protocol: string;
  /** Path of the service URL, prefix of every upstream path. */
  path?: string;
  /** Where kong.yml points the service (the dev host, rewritten to `host` in the in-cluster Kong config). */
  kongUrlHost: string;
  retries: number;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  routes: MeshRoute[];
  issuers: JwtIssuer[];
  tenant?: string;
}

export interface MeshTopology {
  services: MeshService[];
  /** Tenants named in kong.yml (tenant-quota plans, `tenant:<name>` tags), each with its namespace. */
  tenants: { name: string; namespace: string }[];
  /** Every namespace the mesh side needs for kong.yml's services and tenants, sorted. */
  namespaces: string[];
  /** The raw declarative document (the in-cluster Kong config is this with service hosts rewritten). */
  document: Record<string, any>;
}

export class TopologyError extends Error {}

type Raw = Record<string, any>;

export function readTopology(file: string): MeshTopology {
  let doc: Raw;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8')) as Raw;
  } catch (err) {
    throw new TopologyError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message.split('\n')[0]}`);
  }
  try {
    return topologyOf(doc);
  } catch (err) {
    if (err instanceof TopologyError) throw new TopologyError(`${file}: ${err.message}`);
    throw new TopologyError(`${file}: not a declarative config: ${(err as Error).message}`);
  }
}

export function tenantNamespace(tenant: string): string {
  return dnsLabel(`tenant-${tenant}`);
}

/** A DNS-1123 label (Kubernetes object and namespace names). */
export function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  if (!label) throw new TopologyError(`"${name}" gives no usable Kubernetes name`);
  return label;
}

export function topologyOf(doc: Raw): MeshTopology {
  const config = parseDeclarative(doc);
  const rawServices = new Map<string, Raw>();
  for (const raw of (doc.services ?? []) as Raw[]) if (raw?.name) rawServices.set(String(raw.name), raw);
  const rawConsumers = (doc.consumers ?? []) as Raw[];

  const tenants = new Map<string, string>();
  for (const plugin of config.plugins) {
    if (plugin.name !== 'tenant-quota' || !plugin.enabled) continue;
    const plans = (plugin.config.tenant_plans ?? {}) as Record<string, unknown>;
    for (const tenant of Object.keys(plans)) tenants.set(tenant, tenantNamespace(tenant));
  }

  const services: MeshService[] = [];
  for (const service of config.services) {
    const raw = rawServices.get(service.name ?? '') ?? {};
    const tags = (service.tags ?? []) as string[];
    const tenant = tagValue(tags, 'tenant');
    if (tenant) tenants.set(tenant, tenantNamespace(tenant));
    const name = dnsLabel(service.name ?? service.id);
    const namespace = meshNamespace(service, tags, tenant);
    const routes = config.routes.filter((r) => r.service?.id === service.id);
    services.push({
      name,
      namespace,
      host: `${name}.${namespace}.svc.${TRUST_DOMAIN}`,
      port: service.port,
      protocol: service.protocol,
      path: service.path,
      kongUrlHost: service.host,
      retries: numberOr(raw.retries, KONG_DEFAULT_RETRIES),
      connectTimeoutMs: numberOr(raw.connect_timeout, KONG_DEFAULT_TIMEOUT_MS),
      readTimeoutMs: numberOr(raw.read_timeout, KONG_DEFAULT_TIMEOUT_MS),
      writeTimeoutMs: numberOr(raw.write_timeout, KONG_DEFAULT_TIMEOUT_MS),
      routes: routes.map((route) => meshRoute(route, service, pluginsFor(config, route, service))),
      issuers: issuersFor(config, service, routes, rawConsumers),
      tenant,
    });
  }
  const seen = new Map<string, string>();
  for (const s of services) {
    const key = `${s.namespace}/${s.name}`;
    if (seen.has(key)) throw new TopologyError(`services "${seen.get(key)}" and "${s.name}" both map to Kubernetes Service ${key}`);
    seen.set(key, s.name);
  }
  const namespaces = [...new Set([...services.map((s) => s.namespace), ...tenants.values()])].sort();
  return {
    services,
    tenants: [...tenants].map(([name, namespace]) => ({ name, namespace })).sort((a, b) => a.name.localeCompare(b.name)),
    namespaces,
    document: doc,
  };
}

function tagValue(tags: string[], key: string): string | undefined {
  const tag = tags.find((t) => t.startsWith(`${key}:`));
  return tag ? tag.slice(key.length + 1) : undefined;
}

/** `mesh-namespace:<ns>` tag, then `tenant:<name>` tag, then a cluster DNS host (`svc.ns.svc[.cluster.local]`), then `apis`. */
function meshNamespace(service: ServiceEntity, tags: string[], tenant: string | undefined): string {
  const explicit = tagValue(tags, 'mesh-namespace');
  if (explicit) return dnsLabel(explicit);
  if (tenant) return tenantNamespace(tenant);
  const dns = /^[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(service.host);
  return dns ? dns[1] : DEFAULT_NAMESPACE;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Enabled plugins that run for this route: route-, service- and global-scoped (consumer-scoped ones included). */
function pluginsFor(config: KongConfig, route: RouteEntity | undefined, service: ServiceEntity): PluginEntity[] {
  return config.plugins.filter((p) => p.enabled && (p.route ? p.route.id === route?.id : true) && (p.service ? p.service.id === service.id : true));
}

/**
 * The upstream paths Kong sends for a route, as Istio path patterns. Kong matches route paths as plain prefixes
 * (`/pii` also matches `/piix`), which is Istio's `prefix*`. strip_path removes the matched prefix and Kong puts the
 * service path (or `/`) in front; path-rewriting plugins (version-deprecation's upstream_path_prefix) add theirs.
 */
function meshRoute(route: RouteEntity, service: ServiceEntity, plugins: PluginEntity[]): MeshRoute {
  const base = (service.path ?? '').replace(/\/+$/, '');
  const patterns = new Set<string>();
  const samples = new Set<string>();
  const regexPaths: string[] = [];
  const paths = route.paths && route.paths.length > 0 ? route.paths : ['/'];
  for (const path of paths) {
    if (path.startsWith('~')) {
      regexPaths.push(path);
      patterns.add(`${base || ''}/*`);
      samples.add(`${base}/`);
      continue;
    }
    if (route.strip_path !== false) {
      patterns.add(`${base}/*`);
      samples.add(`${base}/`);
      samples.add(`${base}/sample`);
    } else {
      const prefix = `${base}${path}`;
      patterns.add(`${prefix}*`);
      samples.add(prefix);
      samples.add(`${prefix.replace(/\/$/, '')}/sample`);
    }
  }
  for (const plugin of plugins) {
    if (plugin.name !== 'version-deprecation') continue;
    const versions = (plugin.config.versions ?? []) as Raw[];
    for (const version of versions) {
      const prefix = version.upstream_path_prefix;
      if (typeof prefix !== 'string') continue;
      const trimmed = prefix.replace(/\/+$/, '');
      patterns.add(`${trimmed}/*`);
      samples.add(`${trimmed}/sample`);
    }
  }
  return {
    name: route.name ?? route.id,
    methods: (route.methods ?? []).map((m) => m.toUpperCase()).sort(),
    upstreamPaths: collapsePatterns([...patterns]),
    samplePaths: [...samples].sort(),
    preserveHost: route.preserve_host === true,
    regexPaths,
  };
}

/** Drops patterns another pattern covers (`/*` covers `/api/*`), sorted. */
function collapsePatterns(patterns: string[]): string[] {
  const covered = (p: string, by: string) => p !== by && by.endsWith('*') && p.startsWith(by.slice(0, -1));
  return [...new Set(patterns)].filter((p) => !patterns.some((q) => covered(p, q))).sort();
}

/**
 * The JWT issuers Kong accepts for a service's routes: tenant-quota with identity.source jwt (issuer + jwks_url),
 * Kong's bundled `jwt` plugin (each consumer's jwt_secrets key is the `iss` it accepts, key_claim_name iss) and
 * openid-connect's `issuer`.
 */
function issuersFor(config: KongConfig, service: ServiceEntity, routes: RouteEntity[], consumers: Raw[]): JwtIssuer[] {
  const issuers = new Map<string, JwtIssuer>();
  const scopes: (RouteEntity | undefined)[] = routes.length > 0 ? routes : [undefined];
  for (const route of scopes) {
    for (const plugin of pluginsFor(config, route, service)) {
      const where = `plugin ${plugin.name} on ${plugin.route ? `route ${route?.name}` : plugin.service ? `service ${service.name}` : 'every route'}`;
      const c = plugin.config as Raw;
      if (plugin.name === 'tenant-quota' && c.identity?.source === 'jwt' && typeof c.identity?.jwt?.issuer === 'string') {
        const j = c.identity.jwt as Raw;
        const aud = j.audience;
        issuers.set(j.issuer, {
          issuer: j.issuer,
          jwksUri: typeof j.jwks_url === 'string' ? j.jwks_url : undefined,
          audiences: typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.map(String) : undefined,
          acceptedBy: where,
        });
      }
      if (plugin.name === 'openid-connect' && typeof c.issuer === 'string') {
        const issuer = c.issuer.replace(/\/\.well-known\/openid-configuration$/, '');
        issuers.set(issuer, { issuer, acceptedBy: where });
      }
      if (plugin.name === 'jwt' && (c.key_claim_name ?? 'iss') === 'iss') {
        for (const consumer of consumers) {
          for (const secret of (consumer.jwt_secrets ?? []) as Raw[]) {
            if (typeof secret.key !== 'string') continue;
            const jwk = credentialJwk(secret);
            const known = issuers.get(secret.key);
            const keys = [...(known?.jwks ? (JSON.parse(known.jwks) as { keys: object[] }).keys : []), ...(jwk ? [jwk] : [])];
            issuers.set(secret.key, {
              issuer: secret.key,
              jwks: keys.length > 0 ? JSON.stringify({ keys }) : undefined,
              acceptedBy: known?.acceptedBy ?? `${where} (consumer ${consumer.username ?? consumer.custom_id})`,
            });
          }
        }
      }
    }
  }
  return [...issuers.values()].sort((a, b) => a.issuer.localeCompare(b.issuer));
}

/**
 * The JWK of a Kong jwt credential: HS* secrets as `oct` keys (base64url of the secret, decoded first when
 * secret_is_base64), RS, ES and PS keys from rsa_public_key. Undefined when kong.yml does not hold the key.
 */
function credentialJwk(secret: Raw): Record<string, unknown> | undefined {
  const alg = String(secret.algorithm ?? 'HS256');
  if (alg.startsWith('HS')) {
    if (typeof secret.secret !== 'string') return undefined;
    const bytes = secret.secret_is_base64 ? Buffer.from(secret.secret, 'base64') : Buffer.from(secret.secret, 'utf8');
    return { kty: 'oct', alg, k: bytes.toString('base64url') };
  }
  if (typeof secret.rsa_public_key !== 'string') return undefined;
  try {
    return { ...crypto.createPublicKey(secret.rsa_public_key).export({ format: 'jwk' }), alg };
  } catch {
    return undefined;
  }
}
