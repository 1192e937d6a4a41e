/**
 * Kong's error bodies (3.9.3): the content negotiation and templates of kong/tools/http.lua (get_response_type,
 * get_mime_type, get_error_template), the default messages of kong.response.error (kong/pdk/response.lua,
 * get_http_error_message) and those of the error page handler (kong/error_handlers.lua, get_body).
 */

const JSON_TYPE = 'application/json; charset=utf-8';

/** MIME_TYPES: what a media range of Accept (or a caller's Content-Type) selects. */
const MIME_TYPES: Record<string, string> = {
  'application/grpc': '',
  'text/html': 'text/html; charset=utf-8',
  'application/json': JSON_TYPE,
  'text/plain': 'text/plain; charset=utf-8',
  'application/xml': 'application/xml; charset=utf-8',
  application: JSON_TYPE,
  text: 'text/plain; charset=utf-8',
};

/** The templates' output shapes; Kong substitutes message and request id unescaped (string.format %s). */
const TEMPLATES: Record<string, (message: string, requestId: string) => string> = {
  'application/json': (m, id) => `{\n  "message":"${m}",\n  "request_id":"${id}"\n}`,
  'text/html': (m, id) =>
    `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n` +
    `    <h1>Error</h1>\n    <p>${m}.</p>\n    <p>request_id: ${id}</p>\n  </body>\n</html>\n`,
  'application/xml': (m, id) => `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${m}</message>\n  <requestid>${id}</requestid>\n</error>\n`,
  'text/plain': (m, id) => `${m}\nrequest_id: ${id}\n`,
  'application/grpc': () => '',
};

const TOKEN = '[a-z0-9][a-z0-9\\-!#$&^_+.]+';
const MEDIA_RANGE = new RegExp(`^((?:${TOKEN}|\\*)\\/(?:${TOKEN}|\\*))`, 'i');
const Q_PARAM = /\s*;\s*q=(1(?:\.0{0,3})?|0(?:\.\d{0,3})?)/iy;
const OTHER_PARAM = new RegExp(`\\s*;\\s*${TOKEN}(?:=[^;]*)?`, 'iy');

/**
 * get_response_type: the first media range with the strictly highest q wins; a range Kong has no type for still
 * counts (it selects the JSON default); unparsable entries are skipped; no Accept at all means JSON.
 */
export function responseType(accept: string | string[] | undefined): string {
  let type = JSON_TYPE;
  if (accept === undefined) return type;
  const header = Array.isArray(accept) ? accept.join(',') : accept;
  let best = 0;
  for (const entry of header.split(',')) {
    const value = entry.trim();
    const range = MEDIA_RANGE.exec(value);
    if (!range) continue;
    const q = qValue(value, range[0].length);
    if (q > best) {
      best = q;
      type = mimeType(range[1]);
    }
  }
  return type;
}

/** Parameters are read as Kong's regex does: the last q=... that parses counts, q=2 or q=abc reads as 1. */
function qValue(value: string, from: number): number {
  let at = from;
  let q: string | undefined;
  for (;;) {
    Q_PARAM.lastIndex = at;
    const qMatch = Q_PARAM.exec(value);
    if (qMatch) {
      q = qMatch[1];
      at = Q_PARAM.lastIndex;
      continue;
    }
    OTHER_PARAM.lastIndex = at;
    if (!OTHER_PARAM.exec(value)) break;
    at = OTHER_PARAM.lastIndex;
  }
  return q === undefined ? 1 : Number(q);
}

/** get_mime_type with the default on: `*\/*` and unknown types give JSON, `text/*` plain text. */
function mimeType(range: string): string {
  const [major, minor] = range.trim().split(';')[0].split('/');
  if (minor === '*') return major === '*' ? JSON_TYPE : (MIME_TYPES[major] ?? JSON_TYPE);
  return MIME_TYPES[`${major}/${minor}`] ?? JSON_TYPE;
}

/** get_error_template: by bare or charset-qualified type; any other type has none (Kong then fails formatting). */
export function errorTemplate(contentType: string): ((message: string, requestId: string) => string) | undefined {
  for (const [bare, template] of Object.entries(TEMPLATES)) {
    if (contentType === bare || contentType === MIME_TYPES[bare]) return template;
  }
  return undefined;
}

const PDK_MESSAGES: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 402: 'Payment required', 403: 'Forbidden', 404: 'Not found',
  405: 'Method not allowed', 406: 'Not acceptable', 407: 'Proxy authentication required', 408: 'Request timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length required', 412: 'Precondition failed', 413: 'Payload too large',
  414: 'URI too long', 415: 'Unsupported media type', 416: 'Range not satisfiable', 417: 'Expectation failed',
  418: "I'm a teapot", 421: 'Misdirected request', 422: 'Unprocessable entity', 423: 'Locked',
  424: 'Failed dependency', 425: 'Too early', 426: 'Upgrade required', 428: 'Precondition required',
  429: 'Too many requests', 431: 'Request header fields too large', 451: 'Unavailable for legal reasons',
  494: 'Request header or cookie too large', 500: 'An unexpected error occurred', 501: 'Not implemented',
  502: 'An invalid response was received from the upstream server', 503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out', 505: 'HTTP version not supported', 506: 'Variant also negotiates',
  507: 'Insufficient storage', 508: 'Loop detected', 510: 'Not extended', 511: 'Network authentication required',
};

/** kong.response.error's message when the caller gives none. */
export function pdkErrorMessage(status: number): string {
  return PDK_MESSAGES[status] ?? `The upstream server responded with ${status}`;
}

const ERROR_PAGE_MESSAGES: Record<number, string> = {
  400: 'Bad request', 404: 'Not found', 405: 'Method not allowed', 408: 'Request timeout', 411: 'Length required',
  412: 'Precondition failed', 413: 'Payload too large', 414: 'URI too long', 417: 'Expectation failed',
  494: 'Request header or cookie too large', 500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server', 503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
};

/** The error page's message (kong/error_handlers.lua): a shorter table than the PDK's. */
export function errorPageMessage(status: number): string {
  return ERROR_PAGE_MESSAGES[status] ?? `The upstream server responded with ${status}`;
}
