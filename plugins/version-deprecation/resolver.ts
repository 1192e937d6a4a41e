import type { HeaderMultimap } from '../../shared/pdk';
import type { OperatorPattern } from '../../shared/safety/operator-pattern';
import type { CompiledVersion, VersionCatalog } from './catalog';
import type { VersionSource } from './schema';

const MAX_VERSION_SEGMENT = 64;

/** What the handler has read of the request so far; a field stays undefined until a source needs it. */
export interface RequestSnapshot {
  /** kong.request.get_headers(): lower-case names. */
  headers?: HeaderMultimap;
  /**
   * kong.request.get_path(): normalized as Kong's router sees it (kong/tools/uri.lua normalize). Never
   * get_path_with_query(): that is nginx's raw request_uri, where `/v1/../v2` names another version than the router's.
   */
  path?: string;
  /** kong.request.get_raw_query(): the query string without "?". */
  rawQuery?: string;
}

export type SnapshotPart = 'headers' | 'path' | 'query';

const SNAPSHOT_FIELD: Record<SnapshotPart, keyof RequestSnapshot> = { headers: 'headers', path: 'path', query: 'rawQuery' };

export type Resolution =
  /** The snapshot lacks what the next source needs: read it and resolve again. */
  | { kind: 'need'; what: SnapshotPart }
  | { kind: 'found'; version: CompiledVersion; source: VersionSource; token: string }
  | { kind: 'default'; version: CompiledVersion }
  | { kind: 'unknown'; source: VersionSource; token: string }
  /** Two sources name different versions (on_conflict reject). */
  | { kind: 'conflict'; named: ReadonlyArray<{ source: VersionSource; version: string }> }
  | { kind: 'missing' };

export interface ResolverOptions {
  sources: readonly VersionSource[];
  headerName: string;
  queryParam: string;
  /** 1-based index of the path segment holding the version. */
  pathSegment: number;
  /** Compiled on RE2 (shared/safety/operator-pattern): linear time on any segment. */
  pathVersionPattern: OperatorPattern;
  acceptMediaType?: string;
  acceptParam: string;
  defaultVersion?: string;
  /** reject: every source is read and two naming different versions are a conflict; first: precedence decides. */
  onConflict?: 'reject' | 'first';
}

/** Longest token echoed back in a problem body. */
const MAX_TOKEN = 64;
const MAX_QUERY_ARGS = 100;

/**
 * Pure version resolution: walks the configured sources in precedence order over a request snapshot. The first
 * source that carries a value decides (a known version, or an unknown one); with none, the default version or
 * "missing". Reads nothing itself: it asks for the headers or the path only when the next source needs them, so a
 * request resolved by its first source costs one PDK read.
 */
export class VersionResolver {
  private readonly headerKey: string;
  private readonly acceptType: string | undefined;
  private readonly acceptParam: string;
  private readonly fallback: CompiledVersion | undefined;

  constructor(
    private readonly catalog: VersionCatalog,
    private readonly options: ResolverOptions,
  ) {
    this.headerKey = options.headerName.toLowerCase();
    this.acceptType = options.acceptMediaType?.toLowerCase();
    this.acceptParam = options.acceptParam.toLowerCase();
    this.fallback = options.defaultVersion ? catalog.lookup(options.defaultVersion) : undefined;
  }

  resolve(snapshot: RequestSnapshot): Resolution {
    let first: Extract<Resolution, { kind: 'found' | 'unknown' }> | undefined;
    let named: Array<{ source: VersionSource; version: string }> | undefined;
    for (const source of this.options.sources) {
      const needs: SnapshotPart = source === 'header' || source === 'accept' ? 'headers' : source;
      if (snapshot[SNAPSHOT_FIELD[needs]] === undefined) return { kind: 'need', what: needs };
      const outcome = this.fromSource(source, snapshot);
      if (!outcome) continue;
      if (this.options.onConflict !== 'reject') return outcome;
      // reject: the remaining sources are read too, and must name the same version (or none)
      const version = outcome.kind === 'found' ? outcome.version.name : outcome.token;
      if (!first) {
        first = outcome;
        named = [{ source, version }];
        continue;
      }
      (named as Array<{ source: VersionSource; version: string }>).push({ source, version });
    }
    if (first && named) {
      const distinct = new Set(named.map((n) => n.version.toLowerCase()));
      return distinct.size > 1 ? { kind: 'conflict', named } : first;
    }
    return this.fallback ? { kind: 'default', version: this.fallback } : { kind: 'missing' };
  }

  /** The outcome of one source, or undefined when it carries no version. */
  private fromSource(source: VersionSource, snapshot: RequestSnapshot): Extract<Resolution, { kind: 'found' | 'unknown' }> | undefined {
    let token: string | undefined;
    switch (source) {
      case 'header':
        token = firstValue(snapshot.headers?.[this.headerKey]);
        break;
      case 'accept':
        token = acceptParameter(snapshot.headers?.accept ?? [], this.acceptType, this.acceptParam);
        break;
      case 'query':
        token = queryValue(snapshot.rawQuery ?? '', this.options.queryParam);
        break;
      case 'path': {
        const segment = pathSegment(snapshot.path ?? '/', this.options.pathSegment);
        if (segment === undefined) return undefined;
        const version = this.catalog.lookup(segment);
        if (version) return { kind: 'found', version, source, token: segment };
        return this.looksLikeVersion(segment) ? { kind: 'unknown', source, token: truncate(segment) } : undefined;
      }
    }
    if (token === undefined) return undefined;
    const version = this.catalog.lookup(token);
    return version ? { kind: 'found', version, source, token } : { kind: 'unknown', source, token: truncate(token) };
  }

