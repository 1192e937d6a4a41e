import { isValidPhoneNumber, supportedRegions } from './phone-validator';
import { digitsOf, eachMatch, Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * Phone numbers, validated with Google's libphonenumber metadata (phone-validator.ts: a number must be valid for
 * its country's numbering plan, not merely number-shaped). In free text only international numbers (`+` and a
 * country code) and the parenthesised national form `(415) 555-2671` in the default region are candidates, so
 * dates, timestamps, versions and ids never reach the validator. Under a phone key (`phone`, `mobile`, `tel`,
 * `fax`) national numbers of the default region are accepted too. Linear: each repeated group is deterministic
 * (separator, '(', digit and ')' never compete for a char) and bounded.
 */
const INTERNATIONAL = /(?<![\w+])\+\d(?:[ \-.]?\(?\d\)?){6,16}(?![\w])/g;
const PARENTHESISED = /(?<![\w)])\(\d{3}\) ?\d{3}[-. ]\d{4}(?![\w]|[-.]\d)/g;
const NATIONAL = /(?<![\w+])(?:\+|\(?)\d(?:[ ./-]?\(?\d\)?){4,16}(?![\w])/g;
/** A number written with an international call prefix instead of '+' (`00 44 20 7946 0958`, `011 33 1 ...`). */
const IDD = /(?<![\w+])(?:00|011)[ .-]?[1-9](?:[ \-.]?\(?\d\)?){6,16}(?![\w])/g;
/** Phone words right before a number in text make a national number a candidate (`Tel. 030 1234567`). */
const TEXT_CONTEXT = /(?:phone|tel|mobile|mob|cell|fax|call|whatsapp|telefon|telefono|handy|portable|gsm)[.:]?\s{0,3}(?:\(?[a-z]{0,6}\)?[.:]?\s{0,2})?$/i;
const TEXT_WORDS = /phone|tel|mob|cell|fax|call|whatsapp|handy|portable|gsm/i;

/** Drops a trailing ')' that closes a parenthesis opened before the number (`(call +33 6 12 34 56 78)`). */
function balanced(candidate: string): string {
  if (candidate.endsWith(')') && candidate.split('(').length < candidate.split(')').length) return candidate.slice(0, -1);
  return candidate;
}

/**
 * Verdicts are cached per process (bounded: cleared at 10,000 entries), so a number repeated across records or
 * responses is validated once; a validation costs ~1 us (phone-validator.ts), the cache saves most of that.
 */
const verdicts = new Map<string, boolean>();
const CACHE_LIMIT = 10_000;

export function clearPhoneCache(): void {
  verdicts.clear();
}

/** The trunk prefix written in brackets after a country code (`+44 (0)20 ...`) is not dialled internationally. */
function withoutTrunk(candidate: string): string {
  return candidate.replace(/^(\+\d{1,3}[ .-]?)\(0\)[ .-]?/, '$1');
}

/**
 * Valid in the default region, else (a national number of another country under a phone key or after a phone word)
 * in any region. Trying every region costs ~250 us, so each scanned value gets at most ANY_REGION_BUDGET such
 * attempts (cached ones are free): a body of a million distinct `tel 0...` numbers stays linear in practice.
 */
const ANY_REGION_BUDGET = 32;
let anyRegionLeft = ANY_REGION_BUDGET;

export function validPhoneAnyRegion(candidate: string, regionCode: string): boolean {
  // under a phone key or after a phone word, short numbering plans (5-6 digits: Niue, Tokelau, ...) count too
  if (validPhone(candidate, regionCode, 5)) return true;
  if (candidate.startsWith('+')) return false;
  if (digitsOf(candidate).length > 17) return false;
  const key = '*' + candidate;
  const cached = verdicts.get(key);
  if (cached !== undefined) return cached;
  if (anyRegionLeft <= 0) return false;
  anyRegionLeft--;
  let valid = false;
  for (const region of supportedRegions()) if (region !== regionCode && (valid = isValidPhoneNumber(withoutTrunk(candidate), region))) break;
  if (verdicts.size >= CACHE_LIMIT) verdicts.clear();
  verdicts.set(key, valid);
  return valid;
}

export function validPhone(candidate: string, regionCode: string, minDigits = 7): boolean {
  const key = regionCode + minDigits + candidate;
  const cached = verdicts.get(key);
  if (cached !== undefined) return cached;
  const digits = digitsOf(candidate);
  const valid = digits.length >= minDigits && digits.length <= 17 && isValidPhoneNumber(withoutTrunk(candidate), regionCode);
  if (verdicts.size >= CACHE_LIMIT) verdicts.clear();
  verdicts.set(key, valid);
  return valid;
}

export function phoneDetector(regionCode: string): Detector {
  return {
    type: 'phone',
    scan(input: ScanInput, out: Match[]): void {
      const text = input.text;
      if (input.digits < 5) return;
      anyRegionLeft = ANY_REGION_BUDGET;
      if (input.key?.phone) {
        eachMatch(NATIONAL, text, (m) => {
          if (validPhoneAnyRegion(balanced(m[0]), regionCode)) out.push({ start: m.index, end: m.index + balanced(m[0]).length, type: 'phone' });
        });
        return;
      }
      if (input.numeric) return;
      if (input.features & Feature.Plus) {
        eachMatch(INTERNATIONAL, text, (m) => {
          const candidate = balanced(m[0]);
          if (validPhone(candidate, regionCode)) out.push({ start: m.index, end: m.index + candidate.length, type: 'phone' });
        });
      }
      if (text.indexOf('00') >= 0) {
        eachMatch(IDD, text, (m) => {
          const candidate = balanced(m[0]);
          const international = '+' + candidate.replace(/^(?:00|011)[ .-]?/, '');
          if (validPhone(international, regionCode)) out.push({ start: m.index, end: m.index + candidate.length, type: 'phone' });
        });
      }
      if (input.features & Feature.Paren) {
        eachMatch(PARENTHESISED, text, (m) => {
          if (validPhone(m[0], regionCode)) out.push({ start: m.index, end: m.index + m[0].length, type: 'phone' });
        });
      }
      if (TEXT_WORDS.test(text)) {
        eachMatch(NATIONAL, text, (m) => {
          if (m[0].startsWith('+') || !TEXT_CONTEXT.test(text.slice(Math.max(0, m.index - 24), m.index))) return;
          const candidate = balanced(m[0]);
          if (validPhoneAnyRegion(candidate, regionCode)) out.push({ start: m.index, end: m.index + candidate.length, type: 'phone' });
        });
      }
    },
  };
}
