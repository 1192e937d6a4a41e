import { ibanMod97 } from './iban';
import { luhnValid } from './card';
import { digitsOf, eachMatch, type Detector, type Match, type ScanInput } from './types';

export { unsafePatternReason } from '../../../shared/safety/regex-safety';

export type CustomValidator = 'none' | 'luhn' | 'mod97';

export interface CustomDetectorSpec {
  name: string;
  pattern: string;
  validator: CustomValidator;
  /** When non-empty, the detector runs only on values under these keys (normalized like KeyContext.key). */
  keys: string[];
  caseInsensitive: boolean;
}

export function customDetector(spec: CustomDetectorSpec): Detector {
  const regex = new RegExp(spec.pattern, spec.caseInsensitive ? 'gi' : 'g');
  const keys = new Set(spec.keys);
  const validate = (value: string): boolean => {
    if (spec.validator === 'luhn') {
      const digits = digitsOf(value);
      return digits.length >= 2 && luhnValid(digits);
    }
    if (spec.validator === 'mod97') return ibanMod97(value.replace(/ /g, '').toUpperCase()) === 1;
    return true;
  };
  return {
    type: spec.name,
    scan(input: ScanInput, out: Match[]): void {
      if (keys.size && (!input.key || !keys.has(input.key.key))) return;
      eachMatch(regex, input.text, (m) => {
        if (m[0].length && validate(m[0])) out.push({ start: m.index, end: m.index + m[0].length, type: spec.name });
      });
    },
  };
}
