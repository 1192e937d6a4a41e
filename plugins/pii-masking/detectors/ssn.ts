import { eachMatch, type Detector, type Match, type ScanInput } from './types';

/**
 * US Social Security numbers. `123-45-6789` or `123.45.6789` (one consistent separator) is accepted anywhere except
 * under an id / part / model key or after a part-number word (`Part 123-45-6789`, `SKU`, `model`); bare
 * (`123456789`) or space-separated digits only under an SSN key (`ssn`, `social_security_number`) or after an SSN
 * context word in the preceding 32 chars of text. Never-issued numbers are excluded: area 000, 666 or 900-999,
 * group 00, serial 0000, and the well-known advertising numbers. Linear: fixed-width pattern.
 */
const CANDIDATE = /(?<![0-9A-Za-z_\-.])(\d{3})([-. ]?)(\d{2})\2(\d{4})(?![0-9A-Za-z_]|[-.]\d)/g;
const CONTEXT_WORDS = /ssn|social security|soc\. sec/;
/** Words that make an SSN-shaped number a part, model or catalogue number (in the 24 chars before it). */
const PART_WORDS = /\b(?:part|p\/n|pn|sku|model|item|cat(?:alog(?:ue)?)?|mpn|ref|serial|s\/n|order|invoice|ticket|case)\b[^0-9]{0,12}$/;
const ADVERTISING = new Set(['078051120', '219099999', '457555462']);

export function validSsnParts(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  return !ADVERTISING.has(area + group + serial);
}

function partContext(text: string, start: number): boolean {
  return PART_WORDS.test(text.slice(Math.max(0, start - 24), start).toLowerCase());
}

function textContext(text: string, start: number): boolean {
  const window = text.slice(Math.max(0, start - 32), start).toLowerCase();
  return CONTEXT_WORDS.test(window);
}

export const ssnDetector: Detector = {
  type: 'ssn',
  scan(input: ScanInput, out: Match[]): void {
    if (input.chain < 9) return;
    // an id, part or model number key: never an SSN, whatever its shape
    if (input.key?.idLike && !input.key.ssn) return;
    eachMatch(CANDIDATE, input.text, (m) => {
      const separated = m[2] === '-' || m[2] === '.';
      const context = input.key?.ssn || textContext(input.text, m.index);
      if (!separated && !context) return;
      if (!context && partContext(input.text, m.index)) return;
      if (validSsnParts(m[1], m[3], m[4])) out.push({ start: m.index, end: m.index + m[0].length, type: 'ssn' });
    });
  },
};
