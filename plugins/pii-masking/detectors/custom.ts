import { ibanMod97 } from './iban';
import { luhnValid } from './card';
import { OperatorPattern } from '../../../shared/safety/operator-pattern';
import { digitsOf, type Detector, type Match, type ScanInput } from './types';

/**
 * Longest custom match kept in one piece: the input is matched in windows of twice this (linear time whatever the
 * pattern, shared/safety/operator-pattern.ts); a longer run is masked in pieces.
 */
export const CUSTOM_MAX_MATCH = 64;

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
  const pattern = OperatorPattern.compile(spec.pattern, { caseInsensitive: spec.caseInsensitive });
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
      for (const m of pattern.matchAll(input.text, CUSTOM_MAX_MATCH)) {
        if (m.end > m.start && validate(m.text)) out.push({ start: m.start, end: m.end, type: spec.name });
      }
    },
  };
}
