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
  /** A card key (`card_number`, `pan`, `cc_num`): never an id, whatever its suffix. */
  readonly card: boolean;
}

/** Cheap facts about a value, computed in one char loop, that let detectors skip it without running a regex. */
export const enum Feature {
  At = 1,
  Colon = 2,
  Dot = 4,
  Plus = 8,
  Paren = 16,
  Upper = 32,
  /** Two consecutive ASCII upper-case letters (IBAN country codes, AKIA/AIza/SG. secret prefixes). */
  UpperPair = 64,
  /** A 'b' or 'B' (every dob context word: born, birth, dob). */
  LetterB = 128,
  Underscore = 256,
  Dash = 512,
}

/** One pass of facts about a value: mutable, reused for every value a registry scans (no allocation). */
export interface ValueShape {
  /** Number of ASCII digits. */
  digits: number;
  /** Feature bits. */
  features: number;
  /** Number of '.' chars. */
  dots: number;
  /**
   * Most digits in one chain (digits joined by up to two separator chars: ' ', '-', '.', a no-break space) counted
   * from a start a card or SSN may begin at: the chain's first digit when the char before it is not '.', '-' or '+',
   * or a digit after a space inside the chain; a chain glued to a word (`card_4111...`) counts only while ungrouped.
   * Cards need 12, SSNs 9: `2024-01-15` (8) and a UUID's `a716-446655440000` (3) need no regex at all.
   */
  chain: number;
}

export interface ScanInput extends Readonly<ValueShape> {
  readonly text: string;
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

export function emptyShape(): ValueShape {
  return { digits: 0, features: 0, dots: 0, chain: 0 };
}

/** Fills `shape` with the facts about `source[start, end)`, in one pass, without slicing. */
export function measure(source: string, start: number, end: number, shape: ValueShape): ValueShape {
  let digits = 0;
  let bits = 0;
  let dots = 0;
  let chain = 0;
  // chain state: digits counted from the earliest eligible start of the current chain (-1: none yet)
  let run = -1;
  let afterDigit = false; // the previous char was a digit
  let sepLen = 0; // separator chars (' ', '-', '.', U+00A0 or its UTF-8 bytes) since the last digit, at most 2
  let glued = false; // the chain started right after a letter or '_' (an ungrouped number glued to a word)
  let prev = 32;
  for (let i = start; i < end; i++) {
    const c = source.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (afterDigit) {
        if (run >= 0) run++;
      } else if (sepLen > 0) {
        if (run >= 0 && !glued) run++;
        else if (prev === 32 || prev === 0xa0) {
          run = 1;
          glued = false;
        } else run = -1;
      } else {
        // a new chain: eligible unless glued to a dot or a dash (a float's fraction, a range, a negative number)
        glued = (prev >= 65 && prev <= 90) || (prev >= 97 && prev <= 122) || prev === 95;
        run = prev === 46 || prev === 45 || prev === 43 ? -1 : 1;
      }
      if (run > chain) chain = run;
      afterDigit = true;
      sepLen = 0;
    } else {
      if ((afterDigit || sepLen > 0) && sepLen < 2 && (c === 32 || c === 45 || c === 46 || c === 0xa0 || c === 0xc2)) sepLen++;
      else sepLen = 0;
      afterDigit = false;
      if (c >= 65 && c <= 90) {
        if (prev >= 65 && prev <= 90) bits |= Feature.UpperPair;
        bits |= c === 66 ? Feature.Upper | Feature.LetterB : Feature.Upper;
      } else if (c === 98) bits |= Feature.LetterB;
      else if (c === 64) bits |= Feature.At;
      else if (c === 58) bits |= Feature.Colon;
      else if (c === 46) {
        bits |= Feature.Dot;
        dots++;
      } else if (c === 43) bits |= Feature.Plus;
      else if (c === 40) bits |= Feature.Paren;
      else if (c === 95) bits |= Feature.Underscore;
      else if (c === 45) bits |= Feature.Dash;
    }
    prev = c;
  }
  shape.digits = digits;
  shape.features = bits;
  shape.dots = dots;
  shape.chain = chain;
  return shape;
}

/** Digits and feature bits of a value, in one pass. */
export function features(text: string): ValueShape {
  return measure(text, 0, text.length, emptyShape());
}
