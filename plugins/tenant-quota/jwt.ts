import type { JWTPayload, JWTVerifyGetKey, KeyObject } from 'jose';

/**
 * JWT verification with jose: a JWKS endpoint (keys cached for jwks_cache_seconds, refetched on an unknown kid,
 * one fetcher per URL shared by every plugin instance in the process) or one static key (PEM public key or HMAC
 * secret). jose is loaded on first use, so configs without JWT identity never pay its load time.
 */
export interface JwtSettings {
  jwksUrl?: string;
  jwksCacheSeconds: number;
  staticKey?: string;
  algorithms: string[];
  issuer?: string;
  audience?: string;
}

type Jose = typeof import('jose');
let jose: Jose | undefined;
function loadJose(): Jose {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (jose ??= require('jose') as Jose);
}

const remoteSets = new Map<string, JWTVerifyGetKey>();

type CryptoKeyLike = Awaited<ReturnType<Jose['importSPKI']>>;
type VerifyKey = KeyObject | Uint8Array | CryptoKeyLike | JWTVerifyGetKey;

export class JwtVerifier {
  private readonly key: (alg: string) => Promise<VerifyKey> | VerifyKey;

  constructor(private readonly settings: JwtSettings) {
    const j = loadJose();
    if (settings.jwksUrl) {
      const id = `${settings.jwksUrl}|${settings.jwksCacheSeconds}`;
      let set = remoteSets.get(id);
      if (!set) {
        set = j.createRemoteJWKSet(new URL(settings.jwksUrl), { cacheMaxAge: settings.jwksCacheSeconds * 1000, cooldownDuration: 5000, timeoutDuration: 2000 });
        remoteSets.set(id, set);
      }
      const remote = set;
      this.key = () => remote;
    } else {
      const material = settings.staticKey ?? '';
      if (material.includes('-----BEGIN')) {
        const byAlg = new Map<string, Promise<CryptoKeyLike>>();
        this.key = (alg) => {
          let k = byAlg.get(alg);
          if (!k) {
            k = j.importSPKI(material, alg);
            byAlg.set(alg, k);
            // a failed import is not kept: the next request tries again (and is counted as unavailable meanwhile)
            k.catch(() => byAlg.delete(alg));
          }
          return k;
        };
      } else {
        const secret = new TextEncoder().encode(material);
        this.key = () => secret;
      }
    }
  }

  /** The verified payload, or undefined for a missing, malformed, expired or badly signed token (or no keys). */
  async verify(token: string): Promise<JWTPayload | undefined> {
    const r = await this.check(token);
    return r.kind === 'valid' ? r.payload : undefined;
  }

  /**
   * valid / invalid (the token's fault: malformed, expired, wrong signature, unknown kid) / unavailable (the keys
   * cannot be had: the JWKS endpoint timed out, failed or answered garbage, or a static key does not import).
   */
  async check(token: string): Promise<JwtCheck> {
    const j = loadJose();
    let alg: string;
    try {
      const header = j.decodeProtectedHeader(token);
      alg = typeof header.alg === 'string' ? header.alg : '';
    } catch {
      return { kind: 'invalid' };
    }
    if (!this.settings.algorithms.includes(alg)) return { kind: 'invalid' };
    let key: VerifyKey;
    try {
      key = await this.key(alg);
    } catch {
      return { kind: 'unavailable', reason: 'key_import' };
    }
    try {
      const options = { algorithms: this.settings.algorithms, issuer: this.settings.issuer, audience: this.settings.audience };
      const result = typeof key === 'function' ? await j.jwtVerify(token, key, options) : await j.jwtVerify(token, key, options);
      return { kind: 'valid', payload: result.payload };
    } catch (err) {
      const failure = keyFailure(err);
      return failure === 'token' ? { kind: 'invalid' } : { kind: 'unavailable', reason: failure };
    }
  }
}

export type JwtCheck = { kind: 'valid'; payload: JWTPayload } | { kind: 'invalid' } | { kind: 'unavailable'; reason: string };

/** jose's error codes that mean "no keys to check with", as opposed to "this token is bad". */
const KEY_FAILURES: Record<string, string> = {
  ERR_JWKS_TIMEOUT: 'jwks_timeout',
  ERR_JWKS_INVALID: 'jwks_invalid',
  ERR_JOSE_GENERIC: 'jwks_error',
};

function keyFailure(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (code in KEY_FAILURES) return KEY_FAILURES[code];
    return 'token'; // JWSSignatureVerificationFailed, JWTExpired, JWKSNoMatchingKey, ...: the token's fault
  }
  // fetch() failures (connection refused, DNS, reset) carry no jose code
  return 'jwks_unreachable';
}

export function bearerToken(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const token = /^bearer\s+/i.test(trimmed) ? trimmed.replace(/^bearer\s+/i, '') : trimmed;
  return token.split('.').length === 3 ? token : undefined;
}
