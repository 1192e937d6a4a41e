/**
 * Deprecation signalling headers, formatted once per version at instance start (pure):
 *   Deprecation: @<epoch seconds>                 RFC 9745 (Structured-Field Date)
 *   Sunset: <IMF-fixdate>                         RFC 8594 (HTTP-date, always GMT)
 *   Link: <uri>; rel="deprecation"|"sunset"|"successor-version"   RFC 9745, RFC 8594, RFC 5829 (RFC 8288 syntax)
 */

/** RFC 9651 sf-date: "@" followed by an integer number of seconds since the epoch. */
export function formatDeprecation(epochMs: number): string {
  return '@' + Math.floor(epochMs / 1000);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

/**
 * RFC 9110 IMF-fixdate, e.g. `Sat, 01 Nov 2025 00:00:00 GMT`. Built field by field rather than trusting
 * Date#toUTCString, whose output for years outside 1000..9999 is not an IMF-fixdate.
 */
export function formatHttpDate(epochMs: number): string {
  const d = new Date(epochMs);
  const year = d.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) throw new RangeError(`year ${year} cannot be written as an IMF-fixdate`);
  return `${DAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${year} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`;
}

export type LinkRelation = 'deprecation' | 'sunset' | 'successor-version';

/** One RFC 8288 link-value. The URI is a validated absolute URI (config format "uri"), so it needs no escaping. */
export function formatLink(uri: string, rel: LinkRelation, type?: string): string {
  return `<${uri}>; rel="${rel}"` + (type ? `; type="${type}"` : '');
}

export interface SignalInput {
  deprecatedAt?: number;
  sunsetAt?: number;
  deprecationUrl?: string;
  sunsetUrl?: string;
  successorUrl?: string;
}

export type SignalHeaders = Record<string, string | string[]>;

/** The headers a response for this version carries; empty when the version has nothing scheduled. */
export function signalHeaders(input: SignalInput): SignalHeaders {
  const headers: SignalHeaders = {};
  if (input.deprecatedAt === undefined && input.sunsetAt === undefined) return headers;
  const links: string[] = [];
  if (input.deprecatedAt !== undefined) headers.Deprecation = formatDeprecation(input.deprecatedAt);
  if (input.sunsetAt !== undefined) headers.Sunset = formatHttpDate(input.sunsetAt);
  if (input.deprecationUrl && input.deprecatedAt !== undefined) links.push(formatLink(input.deprecationUrl, 'deprecation', 'text/html'));
  if (input.sunsetUrl && input.sunsetAt !== undefined) links.push(formatLink(input.sunsetUrl, 'sunset', 'text/html'));
  if (input.successorUrl) links.push(formatLink(input.successorUrl, 'successor-version'));
  if (links.length) headers.Link = links;
  return headers;
}