  /** Whether the configured path segment holds a version (known, or shaped like one). */
  pathHoldsVersion(path: string): boolean {
    const segment = pathSegment(path, this.options.pathSegment);
    return segment !== undefined && (this.catalog.lookup(segment) !== undefined || this.looksLikeVersion(segment));
  }

  /** The operator's pattern sees at most MAX_VERSION_SEGMENT characters of untrusted input: no version is longer. */
  private looksLikeVersion(segment: string): boolean {
    return segment.length <= MAX_VERSION_SEGMENT && this.options.pathVersionPattern.test(segment);
  }

  /**
   * The upstream path for a version with an upstream_path_prefix: the prefix, then the request path after the
   * version segment (after the segments before it when the path holds no version). `path` is Kong's normalized
   * path (no dot segments, no `//`); undefined when the rest could still leave the prefix upstream (a segment that
   * an upstream decoding %2F, %5C or %2E would read as `..`), which the handler answers with 400.
   */
  upstreamPath(prefix: string, path: string): string | undefined {
    const drop = this.pathHoldsVersion(path) ? this.options.pathSegment : this.options.pathSegment - 1;
    return joinUnderPrefix(prefix, pathAfterSegments(path, drop));
  }
}

/**
 * prefix + rest, with exactly one "/" between them, and only when no segment of the result is (or decodes to) "."
 * or "..", and no empty segment appears (the schema refuses such prefixes; the normalized rest has none, so this is
 * the last line against percent-encoded separators).
 */
export function joinUnderPrefix(prefix: string, rest: string): string | undefined {
  const head = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const joined = head + (rest.startsWith('/') ? rest : '/' + rest);
  const segments = joined.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '' && i < segments.length - 1) return undefined; // "//" (a trailing "/" is kept)
    const decoded = seg.replace(/%2e/gi, '.').replace(/%2f|%5c|\\/gi, '/');
    if (decoded === '.' || decoded === '..' || /(^|\/)\.\.?(\/|$)/.test(decoded)) return undefined;
  }
  return joined;
}

function firstValue(values: string[] | undefined): string | undefined {
  if (!values) return undefined;
  for (const value of values) {
    const trimmed = value.trim();
    if (trimmed) return trimmed;
  }
  return undefined;
}

function truncate(token: string): string {
  return token.length > MAX_TOKEN ? token.slice(0, MAX_TOKEN) + '...' : token;
}

/** The n-th (1-based) segment of a normalized path, or undefined when absent or empty. */
export function pathSegment(path: string, n: number): string | undefined {
  let start = 0;
  for (let i = 0; i < n; i++) {
    start = path.indexOf('/', start);
    if (start < 0) return undefined;
    start++;
  }
  const end = path.indexOf('/', start);
  const segment = end < 0 ? path.slice(start) : path.slice(start, end);
  return segment === '' ? undefined : segment;
}

/** The path after its first `drop` segments, always starting with "/" (a trailing slash is kept). */
export function pathAfterSegments(path: string, drop: number): string {
  let at = 0;
  for (let i = 0; i < drop; i++) {
    const next = path.indexOf('/', at + 1);
    if (next < 0) return '/';
    at = next;
  }
  return drop === 0 ? (path.startsWith('/') ? path : '/' + path) : path.slice(at) || '/';
}

/** The first value of a query parameter (form-decoded), or undefined when absent or empty. */
export function queryValue(rawQuery: string, name: string): string | undefined {
  if (!rawQuery) return undefined;
  let count = 0;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    if (++count > MAX_QUERY_ARGS) break;
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (decodeForm(part.slice(0, eq)) !== name) continue;
    const value = decodeForm(part.slice(eq + 1)).trim();
    if (value) return value;
  }
  return undefined;
}

function decodeForm(text: string): string {
  const plain = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plain);
  } catch {
    return plain;
  }
}

/**
 * The value of media-type parameter `param` in Accept (RFC 9110 media ranges: `type/subtype *(; name=value)`,
 * values as tokens or quoted strings), from the first media range that has it, restricted to `mediaType` if given.
 */
export function acceptParameter(acceptValues: readonly string[], mediaType: string | undefined, param: string): string | undefined {
  for (const value of acceptValues) {
    for (const range of splitOutsideQuotes(value, ',')) {
      const parts = splitOutsideQuotes(range, ';');
      const type = parts[0].trim().toLowerCase();
      if (!type || (mediaType && type !== mediaType)) continue;
      for (let i = 1; i < parts.length; i++) {
        const eq = parts[i].indexOf('=');
        if (eq < 0 || parts[i].slice(0, eq).trim().toLowerCase() !== param) continue;
        const found = unquote(parts[i].slice(eq + 1).trim());
        if (found) return found;
      }
    }
  }
  return undefined;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === separator && !quoted) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(.)/g, '$1').trim();
  return value;
}
