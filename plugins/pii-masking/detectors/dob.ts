import { eachMatch, Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * Dates of birth, recognised by context only (a date alone is not personal data): the value of a birth-date key
 * (`dob`, `date_of_birth`, `birthDate`, `birthday`), or a date in text within 32 chars after a context word
 * ("born", "birth", "DOB"). The date must be real (month 1-12, day within the month) with a year from 1880 to this
 * year. Formats: 1980-05-17, 17/05/1980, 05/17/1980, 17.05.1980, 19800517 (under a key), 17 May 1980, May 17, 1980.
 * Linear: fixed-width or bounded patterns.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DATE =
  /(?<![\w/.-])(?:(\d{4})-(\d{2})-(\d{2})|(\d{1,2})([./-])(\d{1,2})\5(\d{4})|(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})|([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4}))(?![\w/]|[.-]\d)/g;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
const CONTEXT = /born|birth|dob/i;

function monthNumber(name: string): number {
  const index = MONTHS.indexOf(name.slice(0, 3).toLowerCase());
  return index < 0 ? 0 : index + 1;
}

export function realDate(year: number, month: number, day: number): boolean {
  if (year < 1880 || year > new Date().getUTCFullYear()) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dateOf(m: RegExpExecArray): boolean {
  if (m[1]) return realDate(+m[1], +m[2], +m[3]);
  if (m[4]) {
    const a = +m[4];
    const b = +m[6];
    const year = +m[7];
    return realDate(year, b, a) || realDate(year, a, b); // day-first or month-first
  }
  if (m[8]) return realDate(+m[10], monthNumber(m[9]), +m[8]);
  return realDate(+m[13], monthNumber(m[11]), +m[12]);
}

export const dobDetector: Detector = {
  type: 'dob',
  scan(input: ScanInput, out: Match[]): void {
    const text = input.text;
    if (input.digits < 4) return;
    if (input.key?.dob) {
      const compact = COMPACT.exec(text);
      if (compact && realDate(+compact[1], +compact[2], +compact[3])) {
        out.push({ start: 0, end: text.length, type: 'dob' });
        return;
      }
      eachMatch(DATE, text, (m) => {
        if (dateOf(m)) out.push({ start: m.index, end: m.index + m[0].length, type: 'dob' });
      });
      return;
    }
    if (input.numeric || !(input.features & Feature.LetterB) || !CONTEXT.test(text)) return;
    eachMatch(DATE, text, (m) => {
      if (!dateOf(m)) return;
      const window = text.slice(Math.max(0, m.index - 32), m.index);
      if (CONTEXT.test(window)) out.push({ start: m.index, end: m.index + m[0].length, type: 'dob' });
    });
  },
};
