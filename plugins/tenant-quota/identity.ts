import type { HeaderMultimap, KongConsumer, KongCredential } from '../../shared/pdk';
import { bearerToken, JwtVerifier } from './jwt';
import type { TenantQuotaConfig } from './schema';

/**
 * Who is asking: the tenant (and the consumer within it) from the configured source. The resolver says up front
 * which PDK reads it needs, so the handler makes only those calls: headers for jwt/header/cost-header, the consumer
 * or the credential for those sources, never more.
 */
export interface RequestFacts {
  headers?: HeaderMultimap;
  consumer?: KongConsumer;
  credential?: KongCredential;
}

export interface Who {
  tenant: string;
  consumer: string;
}

export const MAX_TENANT_LENGTH = 128;

/** How identification went: a tenant, none, or no verdict possible (the JWKS endpoint is unreachable). */
export type IdentityOutcome = { kind: 'identified'; who: Who } | { kind: 'none'; tokenRejected?: boolean } | { kind: 'unavailable'; reason: string };

function first(headers: HeaderMultimap | undefined, name: string): string | undefined {
  const values = headers?.[name];
  return values && values.length ? values[0] : undefined;
}

function tagged(tags: unknown, prefix: string): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  for (const tag of tags) if (typeof tag === 'string' && tag.startsWith(prefix) && tag.length > prefix.length) return tag.slice(prefix.length);
  return undefined;
}

function clean(value: unknown): string | undefined {
  if (typeof value === 'number') value = String(value);
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  return v && v.length <= MAX_TENANT_LENGTH ? v : undefined;
}

export class IdentityResolver {
  readonly needsHeaders: boolean;
  readonly needsConsumer: boolean;
  readonly needsCredential: boolean;
  private readonly id: TenantQuotaConfig['identity'];
  private readonly jwt: JwtVerifier | undefined;
  private readonly headerName: string;
  private readonly consumerHeader: string | undefined;
  private readonly jwtHeader: string;
  /** For messages: where the tenant was looked for. */
  readonly describe: string;
  /** The WWW-Authenticate challenge of a 401 (RFC 9110 11.6.1): Bearer for JWTs, Kong's key-auth scheme otherwise. */
  readonly challenge: string;

  constructor(config: TenantQuotaConfig) {
    this.id = config.identity;
    const source = this.id.source;
    this.needsHeaders = source === 'jwt' || source === 'header';
    this.needsConsumer = source === 'consumer';
    this.needsCredential = source === 'credential';
    this.headerName = this.id.header_name.toLowerCase();
    this.consumerHeader = this.id.consumer_header?.toLowerCase();
    this.jwtHeader = this.id.jwt.header.toLowerCase();
    if (source === 'jwt') {
      const j = this.id.jwt;
      this.jwt = new JwtVerifier({
        jwksUrl: j.jwks_url ?? undefined,
        jwksCacheSeconds: j.jwks_cache_seconds,
        staticKey: j.static_key ?? undefined,
        algorithms: j.algorithms,
        issuer: j.issuer ?? undefined,
        audience: j.audience ?? undefined,
      });
    }
    this.challenge = source === 'jwt' ? 'Bearer realm="kong"' : 'Key realm="kong"';
    this.describe =
      source === 'header' ? `the ${this.id.header_name} header` : source === 'jwt' ? `a verified JWT in ${this.id.jwt.header}` : `the authenticated ${source}`;
  }

  /**
   * The first identity header (tenant, consumer, token) sent more than once, or with a list separator in a tenant
   * or consumer value: the upstream would see every value joined ("a, b") while the quota counted only one.
   */
  ambiguousHeader(headers: HeaderMultimap | undefined): string | undefined {
    if (!headers) return undefined;
    const singles = this.id.source === 'header' ? [this.headerName, this.consumerHeader] : this.id.source === 'jwt' ? [this.jwtHeader] : [];
    for (const name of singles) {
      if (!name) continue;
      const values = headers[name];
      if (!values) continue;
      if (values.length > 1 || (this.id.source === 'header' && values[0].includes(','))) return name;
    }
    return undefined;
  }

  /** Identification with the JWKS outcome kept apart: "unavailable" is not "unauthenticated". */
  async identify(facts: RequestFacts): Promise<IdentityOutcome> {
    if (this.id.source === 'jwt') {
      const token = bearerToken(first(facts.headers, this.jwtHeader));
      if (!token || !this.jwt) return { kind: 'none' };
      const verified = await this.jwt.check(token);
      if (verified.kind === 'unavailable') return verified;
      if (verified.kind === 'invalid') return { kind: 'none', tokenRejected: true };
      const tenant = clean(verified.payload[this.id.jwt.tenant_claim]);
      if (!tenant) return { kind: 'none', tokenRejected: true };
      return { kind: 'identified', who: { tenant, consumer: clean(verified.payload[this.id.jwt.consumer_claim]) ?? '_' } };
    }
    const who = await this.resolve(facts);
    return who ? { kind: 'identified', who } : { kind: 'none' };
  }

  /** The tenant, or undefined when the request carries none (the unidentified outcome then applies). */
  async resolve(facts: RequestFacts): Promise<Who | undefined> {
    switch (this.id.source) {
      case 'header': {
        const tenant = clean(first(facts.headers, this.headerName));
        if (!tenant) return undefined;
        const consumer = this.consumerHeader ? clean(first(facts.headers, this.consumerHeader)) : undefined;
        return { tenant, consumer: consumer ?? '_' };
      }
      case 'jwt': {
        const token = bearerToken(first(facts.headers, this.jwtHeader));
        if (!token || !this.jwt) return undefined;
        const payload = await this.jwt.verify(token);
        const tenant = clean(payload?.[this.id.jwt.tenant_claim]);
        if (!payload || !tenant) return undefined;
        return { tenant, consumer: clean(payload[this.id.jwt.consumer_claim]) ?? '_' };
      }
      case 'consumer': {
        const c = facts.consumer;
        if (!c) return undefined;
        const tenant = this.id.consumer_field === 'tag' ? clean(tagged(c.tags, this.id.tag_prefix)) : clean(c[this.id.consumer_field]);
        return tenant ? { tenant, consumer: c.id } : undefined;
      }
      case 'credential': {
        const cred = facts.credential;
        if (!cred) return undefined;
        const tenant = this.id.consumer_field === 'tag' ? clean(tagged(cred.tags, this.id.tag_prefix)) : clean(cred[this.id.consumer_field]);
        return tenant ? { tenant, consumer: cred.consumer?.id ?? cred.id } : undefined;
      }
    }
  }

  anonymous(): Who | undefined {
    return this.id.unidentified === 'anonymous' ? { tenant: this.id.anonymous_tenant, consumer: '_' } : undefined;
  }
}
