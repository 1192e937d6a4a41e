import { isValidPhoneNumber } from './phone-validator';
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
const NATIONAL = /(?<![\w+])(?:\+|\(?)\d(?:[ ./-]?\(?\d\)?){5,16}(?![\w])/g;

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

export function validPhone(candidate: string, regionCode: string): boolean {
  const key = regionCode + candidate;
  const cached = verdicts.get(key);
  if (cached !== undefined) return cached;
  const digits = digitsOf(candidate);
  const valid = digits.length >= 7 && digits.length <= 15 && isValidPhoneNumber(candidate, regionCode);
  if (verdicts.size >= CACHE_LIMIT) verdicts.clear();
  verdicts.set(key, valid);
  return valid;
}

export function phoneDetector(regionCode: string): Detector {
  return {
    type: 'phone',
    scan(input: ScanInput, out: Match[]): void {
      const text = input.text;
      if (input.digits < 7) return;
      if (input.key?.phone) {
        eachMatch(NATIONAL, text, (m) => {
          if (validPhone(m[0], regionCode)) out.push({ start: m.index, end: m.index + m[0].length, type: 'phone' });
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
      if (input.features & Feature.Paren) {
        eachMatch(PARENTHESISED, text, (m) => {
          if (validPhone(m[0], regionCode)) out.push({ start: m.index, end: m.index + m[0].length, type: 'phone' });
        });
      }
    },
  };
}
