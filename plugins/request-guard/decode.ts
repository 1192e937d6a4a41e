/**
 * The decoded forms of a client value that detectors look at: the value itself, then up to `passes` rounds of
 * percent-decoding (%XX, IIS %uXXXX, the overlong UTF-8 forms of '.', '/' and '\' such as %c0%ae) and HTML
 * character references (&lt; &#39; &#x3c;). Each round is one linear pass; a round that changes nothing stops the
 * loop. Hand-written: no regular expression touches client input here. Pure.
 */
export function decodedForms(value: string, passes: number): string[] {
  const forms = [value];
  let current = value;
  for (let i = 0; i < passes; i++) {
    if (current.indexOf('%') < 0 && current.indexOf('&') < 0) break;
    const next = decodeEntities(percentDecode(current));
    if (next === current) break;
    forms.push(next);
    current = next;
  }
  return forms;
}

function hex(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

function byteAt(s: string, i: number): number {
  if (s.charCodeAt(i) !== 37 || i + 2 >= s.length) return -1;
  const hi = hex(s.charCodeAt(i + 1));
  const lo = hex(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Overlong/invalid UTF-8 that old servers decode to '.', '/' or '\': %c0%ae, %c0%2e, %e0%80%ae, %c0%af, %c1%9c, ... */
function overlong(s: string, i: number): [string, number] | undefined {
  const b0 = byteAt(s, i);
  if (b0 === 0xc0 || b0 === 0xc1) {
    const b1 = byteAt(s, i + 3);
    if (b1 < 0) return undefined;
    const low = b1 & 0x3f;
    const char = b0 === 0xc0 ? (low === 0x2e ? '.' : low === 0x2f ? '/' : low === 0x1c ? '\\' : undefined) : low === 0x1c ? '\\' : low === 0x2f ? '/' : low === 0x2e ? '.' : undefined;
    return char ? [char, 6] : undefined;
  }
  if (b0 === 0xe0 && byteAt(s, i + 3) === 0x80) {
    const b2 = byteAt(s, i + 6);
    const char = b2 === 0xae ? '.' : b2 === 0xaf ? '/' : b2 === 0x9c ? '\\' : undefined;
    return char ? [char, 9] : undefined;
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Tolerant percent-decoding: invalid escapes stay as they are; bytes are decoded as UTF-8 (bad ones become U+FFFD). */
export function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) {
      out += utf8.decode(Uint8Array.from(bytes));
      bytes = [];
    }
  };
  for (let i = 0; i < s.length; ) {
    if (s.charCodeAt(i) === 37) {
      const long = overlong(s, i);
      if (long) {
        flush();
        out += long[0];
        i += long[1];
        continue;
      }
      const b = byteAt(s, i);
      if (b >= 0) {
        bytes.push(b);
        i += 3;
        continue;
      }
      if ((s.charCodeAt(i + 1) | 32) === 117 && i + 5 < s.length) {
        const h = [2, 3, 4, 5].map((k) => hex(s.charCodeAt(i + k)));
        if (h.every((d) => d >= 0)) {
          flush();
          out += String.fromCharCode(h[0] * 4096 + h[1] * 256 + h[2] * 16 + h[3]);
          i += 6;
          continue;
        }
      }
    }
    flush();
    // copy up to the next '%' in one piece (a '%' that starts no escape stays as it is)
    let next = s.indexOf('%', i + 1);
    if (next < 0) next = s.length;
    out += s.slice(i, next);
    i = next;
  }
  flush();
  return out;
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&', colon: ':', sol: '/', bsol: '\\', tab: '\t', newline: '\n', lpar: '(', rpar: ')', semi: ';', nbsp: ' ', period: '.' };

/** HTML character references, named (a short list) and numeric; unknown ones stay. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== 38) {
      // copy up to the next '&' in one piece
      let next = s.indexOf('&', i);
      if (next < 0) next = s.length;
      out += s.slice(i, next);
      i = next - 1;
      continue;
    }
    let j = i + 1;
    let code = -1;
    if (s[j] === '#') {
      j++;
      const isHex = (s.charCodeAt(j) | 32) === 120;
      if (isHex) j++;
      let value = 0;
      const start = j;
      while (j < s.length && j - start < 8) {
        const d = isHex ? hex(s.charCodeAt(j)) : s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57 ? s.charCodeAt(j) - 48 : -1;
        if (d < 0) break;
        value = value * (isHex ? 16 : 10) + d;
        j++;
      }
      if (j > start && value <= 0x10ffff) code = value;
    } else {
      const start = j;
      while (j < s.length && j - start < 8 && isLetter(s.charCodeAt(j))) j++;
      const name = s.slice(start, j).toLowerCase();
      if (NAMED[name] !== undefined) {
        out += NAMED[name];
        i = s[j] === ';' ? j : j - 1;
        continue;
      }
    }
    if (code >= 0) {
      out += String.fromCodePoint(code);
      i = s[j] === ';' ? j : j - 1;
      continue;
    }
    out += '&';
  }
  return out;
}

function isLetter(code: number): boolean {
  const lower = code | 32;
  return lower >= 97 && lower <= 122;
}
