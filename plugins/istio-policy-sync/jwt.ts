import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { JwtRule } from '../../shared/istio/model';

/**
 * RequestAuthentication at the edge, as the workload sidecar's jwt_authn filter applies it
 * (https://istio.io/latest/docs/reference/config/security/request_authentication/): tokens are looked for in each
 * rule's fromHeaders/fromParams/fromCookies (none given: `Authorization: Bearer` then the `access_token` parameter);
 * no token = no request identity (allowed, without request.auth.*); a token that fails (unknown issuer, bad
 * signature, expired, wrong audience) = 401. Keys: inline `jwks`, `jwksUri` fetched and cached, or neither
 * (OIDC discovery on the issuer, as istiod does). Clock skew 60 s, Envoy's default.
 */

type Jose = typeof import('jose');
let loaded: Jose | undefined;
/**
 * jose 6 is ESM-only: Node 20.19+ require()s it, jest's module loader cannot. Loading it on first use keeps the
 * plugin module loadable everywhere (kong-plugins validate loads every plugin, also under jest).
 */
function jose(): Jose {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('jose') as Jose);
}

export interface TokenInput {
  /** Lower-case names, values as Kong's get_headers gives them. */
  headers: Record<string, string[]>;
  /** Decoded query arguments. */
  query?: Record<string, string[]>;
}

export type JwtOutcome =
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string; policy?: string }
  | {
      kind: 'valid';
      requestPrincipal: string;
      audiences?: string[];
      presenter?: string;
      claims: Record<string, unknown>;
      /** outputClaimToHeaders / outputPayloadToHeader: headers the sidecar adds (and the policies then see). */
      outputHeaders: Record<string, string>;
      /** The header the token came from when its rule does not forward it (the sidecar removes it before authz). */
      removedHeader?: string;
      policy: string;
    };

type Location = { kind: 'header'; name: string; prefix: string } | { kind: 'param'; name: string } | { kind: 'cookie'; name: string };

interface CompiledRule {
  rule: JwtRule;
  policy: string;
  locations: Location[];
  keys: JWTVerifyGetKey;
}

export interface JwksOptions {
  cacheSeconds: number;
  timeoutMs: number;
}

const remoteSets = new Map<string, JWTVerifyGetKey>();

function remoteSet(uri: string, options: JwksOptions): JWTVerifyGetKey {
  const key = `${uri}|${options.cacheSeconds}|${options.timeoutMs}`;
  let set = remoteSets.get(key);
  if (!set) {
    set = jose().createRemoteJWKSet(new URL(uri), { cacheMaxAge: options.cacheSeconds * 1000, timeoutDuration: options.timeoutMs, cooldownDuration: 1000 });
    remoteSets.set(key, set);
  }
  return set;
}

/** istiod's discovery when a rule has neither jwks nor jwksUri: `<issuer>/.well-known/openid-configuration`. */
function discoveredSet(issuer: string, options: JwksOptions): JWTVerifyGetKey {
  let resolved: Promise<JWTVerifyGetKey> | undefined;
  const resolve = () =>
    (resolved ??= fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(options.timeoutMs) })
      .then((r) => (r.ok ? (r.json() as Promise<{ jwks_uri?: string }>) : Promise.reject(new Error(`discovery answered ${r.status}`))))
      .then((doc) => {
        if (!doc.jwks_uri) throw new Error('discovery document has no jwks_uri');
        return remoteSet(doc.jwks_uri, options);
      })
      .catch((err: unknown) => {
        resolved = undefined;
        throw err;
      }));
  return async (header, token) => (await resolve())(header, token);
}

