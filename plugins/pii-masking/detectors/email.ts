import { Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * Email addresses. A hand-written scanner anchored on each '@': the local part is read backwards (at most 64
 * chars), the domain forwards (at most 253 chars, stopping at the next '@'), so every char is visited a bounded
 * number of times whatever the input (1 MB of '@' and dots included). The domain must have at least two labels of
 * 1-63 chars, no empty label, no label starting or ending with '-', and an alphabetic TLD that is not a file
 * extension (`icon@2x.png`, `lodash@4.17.21` are not addresses).
 */
const FILE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'css', 'js', 'mjs', 'ts', 'json', 'html', 'htm', 'txt', 'pdf', 'mp3', 'mp4', 'zip', 'gz', 'tar', 'xml', 'yaml', 'yml', 'md', 'map']);

function isLocalChar(c: number): boolean {
  // A-Z a-z 0-9 . _ % + - and UTF-8 bytes (internationalized addresses, RFC 6531)
  return (c >= 128 && c <= 255) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

function isDomainChar(c: number): boolean {
  return (c >= 128 && c <= 255) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 45;
}

export const emailDetector: Detector = {
  type: 'email',
  scan(input: ScanInput, out: Match[]): void {
    if (!(input.features & Feature.At)) return;
    const text = input.text;
    let at = text.indexOf('@');
    while (at >= 0) {
      const next = text.indexOf('@', at + 1);
      const match = emailAround(text, at, next < 0 ? text.length : next);
      if (match) out.push(match);
      at = next;
    }
  },
};

function emailAround(text: string, at: number, limit: number): Match | undefined {
  let start = at;
  while (start > 0 && at - start < 64 && isLocalChar(text.charCodeAt(start - 1))) start--;
  if (start > 0 && isLocalChar(text.charCodeAt(start - 1))) return undefined; // local part longer than 64
  // a local part cannot hold '..' nor start with '.': the address is what follows them ("x..jane@a.com" shows jane@a.com)
  for (let i = at - 1; i > start; i--) {
    if (text.charCodeAt(i) === 46 && text.charCodeAt(i - 1) === 46) {
      start = i + 1;
      break;
    }
  }
  while (start < at && text.charCodeAt(start) === 46) start++;
  if (start === at || text.charCodeAt(at - 1) === 46) return undefined;
  let end = at + 1;
  const max = Math.min(limit, at + 254);
  while (end < max && isDomainChar(text.charCodeAt(end))) end++;
  if (end < limit && end === at + 254 && isDomainChar(text.charCodeAt(end))) return undefined;
  // a trailing dot or hyphen ends the sentence, not the domain
  while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
  if (end <= at + 1) return undefined;
  if (!validDomain(text, at + 1, end)) return undefined;
  // scp-style remotes (`git@github.com:org/repo.git`) are hosts, not addresses
  if (text.charCodeAt(end) === 58 && isRemotePath(text, end + 1)) return undefined;
  return { start, end, type: 'email' };
}

/** `org/repo.git` after the ':' of an scp-style remote: path chars holding a '/', read at most 256 chars. */
function isRemotePath(text: string, from: number): boolean {
  let slash = false;
  let i = from;
  for (const max = Math.min(text.length, from + 256); i < max && isPathChar(text.charCodeAt(i)); i++) if (text.charCodeAt(i) === 47) slash = true;
  return slash && i > from + 1;
}

function isPathChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 47 || c === 126 || c === 95 || c === 46 || c === 45;
}

function validDomain(text: string, start: number, end: number): boolean {
  let labelStart = start;
  let labels = 0;
  for (let i = start; i <= end; i++) {
    if (i < end && text.charCodeAt(i) !== 46) continue;
    const length = i - labelStart;
    if (length < 1 || length > 63) return false;
    if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return false;
    labels++;
    if (i === end) {
      const tld = text.slice(labelStart, i).toLowerCase();
      if (labels < 2 || FILE_EXTENSIONS.has(tld)) return false;
      if (tld.startsWith('xn--')) return tld.length >= 5;
      if (tld.length < 2 || tld.length > 24) return false;
      for (let k = 0; k < tld.length; k++) {
        const c = tld.charCodeAt(k);
        if (c < 97 || c > 122) return false;
      }
      return true;
    }
    labelStart = i + 1;
  }
  return false;
}
