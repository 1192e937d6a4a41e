import { ibanMod97 } from './iban';
import { luhnValid } from './card';
import { digitsOf, eachMatch, type Detector, type Match, type ScanInput } from './types';

export type CustomValidator = 'none' | 'luhn' | 'mod97';

export interface CustomDetectorSpec {
  name: string;
  pattern: string;
  validator: CustomValidator;
  /** When non-empty, the detector runs only on values under these keys (normalized like KeyContext.key). */
  keys: string[];
  caseInsensitive: boolean;
}

/**
 * Why a user pattern could take super-linear time, or undefined when it cannot: backreferences and lookarounds are
 * refused, and so is any quantified group that itself contains a quantifier (star height > 1: `(a+)+`, `(\d{2,}-)*`),
 * the shape of every catastrophic-backtracking pattern. A bare `?` on a group is allowed.
 */
export function unsafePatternReason(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences are not allowed';
  if (/\(\?<?[=!]/.test(pattern)) return 'lookarounds are not allowed';
  try {
    new RegExp(pattern);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  const stack: boolean[] = []; // per open group: does it contain a quantifier?
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === ')') {
      const hadQuantifier = stack.pop() ?? false;
      const next = pattern[i + 1];
      const repeated = next === '*' || next === '+' || (next === '{' && !/^\{(\d+)\}|^\{(0,)?1\}/.test(pattern.slice(i + 1)));
      if (hadQuantifier && repeated) return 'nested quantifiers (a repeated group containing a quantifier) are not allowed';
      if (stack.length && (hadQuantifier || repeated)) stack[stack.length - 1] = true;
    } else if (c === '*' || c === '+' || c === '{' || c === '?') {
      if (c === '?' && pattern[i - 1] === '(') continue;
      if (stack.length) stack[stack.length - 1] = true;
    }
  }
  return undefined;
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
