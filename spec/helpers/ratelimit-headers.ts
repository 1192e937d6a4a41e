import { parseList } from 'structured-headers';

/**
 * Independent parse of draft-ietf-httpapi-ratelimit-headers-11 fields with structured-headers (RFC 9651):
 * `RateLimit-Policy: "burst";q=100;w=60` and `RateLimit: "burst";r=50;t=30` are Lists of sf-string Items.
 */
export type ParsedPolicy = Record<string, Record<string, number | string>>;

export function parseRateLimitList(value: string): ParsedPolicy {
  const out: ParsedPolicy = {};
  for (const member of parseList(value)) {
    const [bare, params] = member as [unknown, Map<string, unknown>];
    if (Array.isArray(bare)) throw new Error(`inner list in ${value}`);
    if (typeof bare !== 'string') throw new Error(`policy name must be an sf-string in ${value}`);
    const entry: Record<string, number | string> = {};
    for (const [k, v] of params) entry[k] = typeof v === 'number' ? v : String(v);
    out[bare] = entry;
  }
  return out;
}
