/**
 * Kong's URI handling (kong/tools/uri.lua at 3.9.3): `normalize` is what kong.request.get_path returns and what the
 * router matches on (kong/router/utils.lua strip_uri_args); `escape` is applied to the upstream path
 * (runloop/handler.lua and kong.service.request.set_path). Both work on bytes: a Lua string is a byte string, so
 * a decoded %C3%A9 is two bytes that only read as UTF-8 together.
 */

/** RFC 3986 reserved characters: normalize leaves their %XX encoded (upper-cased), decodes every other %XX. */
const RESERVED = new Set([...'!*\'();:@&=+$,/?%#[]'].map((c) => c.charCodeAt(0)));

/** The bytes escape keeps as they are (ESCAPE_PATTERN's set, matched case-insensitively, so a-z too). */
const ESCAPE_KEEPS = /[!#$&'()*+,/:;=?@[\]A-Za-z0-9\-_.~%]/;

export function normalizeUri(uri: string, mergeSlashes: boolean): string {
  if (uri === '' || uri === '/') return uri;
  let bytes = Buffer.from(uri, 'utf8').toString('latin1');
  if (bytes.includes('%')) {
    bytes = bytes.replace(/%([0-9a-f]{2})/gi, (triplet, hex: string) => {
      const code = parseInt(hex, 16);
      return RESERVED.has(code) ? triplet.toUpperCase() : String.fromCharCode(code);
    });
  }
  if (!bytes.includes('.') && (!mergeSlashes || !bytes.includes('//'))) return fromBytes(bytes);
  return fromBytes(removeDotSegments(bytes, mergeSlashes));
}

/** RFC 3986 5.2.4 as Kong's loop does it, plus merging `//` into `/`. */
function removeDotSegments(input: string, mergeSlashes: boolean): string {
  const output: string[] = [];
  let uri = input;
  while (uri.length > 0) {
    if (uri === '/.') uri = '/';
    else if (uri === '/..') {
      uri = '/';
      output.pop();
    } else if (uri === '.' || uri === '..') uri = '';
    else if (uri.startsWith('../')) uri = uri.slice(3);
    else if (uri.startsWith('./')) uri = uri.slice(2);
    else if (uri.startsWith('/./')) uri = uri.slice(2);
    else if (uri.startsWith('/../')) {
      uri = uri.slice(3);
      output.pop();
    } else if (mergeSlashes && uri.startsWith('//')) uri = uri.slice(1);
    else {
      const next = uri.indexOf('/', 1);
      output.push(next < 0 ? uri : uri.slice(0, next));
      uri = next < 0 ? '' : uri.slice(next);
    }
  }
  return output.join('');
}

/** Percent-escapes every byte outside the set Kong keeps (spaces, controls, non-ASCII bytes, `"`, `<`...). */
export function escapeUri(uri: string): string {
  const bytes = Buffer.from(uri, 'utf8').toString('latin1');
  let out = '';
  for (const c of bytes) out += ESCAPE_KEEPS.test(c) ? c : '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
  return out;
}

function fromBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