function locationsOf(rule: JwtRule): Location[] {
  const out: Location[] = [];
  for (const h of rule.fromHeaders ?? []) out.push({ kind: 'header', name: h.name.toLowerCase(), prefix: h.prefix ?? '' });
  for (const p of rule.fromParams ?? []) out.push({ kind: 'param', name: p });
  for (const c of rule.fromCookies ?? []) out.push({ kind: 'cookie', name: c });
  if (out.length === 0) out.push({ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token' });
  return out;
}

export class JwtAuthenticator {
  private readonly rules: CompiledRule[];
  /** Whether any rule reads query parameters (then the handler fetches the query). */
  readonly needsQuery: boolean;

  constructor(rules: { rule: JwtRule; policy: string }[], options: JwksOptions) {
    this.rules = rules.map(({ rule, policy }) => ({
      rule,
      policy,
      locations: locationsOf(rule),
      keys: rule.jwks ? jose().createLocalJWKSet(JSON.parse(rule.jwks) as Parameters<Jose['createLocalJWKSet']>[0]) : rule.jwksUri ? remoteSet(rule.jwksUri, options) : discoveredSet(rule.issuer, options),
    }));
    this.needsQuery = this.rules.some((r) => r.locations.some((l) => l.kind === 'param'));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  async authenticate(input: TokenInput): Promise<JwtOutcome> {
    if (this.rules.length === 0) return { kind: 'none' };
    const found = this.find(input);
    if (!found) return { kind: 'none' };
    let iss: string | undefined;
    try {
      iss = jose().decodeJwt(found.token).iss;
    } catch {
      return { kind: 'invalid', reason: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' };
    }
    // a rule for this issuer that reads the location the token was found in
    const rule = this.rules.find((r) => r.rule.issuer === iss && r.locations.some((l) => sameLocation(l, found.location)));
    if (!rule) return { kind: 'invalid', reason: 'Jwt issuer is not configured' };
    let payload: JWTPayload;
    try {
      const audiences = rule.rule.audiences?.length ? rule.rule.audiences : undefined;
      ({ payload } = await jose().jwtVerify(found.token, rule.keys, { issuer: rule.rule.issuer, audience: audiences, clockTolerance: 60 }));
    } catch (err) {
      return { kind: 'invalid', reason: verifyReason(err), policy: rule.policy };
    }
    const aud = payload.aud === undefined ? undefined : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const outputHeaders: Record<string, string> = {};
    for (const o of rule.rule.outputClaimToHeaders ?? []) {
      const v = (payload as Record<string, unknown>)[o.claim];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') outputHeaders[o.header.toLowerCase()] = String(v);
    }
    if (rule.rule.outputPayloadToHeader) outputHeaders[rule.rule.outputPayloadToHeader.toLowerCase()] = found.token.split('.')[1];
    const removedHeader = rule.rule.forwardOriginalToken !== true && found.location.kind === 'header' ? found.location.name : undefined;
    return {
      kind: 'valid',
      requestPrincipal: `${payload.iss}/${payload.sub ?? ''}`,
      audiences: aud,
      presenter: typeof payload.azp === 'string' ? payload.azp : undefined,
      claims: payload as Record<string, unknown>,
      outputHeaders,
      removedHeader,
      policy: rule.policy,
    };
  }

  /** The first token in rule order, then location order. */
  private find(input: TokenInput): { token: string; location: Location } | undefined {
    let cookies: Map<string, string> | undefined;
    for (const r of this.rules) {
      for (const l of r.locations) {
        let token: string | undefined;
        if (l.kind === 'header') {
          const value = input.headers[l.name]?.[0];
          if (value !== undefined && value.startsWith(l.prefix)) token = value.slice(l.prefix.length).trim();
        } else if (l.kind === 'param') token = input.query?.[l.name]?.[0];
        else {
          cookies ??= parseCookies(input.headers.cookie ?? []);
          token = cookies.get(l.name);
        }
        if (token) return { token, location: l };
      }
    }
    return undefined;
  }
}

function sameLocation(a: Location, b: Location): boolean {
  return a.kind === b.kind && a.name === b.name && (a.kind !== 'header' || a.prefix === (b as { prefix: string }).prefix);
}

function parseCookies(values: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of values) {
    for (const part of value.split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim();
      if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
    }
  }
  return out;
}

/** Envoy's jwt_authn messages for the common failures. */
function verifyReason(err: unknown): string {
  const { errors } = jose();
  if (err instanceof errors.JWTExpired) return 'Jwt is expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'Audiences in Jwt are not allowed';
    if (err.claim === 'nbf') return 'Jwt not yet valid';
    return `Jwt claim ${err.claim} is invalid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return 'Jwt verification fails';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'Jwks remote fetch is failed';
  return 'Jwt verification fails';
}
