import net from 'node:net';
import { eachMatch, Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * IP addresses. IPv4: four octets 0-255 with no digit or dot run continuing on either side (so OIDs and 4-part
 * versions inside longer dotted runs are not addresses; `v1.2.3.4` and values under a `version` key are skipped).
 * IPv6: a bounded run of hex digits and colons (with an optional dotted IPv4 tail) that node's net.isIPv6 accepts,
 * not glued to a word (`std::vector`, MAC addresses and `12:30:45` fail). Linear: bounded classes and repetitions.
 */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])(?:${OCTET}\\.){3}${OCTET}(?![\\w]|\\.\\d|-[A-Za-z]|\\+[0-9A-Za-z])`, 'g');
/** A version word right before a dotted quad (`version 1.2.3.4`, `build: 10.0.0.1`, `firmware v2`): a version, not an address. */
const VERSION_BEFORE = /(?:version|build|release|firmware|revision|assembly|(?:^|[^a-z])(?:v|ver|fw|sw|rev))[\s:=#"']{0,3}$/i;

export const ipv4Detector: Detector = {
  type: 'ipv4',
  scan(input: ScanInput, out: Match[]): void {
    if (input.numeric || input.digits < 4 || input.dots < 3 || input.key?.version) return;
    eachMatch(IPV4, input.text, (m) => {
      if (VERSION_BEFORE.test(input.text.slice(Math.max(0, m.index - 12), m.index))) return;
      out.push({ start: m.index, end: m.index + m[0].length, type: 'ipv4' });
    });
  },
};

function colonCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 58) n++;
  return n;
}

function isHexOrColon(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isWordOrDot(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 58;
}

/**
 * IPv6 candidates found from each ':' (indexOf), expanded over hex digits and colons (bounded: 39 chars left, 45
 * right with a dotted IPv4 tail), so the work is proportional to the number of colons, each a bounded window.
 */
export const ipv6Detector: Detector = {
  type: 'ipv6',
  scan(input: ScanInput, out: Match[]): void {
    const text = input.text;
    if (input.numeric || !(input.features & Feature.Colon)) return;
    let colon = text.indexOf(':');
    let covered = -1;
    while (colon >= 0) {
      if (colon > covered) {
        let start = colon;
        while (start > 0 && colon - start < 39 && isHexOrColon(text.charCodeAt(start - 1))) start--;
        let end = colon + 1;
        const max = Math.min(text.length, start + 46);
        while (end < max && (isHexOrColon(text.charCodeAt(end)) || text.charCodeAt(end) === 46)) end++;
        while (end > colon + 1 && text.charCodeAt(end - 1) === 46) end--; // a sentence's full stop
        covered = end;
        const before = start > 0 ? text.charCodeAt(start - 1) : 32;
        const after = end < text.length ? text.charCodeAt(end) : 32;
        if (!isWordOrDot(before) && (after === 46 || !isWordOrDot(after)) && !(after === 46 && end + 1 < text.length && text.charCodeAt(end + 1) >= 48 && text.charCodeAt(end + 1) <= 57)) {
          const candidate = text.slice(start, end);
          if (colonCount(candidate) >= 2 && /[0-9A-Fa-f]/.test(candidate) && net.isIPv6(candidate)) out.push({ start, end, type: 'ipv6' });
        }
      }
      colon = text.indexOf(':', colon + 1);
    }
  },
};
