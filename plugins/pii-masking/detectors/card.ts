import { digitsOf, eachMatch, type Detector, type Match, type ScanInput } from './types';

/**
 * Payment card numbers: 12-19 digits, optionally grouped (space, '-', '.', a no-break space as U+00A0 or its UTF-8
 * bytes, or two spaces; separators may be mixed), inside a known issuer (IIN) range for that length, passing Luhn.
 * An ungrouped number may be glued to a word (`card_4111111111111111`, `pan4111...`). Linear: each repeated group
 * is a bounded separator then a digit (they never compete for a char), and the lookbehind admits starts only where
 * no digit, word char, '.', '+' or '-' precedes (so not inside a longer number, a float's fraction or a word).
 */
const SEP = '(?:\\xC2\\xA0|  |[ .\\xA0-])';
const CANDIDATE = new RegExp(`\\d\\d(?<![0-9A-Za-z_.+-]\\d\\d)(?:${SEP}?\\d){10,17}(?![0-9A-Za-z_]|[.,-]\\d)|(?<=[A-Za-z_])\\d{12,19}(?![0-9A-Za-z_]|[.,-]\\d)`, 'g');

const IBAN_HEAD = /[A-Z]{2}\d\d[ -]?$/;

interface Range {
  lo: number;
  hi: number;
  prefixLength: number;
  lengths: readonly number[];
}

const SIXTEEN_TO_19 = [16, 17, 18, 19];
const RANGES: Range[] = [
  { lo: 4, hi: 4, prefixLength: 1, lengths: [13, 16, 19] }, // Visa
  { lo: 51, hi: 55, prefixLength: 2, lengths: [16] }, // Mastercard
  { lo: 2221, hi: 2720, prefixLength: 4, lengths: [16] }, // Mastercard 2-series
  { lo: 34, hi: 34, prefixLength: 2, lengths: [15] }, // Amex
  { lo: 37, hi: 37, prefixLength: 2, lengths: [15] },
  { lo: 6011, hi: 6011, prefixLength: 4, lengths: SIXTEEN_TO_19 }, // Discover
  { lo: 644, hi: 649, prefixLength: 3, lengths: SIXTEEN_TO_19 },
  { lo: 65, hi: 65, prefixLength: 2, lengths: SIXTEEN_TO_19 },
  { lo: 300, hi: 305, prefixLength: 3, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { lo: 36, hi: 36, prefixLength: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { lo: 38, hi: 39, prefixLength: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { lo: 3528, hi: 3589, prefixLength: 4, lengths: SIXTEEN_TO_19 }, // JCB
  { lo: 62, hi: 62, prefixLength: 2, lengths: SIXTEEN_TO_19 }, // UnionPay
  { lo: 2200, hi: 2204, prefixLength: 4, lengths: [16, 17, 18, 19] }, // Mir
  { lo: 5018, hi: 5018, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] }, // Maestro
  { lo: 5020, hi: 5020, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 5038, hi: 5038, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 5893, hi: 5893, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 6304, hi: 6304, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 6759, hi: 6759, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 6761, hi: 6763, prefixLength: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
];

export function inIinRange(digits: string): boolean {
  for (const range of RANGES) {
    const prefix = Number(digits.slice(0, range.prefixLength));
    if (prefix >= range.lo && prefix <= range.hi && range.lengths.includes(digits.length)) return true;
  }
  return false;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The check digit that makes `body + digit` pass Luhn. */
export function luhnCheckDigit(body: string): number {
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return d;
  return 0;
}

/** Groups of 3-6 digits after a first group of 4 (4-4-4-4, 4-6-5, 4-4-4-4-3), whatever the separators between them. */
function groupingValid(candidate: string): boolean {
  let group = 0;
  let first = -1;
  let separated = false;
  for (let i = 0; i < candidate.length; i++) {
    const c = candidate.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (separated) {
        if (first === -1) first = group;
        else if (group < 3 || group > 6) return false;
        group = 0;
        separated = false;
      }
      group++;
      continue;
    }
    separated = true;
  }
  if (first === -1) return true;
  return first === 4 && group >= 1 && group <= 6;
}

/** Luhn first (it rejects 9 candidates in 10, cheaply), then grouping and issuer range. */
export function isCardNumber(candidate: string): boolean {
  const bare = /^\d+$/.test(candidate);
  const digits = bare ? candidate : digitsOf(candidate);
  return digits.length >= 12 && digits.length <= 19 && luhnValid(digits) && (bare || groupingValid(candidate)) && inIinRange(digits);
}

export const cardDetector: Detector = {
  type: 'card',
  scan(input: ScanInput, out: Match[]): void {
    // 12+ digits in one chain; a number leaf under an id key is an id (bare digits are never a card there)
    if (input.chain < 12 || (input.numeric && input.key?.idLike)) return;
    eachMatch(CANDIDATE, input.text, (m) => {
      if (input.key?.idLike && /^\d+$/.test(m[0])) return;
      // digit groups inside an IBAN-shaped run (`DE54 3538 8635 5412 3226 12`) belong to the account number
      if (m.index >= 4 && IBAN_HEAD.test(input.text.slice(Math.max(0, m.index - 5), m.index))) return;
      if (isCardNumber(m[0])) out.push({ start: m.index, end: m.index + m[0].length, type: 'card' });
    });
  },
};
