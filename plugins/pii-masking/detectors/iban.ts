import { eachMatch, Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * IBANs: a country code with its registered length (ISO 13616 registry) and a mod-97 checksum of 1. Printed form
 * with a space every 4 chars or electronic form without. Linear: fixed-width groups, bounded repetition.
 */
const CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;

export const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19,
  SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 7064 mod 97-10 of the rearranged IBAN (country and check digits moved to the end, letters as 10..35). */
export function ibanMod97(compact: string): number {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + (c - 48)) % 97;
    else remainder = (remainder * 100 + (c - 55)) % 97;
  }
  return remainder;
}

export function isIban(candidate: string): boolean {
  const compact = candidate.replace(/ /g, '');
  const length = IBAN_LENGTHS[compact.slice(0, 2)];
  return length !== undefined && compact.length === length && ibanMod97(compact) === 1;
}

/** Check digits making `country + '00' + bban` a valid IBAN. */
export function ibanCheckDigits(country: string, bban: string): string {
  const value = 98 - ibanMod97(country + '00' + bban);
  return value < 10 ? '0' + value : String(value);
}

export const ibanDetector: Detector = {
  type: 'iban',
  scan(input: ScanInput, out: Match[]): void {
    if (input.numeric || input.digits < 2 || input.text.length < 15 || !(input.features & Feature.UpperPair)) return;
    eachMatch(CANDIDATE, input.text, (m) => {
      if (isIban(m[0])) out.push({ start: m.index, end: m.index + m[0].length, type: 'iban' });
    });
  },
};
