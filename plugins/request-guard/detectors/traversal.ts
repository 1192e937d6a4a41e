/**
 * Path traversal: a run of two or more dots next to a path separator ("../", "..\", "/.."), after the decoders
 * (percent, double percent, %uXXXX, overlong UTF-8) and the look-alikes servers have mapped to '.', '/' and '\'
 * (fullwidth ．／＼, ∕ ⁄, literal 0x2e/0x2f/0x5c); plus NUL bytes, which truncate file names. Linear. Pure.
 */
const DOT_LIKE = new Set(['.', '\uff0e', '\u2024', '\ufe52']);
const SLASH_LIKE = new Set(['/', '\\', '\uff0f', '\uff3c', '\u2215', '\u2216', '\u2044', '\uefc8', '\uf025']);

function needsNormalizing(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f || c === 92 || ((c === 120 || c === 88) && s.charCodeAt(i - 1) === 48)) return true;
  }
  return false;
}

function normalize(s: string): string {
  if (!needsNormalizing(s)) return s;
  let out = '';
  let run = 0; // start of the characters copied unchanged (sliced in one piece, not appended one by one)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && c !== 48 && c !== 92) continue;
    const ch = s[i];
    let mapped: string | undefined;
    let skip = 0;
    if (ch === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
      const code = s.slice(i + 2, i + 4).toLowerCase();
      if (code === '2e') [mapped, skip] = ['.', 3];
      else if (code === '2f' || code === '5c') [mapped, skip] = ['/', 3];
    }
    if (mapped === undefined && DOT_LIKE.has(ch)) mapped = '.';
    else if (mapped === undefined && SLASH_LIKE.has(ch)) mapped = '/';
    if (mapped === undefined) continue;
    out += s.slice(run, i) + mapped;
    i += skip;
    run = i + 1;
  }
  return out + s.slice(run);
}

/** Files only an attacker asks a web application for (CRS 930120's idea, a short list). */
export const SENSITIVE = ['etc/passwd', 'etc/shadow', 'etc/hosts', 'boot.ini', 'win.ini', 'system32/', '.htaccess', '.htpasswd', 'global.asa', 'web.config', 'proc/self/', 'wwwroot/'];

export function detectTraversal(value: string): boolean {
  if (value.indexOf('\u0000') >= 0) return true;
  const s = normalize(value);
  const lower = s.toLowerCase();
  for (const target of SENSITIVE) if (lower.includes(target)) return true;
  let at = s.indexOf('..');
  while (at >= 0) {
    let end = at;
    while (s[end] === '.') end++;
    const before = at === 0 ? '' : s[at - 1];
    const after = s[end] ?? '';
    // "../" or "..\" anywhere, "/.." at the end or before a separator; a bare ".." value is a parent reference too
    if (after === '/' || (before === '/' && (after === '' || after === '/' || after === ';' || after === '?' || after === '%')) || (at === 0 && end === s.length && end - at === 2)) return true;
    at = s.indexOf('..', end);
  }
  return false;
}
