import { isJwt } from './detectors/jwt';
import type { KeyContexts } from './detectors/key-context';
import type { HeaderMultimap } from '../../shared/pdk';
import type { Masker } from './modes';
import { applyEdits, type MaskReport, type ValueMasker } from './value-masker';

export type LogMode = 'redact' | 'token';

/** One `kong.log.set_serialize_value(path, value)` call. */
export interface SerializeOverride {
  path: string;
  value: unknown;
}

export interface LogMaskingOptions {
  headers: readonly string[];
  queryParams: readonly string[];
  mode: LogMode;
}

/** Headers whose values are structural, never personal: not scanned (saves work on every request). */
const UNSCANNED_HEADERS = new Set([
  'host', 'content-length', 'content-type', 'accept', 'accept-encoding', 'accept-language', 'connection', 'date', 'via',
  'user-agent', 'cache-control', 'pragma', 'content-encoding', 'transfer-encoding', 'vary', 'etag', 'last-modified',
  'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-host', 'x-forwarded-path', 'server', 'keep-alive', 'expires',
]);

const REDACTED = '[REDACTED]';

/**
 * What Kong's log plugins must not see, as set_serialize_value overrides computed from the headers and query the
 * plugin already read (pure: no PDK here). Listed headers (Authorization, Cookie, Set-Cookie, ...) and query
 * parameters are masked whole, keeping only their structure (the auth scheme, cookie names and attributes); every
 * other header value and query value is scanned with the detectors and masked in its type's mode, so the same
 * value gets the same token in bodies and logs. Only fields that change produce an override.
 */
export class LogMasking {
  private readonly headers: ReadonlySet<string>;
  private readonly params: ReadonlySet<string>;

  constructor(
    options: LogMaskingOptions,
    private readonly values: ValueMasker,
    private readonly masker: Masker,
    private readonly keys: KeyContexts,
  ) {
    this.headers = new Set(options.headers.map((h) => h.toLowerCase()));
    this.params = new Set(options.queryParams.map((p) => p.toLowerCase()));
    this.mode = options.mode;
  }

  private readonly mode: LogMode;

  /** Overrides for `request.headers.*` or `response.headers.*` (`prefix`). */
  headerOverrides(prefix: string, headers: HeaderMultimap, report: MaskReport): SerializeOverride[] {
    const out: SerializeOverride[] = [];
    const whole: Record<string, string | string[]> = {};
    let dotted = false;
    for (const name in headers) {
      const lower = name.toLowerCase();
      const values = headers[name];
      whole[lower] = values.length === 1 ? values[0] : values;
      if (UNSCANNED_HEADERS.has(lower)) continue;
      let changed = false;
      const masked = values.map((value) => {
        const result = this.headers.has(lower) ? this.sensitiveHeader(lower, value, report) : this.scanned(lower, value, report);
        if (result !== value) changed = true;
        return result;
      });
      if (!changed) continue;
      whole[lower] = masked.length === 1 ? masked[0] : masked;
      if (lower.includes('.')) dotted = true;
      out.push({ path: `${prefix}.${lower}`, value: whole[lower] });
    }
    // a dotted name (`x.api.key`) cannot be a serialize path (Kong nests at every dot): replace the whole table once
    if (dotted) return [{ path: prefix, value: whole }];
    return out;
  }

  /**
   * The masked query: `request.querystring` as one table (one call whatever the number of parameters), and the
   * masked raw query for rebuilding `request.uri` and `request.url`. Undefined when nothing needs masking.
   */
  query(rawQuery: string, report: MaskReport): { table: Record<string, string | boolean | Array<string | boolean>>; raw: string } | undefined {
    if (!rawQuery) return undefined;
    const table: Record<string, string | boolean | Array<string | boolean>> = {};
    const rawParts: string[] = [];
    let changed = false;
    for (const part of rawQuery.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const name = decode(eq < 0 ? part : part.slice(0, eq));
      let value: string | boolean = eq < 0 ? true : decode(part.slice(eq + 1));
      if (typeof value === 'string') {
        const masked = this.params.has(baseName(name)) ? this.whole('secret', value, report) : this.scanned(name, value, report);
        if (masked !== value) {
          changed = true;
          value = masked;
          rawParts.push(`${part.slice(0, eq)}=${encodeURIComponent(masked)}`);
        } else rawParts.push(part);
      } else rawParts.push(part);
      const existing = table[name];
      if (existing === undefined) table[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else table[name] = [existing, value];
    }
    return changed ? { table, raw: rawParts.join('&') } : undefined;
  }

  private sensitiveHeader(name: string, value: string, report: MaskReport): string {
    if (name === 'cookie') return value.split(';').map((pair) => this.cookiePair(pair, report)).join(';');
    if (name === 'set-cookie') {
      const semi = value.indexOf(';');
      return semi < 0 ? this.cookiePair(value, report) : this.cookiePair(value.slice(0, semi), report) + value.slice(semi);
    }
    const scheme = /^(Bearer|Basic|Digest|Token|Negotiate|AWS4-HMAC-SHA256|ApiKey)\s+/i.exec(value);
    if (scheme) return scheme[0] + this.whole('secret', value.slice(scheme[0].length), report);
    return this.whole('secret', value, report);
  }

  /** `name=value` (any spaces around either) with the value masked whole; a pair without '=' is all value. */
  private cookiePair(pair: string, report: MaskReport): string {
    const eq = pair.indexOf('=');
    const value = eq < 0 ? pair.trim() : pair.slice(eq + 1).trim();
    if (value === '') return pair;
    const masked = this.whole('secret', value, report);
    return eq < 0 ? pair.replace(value, masked) : `${pair.slice(0, eq + 1)}${pair.slice(eq + 1).replace(value, masked)}`;
  }

  /** A whole value masked for the logs: `[REDACTED]`, or in token mode its deterministic token. */
  private whole(type: string, value: string, report: MaskReport): string {
    if (value === '') return value;
    const kind = type === 'secret' && isJwt(value) ? 'jwt' : type;
    report.record(kind, false);
    return this.mode === 'token' ? this.masker.token(kind, value) : REDACTED;
  }

  private scanned(name: string, value: string, report: MaskReport): string {
    const edits = this.values.edits(value, this.keys.of(name), false, report, true);
    return edits && edits.length ? applyEdits(value, edits) : value;
  }
}

/** A parameter's name without array brackets (`token[]`, `token[0]`), lower case. */
function baseName(name: string): string {
  const bracket = name.indexOf('[');
  return (bracket > 0 ? name.slice(0, bracket) : name).trim().toLowerCase();
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
