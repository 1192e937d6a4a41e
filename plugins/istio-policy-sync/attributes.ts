import { isProxyHeader, UNKNOWN, type Attributes } from '../../shared/istio/engine';
import type { MtlsResolution } from './policy-set';
import type { JwtOutcome } from './jwt';

/**
 * The request as the workload's sidecar sees it, from what Kong knows at access: Kong's mesh identity and pod address
 * (source.*), the client (remote.ip, assuming the mesh trusts Kong's X-Forwarded-For, numTrustedProxies >= 1), the
 * upstream port and Host, and the path Kong sends upstream as the sidecar normalizes it (Istio's default BASE).
 */

export interface WorkloadTarget {
  port?: number | null;
  host?: string | null;
  ip?: string | null;
  stripPrefix?: string | null;
  servicePath?: string | null;
}

export interface KongIdentity {
  principal?: string | null;
  podIp?: string | null;
  sni?: string | null;
}

export interface RequestFacts {
  method?: string;
  /** kong.request.get_path(): Kong's normalized path. */
  path?: string;
  headers?: Record<string, string[]>;
  rawQuery?: string;
  forwardedIp?: string;
  host?: string;
}

const ESCAPE_KEEPS = /[!#$&'()*+,/:;=?@[\]A-Za-z0-9\-_.~%]/;

/** kong.tools.uri escape: what Kong re-escapes in the upstream URI. */
function escapeUri(uri: string): string {
  let out = '';
  for (const c of Buffer.from(uri, 'utf8').toString('latin1')) out += ESCAPE_KEEPS.test(c) ? c : '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
  return out;
}

/** BASE normalization (RFC 3986 6.2.2): percent-encoded unreserved characters decoded, escapes upper-cased. */
function normalizeBase(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
  });
}

/** The path the workload's policies match: Kong's upstream URI (path_handling v0, strip_path, service path), escaped, BASE-normalized. */
export function workloadPath(kongPath: string, target: WorkloadTarget): string {
  let path = kongPath;
  const prefix = target.stripPrefix;
  const base = target.servicePath ?? '/';
  const strip = prefix !== undefined && prefix !== null && path.startsWith(prefix);
  let postfix = strip ? path.slice(prefix.length) : path.slice(1);
  if (postfix === '.' || postfix === '..') postfix = '';
  if (base.endsWith('/')) {
    if (!strip) path = base + kongPath.slice(1);
    else if (postfix === '') path = base === '/' ? '/' : kongPath.endsWith('/') ? base : base.slice(0, -1);
    else path = postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix;
  } else if (strip) {
    if (postfix === '') path = kongPath.length > 1 && kongPath.endsWith('/') ? base + '/' : base;
    else path = postfix.startsWith('/') ? base + postfix : base + '/' + postfix;
  } else path = kongPath === '/' ? base : base + kongPath;
  return normalizeBase(escapeUri(path));
}

export function namespaceOf(principal: string): string | undefined {
  return /\/ns\/([^/]+)\//.exec(principal)?.[1];
}

export function buildAttributes(facts: RequestFacts, target: WorkloadTarget, identity: KongIdentity, mtls: MtlsResolution, jwt: JwtOutcome): Attributes {
  const mutual = Boolean(identity.principal) && mtls.mode !== 'DISABLE';
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(facts.headers ?? {})) headers[name] = values.join(',');
  const host = target.host ?? facts.host ?? headers.host;
  if (host !== undefined) headers.host = host;
  const a: Attributes = {
    principal: mutual ? (identity.principal as string) : undefined,
    namespace: mutual ? namespaceOf(identity.principal as string) : undefined,
    sourceIp: identity.podIp ?? UNKNOWN,
    remoteIp: facts.forwardedIp ?? identity.podIp ?? UNKNOWN,
    destinationIp: target.ip ?? UNKNOWN,
    port: target.port ?? UNKNOWN,
    sni: mutual ? (identity.sni ?? UNKNOWN) : undefined,
    method: facts.method,
    path: facts.path === undefined ? undefined : workloadPath(facts.path, target),
    host,
    headers,
    unknownHeader: isProxyHeader,
  };
  if (jwt.kind === 'valid') {
    a.requestPrincipal = jwt.requestPrincipal;
    a.audiences = jwt.audiences;
    a.presenter = jwt.presenter;
    a.claims = jwt.claims;
    if (jwt.removedHeader) delete headers[jwt.removedHeader];
    Object.assign(headers, jwt.outputHeaders);
  }
  return a;
}
