/**
 * What every detector shares. Texts are scanned as latin1 strings (one char per byte), so match offsets are byte
 * offsets into the body and splicing a replacement never disturbs the bytes around it.
 */
export interface Match {
  start: number;
  end: number;
  type: string;
}

/** What the JSON key (or XML element/attribute name) a value sits under says about it. */
export interface KeyContext {
  /** Normalized key: lower case, with `_`, `-`, `.` and spaces removed (`date_of_birth` -> `dateofbirth`). */
  readonly key: string;
  readonly ssn: boolean;
  readonly phone: boolean;
  readonly dob: boolean;
  /** An identifier key (`order_id`, `uuid`, `sku`): bare digit runs under it are ids, not cards or SSNs. */
  readonly idLike: boolean;
  /** A version key: dotted numbers under it are versions, not IPv4 addresses. */
  readonly version: boolean;
}

/** Cheap facts about a value, computed in one char loop, that let detectors skip it without running a regex. */
export const enum Feature {
  At = 1,
  Colon = 2,
  Dot = 4,
  Plus = 8,
  Paren = 16,
  Upper = 32,
}

export interface ScanInput {
  readonly text: string;
  /** Number of ASCII digits in text. */
  readonly digits: number;
  /** Feature bits. */
  readonly features: number;
  /** Undefined for free text (a text/plain body, or a header value). */
  readonly key: KeyContext | undefined;
  /** True when `text` is a JSON number leaf (digits only matter; no separators). */
  readonly numeric: boolean;
}

export interface Detector {
  readonly type: string;
  /** Appends matches of this detector in `input.text` to `out`. Must run in time linear in the text length. */
  scan(input: ScanInput, out: Match[]): void;
}

/** Character class helpers on char codes (no regex on the hot path). */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

/** Runs a global regex (linear-time by construction: see each detector) and calls `accept` for each match. */
export function eachMatch(re: RegExp, text: string, accept: (m: RegExpExecArray) => void): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    accept(m);
    if (m[0].length === 0) re.lastIndex++;
  }
}

export function digitsOf(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) out += text[i];
  }
  return out;
}

/** Digits and feature bits of a value, in one pass. */
export function features(text: string): { digits: number; features: number } {
  let digits = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 65 && c <= 90) bits |= Feature.Upper;
    else if (c === 64) bits |= Feature.At;
    else if (c === 58) bits |= Feature.Colon;
    else if (c === 46) bits |= Feature.Dot;
    else if (c === 43) bits |= Feature.Plus;
    else if (c === 40) bits |= Feature.Paren;
  }
  return { digits, features: bits };
}
