import { isValidPhoneNumber } from '../../../plugins/pii-masking/detectors/phone-validator';

/**
 * The metadata-driven validator must agree with libphonenumber's own `parse` + `isValidNumber` (google-libphonenumber,
 * the same metadata): example numbers of every region and number type in E.164, international and national format,
 * read with their own region and with others as the default, one digit changed, one added and one dropped, and random
 * digit strings with and without '+', an international prefix or a national prefix.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require('google-libphonenumber');
const util = lib.PhoneNumberUtil.getInstance();

function reference(candidate: string, region: string): boolean {
  try {
    return util.isValidNumber(util.parse(candidate, region));
  } catch {
    return false;
  }
}

function candidates(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const formats = [lib.PhoneNumberFormat.E164, lib.PhoneNumberFormat.INTERNATIONAL, lib.PhoneNumberFormat.NATIONAL];
  for (const region of util.getSupportedRegions() as string[]) {
    for (const type of Object.values(lib.PhoneNumberType) as number[]) {
      const example = util.getExampleNumberForType(region, type);
      if (!example) continue;
      for (const format of formats) {
        const text: string = util.format(example, format);
        out.push([text, region], [text, 'US'], [text, 'GB']);
        out.push([text.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10)), region], [text + '7', region], [text.slice(0, -1), region]);
      }
    }
  }
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const regions = ['US', 'GB', 'DE', 'FR', 'IN', 'CA', 'IT', 'BR'];
  for (let i = 0; i < 4000; i++) {
    let digits = '';
    const length = 7 + Math.floor(random() * 9);
    for (let k = 0; k < length; k++) digits += Math.floor(random() * 10);
    const region = regions[i % regions.length];
    out.push([(i % 2 ? '+' : '') + digits, region], [`${i % 2 ? '+' : ''}${digits.slice(0, 3)} ${digits.slice(3, 6)}-${digits.slice(6)}`, region]);
    if (i % 4 === 0) out.push(['011' + digits, 'US'], ['00' + digits, 'GB'], ['1' + digits.slice(0, 10), 'US'], ['0' + digits, 'DE'], ['+00' + digits, 'GB']);
  }
  return out;
}

describe('phone validator (libphonenumber metadata, compiled once)', () => {
  it('agrees with libphonenumber parse + isValidNumber', () => {
    const all = candidates();
    const disagreements = all.filter(([text, region]) => isValidPhoneNumber(text, region) !== reference(text, region));
    const valid = all.filter(([text, region]) => reference(text, region)).length;
    expect(all.length).toBeGreaterThan(30_000);
    expect(valid).toBeGreaterThan(10_000); // both outcomes are well represented
    expect(disagreements.slice(0, 10)).toEqual([]);
  });

  it('validates international and national forms', () => {
    expect(isValidPhoneNumber('+44 20 7946 0958', 'US')).toBe(true);
    expect(isValidPhoneNumber('+1 (415) 555-2671', 'US')).toBe(true);
    expect(isValidPhoneNumber('(415) 555-2671', 'US')).toBe(true);
    expect(isValidPhoneNumber('020 7946 0958', 'GB')).toBe(true);
    expect(isValidPhoneNumber('011 44 20 7946 0958', 'US')).toBe(true);
    expect(isValidPhoneNumber('+44 20 7946 095', 'US')).toBe(false);
    expect(isValidPhoneNumber('2024-01-15', 'US')).toBe(false);
    expect(isValidPhoneNumber('+999 123 4567', 'US')).toBe(false);
  });
});
