export type BodyFormat = 'json' | 'xml' | 'text';

/** What the plugin does with a response of a media type: scan it (as JSON, XML or text), pass it, or refuse it. */
export type MediaDecision = { kind: 'scan'; format: BodyFormat } | { kind: 'pass' } | { kind: 'unknown' };

/** Media types passed unscanned unless the operator says otherwise (binary media a text scan cannot read). */
export const DEFAULT_PASS_CONTENT_TYPES = ['image/*', 'audio/*', 'video/*', 'font/*'];

/**
 * Text-like application/* subtypes scanned as text whatever the config: what an API returns as ndjson, JSON text
 * sequences, server-sent events (text/*), form-encoded data, scripts, YAML, GraphQL or SQL is readable text.
 */
const TEXT_LIKE = new Set([
  'javascript', 'x-javascript', 'ecmascript', 'x-ecmascript', 'x-www-form-urlencoded', 'x-ndjson', 'ndjson', 'jsonl',
  'jsonlines', 'x-jsonlines', 'json-seq', 'graphql', 'yaml', 'x-yaml', 'toml', 'sql', 'csv', 'x-sh', 'x-csh', 'x-httpd-php',
  'rtf', 'x-tex', 'x-latex', 'jwt', 'jose', 'x-pem-file', 'pem-certificate-chain', 'x-sql', 'vnd.api+json',
]);

interface Pattern {
  type: string;
  /** undefined: `type/*`; '+x': `type/*+x`; otherwise the exact subtype. */
  subtype: string | undefined;
  suffix: string | undefined;
}

function compile(entries: readonly string[]): Pattern[] {
  return entries.map((entry) => {
    const media = entry.trim().toLowerCase();
    const slash = media.indexOf('/');
    const type = media.slice(0, slash);
    const rest = media.slice(slash + 1);
    if (rest === '*') return { type, subtype: undefined, suffix: undefined };
    if (rest.startsWith('*+')) return { type, subtype: undefined, suffix: rest.slice(1) };
    return { type, subtype: rest, suffix: undefined };
  });
}

function matches(patterns: Pattern[], type: string, subtype: string, exactOnly: boolean): boolean {
  for (const p of patterns) {
    if (p.type !== type && p.type !== '*') continue;
    if (p.subtype !== undefined ? p.subtype === subtype : !exactOnly && (p.suffix === undefined || subtype.endsWith(p.suffix))) return true;
  }
  return false;
}

/** The media type (lower case, no parameters) and the charset parameter of a Content-Type value. */
export function parseContentType(contentType: string | undefined): { type: string; subtype: string; charset: string | undefined } | undefined {
  if (!contentType || !contentType.trim()) return undefined;
  const parts = contentType.split(';');
  const media = parts[0].trim().toLowerCase();
  const slash = media.indexOf('/');
  if (slash <= 0 || slash === media.length - 1) return undefined;
  let charset: string | undefined;
  for (let i = 1; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq < 0 || parts[i].slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    charset = parts[i].slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
  }
  return { type: media.slice(0, slash), subtype: media.slice(slash + 1), charset };
}

/**
 * Fail-closed media type rules, in order: an exact entry of `pass` passes; an exact entry of `scan`, a JSON or XML
 * type (`json`, `+json`, `xml`, `+xml`) or a missing / unparseable Content-Type is scanned; a wildcard of `pass`
 * (`image/*`) passes; a wildcard of `scan`, `text/*`, `multipart/*`, `message/*`, `+yaml` and the text-like
 * application types (ndjson, json-seq, javascript, form-urlencoded, ...) are scanned as text; anything else is
 * unknown (blocked unless the operator passes it). So `image/svg+xml` is scanned as XML although image/* passes.
 */
export class ContentTypes {
  private readonly scan: Pattern[];
  private readonly pass: Pattern[];

  constructor(scan: readonly string[], pass: readonly string[] = DEFAULT_PASS_CONTENT_TYPES) {
    this.scan = compile(scan);
    this.pass = compile(pass);
  }

  decide(contentType: string | undefined): MediaDecision {
    const parsed = parseContentType(contentType);
    if (!parsed) return { kind: 'scan', format: 'text' };
    const { type, subtype } = parsed;
    if (matches(this.pass, type, subtype, true)) return { kind: 'pass' };
    const structured = structuredFormat(subtype);
    if (structured) return { kind: 'scan', format: structured };
    if (matches(this.scan, type, subtype, true)) return { kind: 'scan', format: 'text' };
    if (matches(this.pass, type, subtype, false)) return { kind: 'pass' };
    if (matches(this.scan, type, subtype, false)) return { kind: 'scan', format: 'text' };
    if (type === 'text' || type === 'multipart' || type === 'message' || subtype.endsWith('+yaml') || (type === 'application' && TEXT_LIKE.has(subtype))) {
      return { kind: 'scan', format: 'text' };
    }
    return { kind: 'unknown' };
  }

  /** The format a Content-Type is scanned as, or undefined when it is passed or unknown. */
  formatOf(contentType: string | undefined): BodyFormat | undefined {
    const decision = this.decide(contentType);
    return decision.kind === 'scan' ? decision.format : undefined;
  }
}

function structuredFormat(subtype: string): BodyFormat | undefined {
  if (subtype === 'json' || subtype.endsWith('+json')) return 'json';
  if (subtype === 'xml' || subtype.endsWith('+xml')) return 'xml';
  return undefined;
}
