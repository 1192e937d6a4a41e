import type { HeaderMultimap } from '../../shared/pdk';
import type { KeyContexts } from './detectors/key-context';
import { applyEdits, type MaskReport, type ValueMasker } from './value-masker';

/**
 * Response headers the client receives are masked like bodies: every value is scanned with its header name as key
 * context (`X-User-Email`, `Location: /users/alice@example.com`, `Link: <mailto:...>`), percent-decoded first when it
 * has a '%' (`alice%40example.com`). Structural headers are not scanned, and Set-Cookie is left to the log masking
 * (a client needs its session cookie). A value of a `block` type blocks the response (the report says so).
 */
const UNSCANNED = new Set([
  'content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'connection', 'date', 'server', 'via', 'vary',
  'etag', 'last-modified', 'expires', 'cache-control', 'pragma', 'age', 'accept-ranges', 'content-range', 'keep-alive',
  'set-cookie', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'referrer-policy',
  'content-security-policy', 'access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers',
  'access-control-expose-headers', 'access-control-max-age', 'access-control-allow-credentials', 'x-kong-upstream-latency',
  'x-kong-proxy-latency', 'x-kong-request-id', 'x-kong-response-latency', 'content-md5', 'content-digest', 'repr-digest', 'digest',
]);

export function maskResponseHeaders(headers: HeaderMultimap, values: ValueMasker, keys: KeyContexts, report: MaskReport): Record<string, string[]> {
  const changed: Record<string, string[]> = {};
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (UNSCANNED.has(lower) || lower.startsWith('ratelimit') || lower.startsWith('x-ratelimit')) continue;
    const list = headers[name];
    let any = false;
    const masked = list.map((value) => {
      const out = maskHeaderValue(value, keys.of(lower), values, report);
      if (out !== value) any = true;
      return out;
    });
    if (any) changed[lower] = masked;
  }
  return changed;
}

function maskHeaderValue(value: string, key: ReturnType<KeyContexts['of']>, values: ValueMasker, report: MaskReport): string {
  const edits = values.edits(value, key, false, report);
  let out = edits && edits.length ? applyEdits(value, edits) : value;
  if (out.indexOf('%') >= 0) {
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(out);
    } catch {
      decoded = undefined;
    }
    if (decoded !== undefined && decoded !== out) {
      const inner = values.edits(decoded, key, false, report);
      if (inner && inner.length) out = encodeURI(applyEdits(decoded, inner));
    }
  }
  return out;
}
