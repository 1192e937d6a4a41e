import type { HeaderMultimap } from '../../shared/pdk';
import type { SerializeOverride } from './log-masking';

/**
 * The protocol between the plugin and its Kong-side guard (kong/guard-access.lua in pre-function,
 * kong/guard-header-filter.lua and kong/guard-body-filter.lua in post-function; README "Guard"), over
 * kong.ctx.shared:
 * - the guard's access chunk strips Range / If-Range, narrows Accept-Encoding to the codings the plugin decodes, and
 *   stores a request snapshot under REQUEST_KEY: `{ headers, uri }` (the request headers and the raw request URI);
 * - the plugin's response phase reads it (one call) and writes its whole result under RESULT_KEY (one call): the
 *   marker that it ran, plus what to change (status, headers, the masked body in base64, log overrides, the masked
 *   URI);
 * - the guard's header_filter answers 502 problem+json (all upstream headers dropped) for a proxied response without
 *   a result (the plugin server crashed, restarted, timed out), else applies the result; its body_filter swaps in
 *   the body.
 */
export const REQUEST_KEY = 'pii_masking_request';
export const RESULT_KEY = 'pii_masking';

export interface RequestSnapshot {
  headers: HeaderMultimap;
  uri: string;
}

/** A header value to set, or `false` to clear the header. */
export type GuardHeader = string | string[] | false;

export interface GuardLogOverride {
  path: string;
  value?: unknown;
  /** Remove the field (a nil value cannot travel in a Lua table). */
  clear?: boolean;
}

export interface GuardResult {
  ok: true;
  status?: number;
  headers?: Record<string, GuardHeader>;
  /** The replacement body, base64 (any bytes through any plugin-server codec). */
  body?: string;
  logs?: GuardLogOverride[];
  /** The request URI with its query masked: the guard derives request.url and upstream_uri from it. */
  uri?: string;
}

function asList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/** The guard's snapshot, or undefined when it is missing or malformed (no guard ran for this request). */
export function parseSnapshot(value: unknown): RequestSnapshot | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const raw = value as { headers?: unknown; uri?: unknown };
  if (typeof raw.uri !== 'string') return undefined;
  const headers: HeaderMultimap = {};
  if (raw.headers && typeof raw.headers === 'object' && !Array.isArray(raw.headers)) {
    for (const [name, v] of Object.entries(raw.headers as Record<string, unknown>)) {
      const list = asList(v);
      if (list) headers[name.toLowerCase()] = list;
    }
  }
  return { headers, uri: raw.uri };
}

export function toGuardLogs(overrides: SerializeOverride[]): GuardLogOverride[] {
  return overrides.map((o) => (o.value === null || o.value === undefined ? { path: o.path, clear: true } : { path: o.path, value: o.value }));
}

/** Codings the plugin decodes (body-codec.ts); Accept-Encoding is narrowed to these. */
const DECODED = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

/**
 * The Accept-Encoding to send upstream: the client's list without codings the plugin cannot decode (zstd,
 * compress, `*`), or undefined when it needs no change; `identity` when nothing is left. The same rule as
 * guard-access.lua.
 */
export function narrowAcceptEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept: string[] = [];
  let changed = false;
  for (const item of value.split(',')) {
    const trimmed = item.trim();
    if (!trimmed) continue;
    const coding = trimmed.split(';')[0].trim().toLowerCase();
    if (DECODED.has(coding)) kept.push(trimmed);
    else changed = true;
  }
  if (!changed) return undefined;
  return kept.length ? kept.join(', ') : 'identity';
}
