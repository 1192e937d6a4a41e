import type { KeyContexts } from './detectors/key-context';
import type { KeyContext } from './detectors/types';
import type { FieldRules } from './field-rules';
import { DecodedText } from './decoded-text';
import { Splicer } from './splice';
import { applyEdits, type MaskReport, type ValueMasker } from './value-masker';

/**
 * Structure-aware JSON masking without re-serialization. One linear pass over the raw body (a latin1 string: one
 * char per byte) tokenizes it with an explicit stack (no recursion, so deep nesting cannot overflow), scans each
 * string leaf with its key as context and each integer leaf with the numeric detectors, and splices replacements
 * into the original text. Every byte outside a masked span is left as it was: 64-bit ids, float spellings,
 * whitespace, key order and escapes survive.
 *
 * A masked string leaf stays a string (replacements are JSON-escaped). A masked number leaf stays a number: the
 * number 0, or in fpe mode digits of the same length (a client schema expecting a number still validates). Keys are
 * scanned too (PII used as a key). A value masked by a field rule (a key such as `password`, or a path) is replaced
 * whole, objects and arrays included, by a string.
 */
export interface JsonMaskOutcome {
  valid: boolean;
  /** The masked body, or undefined when nothing was replaced (or the body is not valid JSON). */
  output: string | undefined;
}

export const MAX_DEPTH = 4096;

interface Frame {
  object: boolean;
  /** Raw offsets of the current key (objects) or of the key the array sits under (arrays); -1 at the root. */
  keyStart: number;
  keyEnd: number;
  keyEscaped: boolean;
  /** The key and its context, computed only when a value under it needs them. */
  key: string | undefined;
  context: KeyContext | undefined;
  /** The remembered key at this depth and position, when the key is that one (see JsonWalker.memo). */
  memo: KeyMemo | undefined;
  index: number;
}

interface KeyMemo {
  key: string;
  context: KeyContext | undefined;
  /** The key itself was scanned and holds nothing (keys are scanned too: `{"alice@example.com": ...}`). */
  clean?: boolean;
  /** Whether a field rule (mask_keys) matches the key, once computed. */
  rule?: boolean;
}

/** Key positions remembered per depth (records in an array repeat their keys in order). */
const MEMO_WIDTH = 64;

const enum State {
  Value,
  ValueOrEnd,
  Key,
  KeyOrEnd,
  After,
}

class Invalid extends Error {}

export interface JsonMaskDeps {
  values: ValueMasker;
  keys: KeyContexts;
  rules: FieldRules;
}

export function maskJson(raw: string, deps: JsonMaskDeps, report: MaskReport): JsonMaskOutcome {
  try {
    return { valid: true, output: new JsonWalker(raw, deps, report).run() };
  } catch (err) {
    if (err instanceof Invalid) return { valid: false, output: undefined };
    throw err;
  }
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** JSON string-escapes a replacement (only what must be escaped; ASCII replacements come out unchanged). */
export function jsonEscape(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length && plain; i++) {
    const c = text.charCodeAt(i);
    plain = c >= 0x20 && c !== 34 && c !== 92;
  }
  if (plain) return text;
  return JSON.stringify(text).slice(1, -1);
}

class JsonWalker {
  private i = 0;
  /** Memoized positions of the next '\\' and '"' (-1: none left): every search moves forward, so the whole body is scanned once. */
  private nextBackslash = -2;
  private nextQuote = -2;
  /** Memoized position of the next '\\u' (a \\u escape can hide an '@' or digits from the raw prefilter). */
  private nextUnicode = -2;
  /** Whether the string stringEnd last delimited has escapes. */
  private escaped = false;
  /**
   * The key last seen at each depth and position in its object: the objects of an array of records repeat their
   * keys in the same order, so a key is compared in place (no slice) and its string and context are reused.
   */
  private readonly memo: Array<Array<KeyMemo | undefined>> = [];
  private readonly frames: Frame[] = [];
  private readonly splicer: Splicer;
  private readonly hasNumeric: boolean;
  private readonly checkRules: boolean;
  private readonly checkPaths: boolean;

  constructor(
    private readonly raw: string,
    private readonly deps: JsonMaskDeps,
    private readonly report: MaskReport,
  ) {
    this.splicer = new Splicer(raw);
    this.hasNumeric = deps.values.registry.detectors.some((d) => d.type === 'card' || d.type === 'ssn' || d.type === 'phone' || d.type === 'dob');
    this.checkRules = !deps.rules.empty;
    this.checkPaths = deps.rules.paths.length > 0;
  }

  run(): string | undefined {
    const raw = this.raw;
    const n = raw.length;
    const frames = this.frames;
    let state = State.Value;
    for (;;) {
      while (this.i < n && isWs(raw.charCodeAt(this.i))) this.i++;
      if (state === State.After) {
        if (frames.length === 0) {
          if (this.i !== n) throw new Invalid();
          return this.splicer.result();
        }
        const c = raw.charCodeAt(this.i);
        const top = frames[frames.length - 1];
        if (c === 44) {
          this.i++;
          top.index++;
          state = top.object ? State.Key : State.Value;
        } else if ((c === 125 && top.object) || (c === 93 && !top.object)) {
          this.i++;
          frames.pop();
        } else throw new Invalid();
        continue;
      }
      if (this.i >= n) throw new Invalid();
      const c = raw.charCodeAt(this.i);
      if (state === State.KeyOrEnd || state === State.ValueOrEnd) {
        if ((c === 125 && state === State.KeyOrEnd) || (c === 93 && state === State.ValueOrEnd)) {
          this.i++;
          frames.pop();
          state = State.After;
          continue;
        }
        state = state === State.KeyOrEnd ? State.Key : State.Value;
      }
      if (state === State.Key) {
        if (c !== 34) throw new Invalid();
        const start = this.i + 1;
        const end = this.stringEnd(start);
        const top = frames[frames.length - 1];
        top.keyStart = start;
        top.keyEnd = end;
        top.keyEscaped = this.escaped;
        top.key = undefined;
        top.context = undefined;
        top.memo = undefined;
        if (!this.escaped && top.index < MEMO_WIDTH) this.recall(top, start, end);
        if (!(top.memo as KeyMemo | undefined)?.clean && end > start) this.maskKey(top, start, end, this.escaped);
        this.i = end + 1;
        while (this.i < n && isWs(raw.charCodeAt(this.i))) this.i++;
        if (raw.charCodeAt(this.i) !== 58) throw new Invalid();
        this.i++;
        state = State.Value;
        continue;
      }
      // State.Value
      if (this.checkRules && frames.length > 0 && this.ruleApplies()) {
        const start = this.i;
        this.skipValue();
        const masked = this.deps.values.field(raw.slice(start, this.i), this.report);
        if (masked !== undefined) this.splicer.replace(start, this.i, '"' + jsonEscape(masked) + '"');
        state = State.After;
        continue;
      }
      if (c === 34) {
        const start = this.i + 1;
        const end = this.stringEnd(start);
        const escaped = this.escaped;
        this.i = end + 1;
        if (end > start) this.maskString(start, end, escaped);
        state = State.After;
      } else if (c === 123 || c === 91) {
        if (frames.length >= MAX_DEPTH) throw new Invalid();
        const parent = frames[frames.length - 1];
        frames.push({
          object: c === 123,
          keyStart: parent ? parent.keyStart : -1,
          keyEnd: parent ? parent.keyEnd : -1,
          keyEscaped: parent ? parent.keyEscaped : false,
          key: parent?.key,
          context: parent?.context,
          memo: parent?.memo,
          index: 0,
        });
        this.i++;
        state = c === 123 ? State.KeyOrEnd : State.ValueOrEnd;
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        const start = this.i;
        let integer = true;
        while (this.i < n) {
          const d = raw.charCodeAt(this.i);
          if (d >= 48 && d <= 57) this.i++;
          else if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) {
            integer = false;
            this.i++;
          } else break;
        }
        if (this.hasNumeric && this.i - start >= 7) this.maskNumber(start, this.i, integer);
        state = State.After;
      } else if (c === 116 && raw.startsWith('true', this.i)) {
        this.i += 4;
        state = State.After;
      } else if (c === 102 && raw.startsWith('false', this.i)) {
        this.i += 5;
        state = State.After;
      } else if (c === 110 && raw.startsWith('null', this.i)) {
        this.i += 4;
        state = State.After;
      } else throw new Invalid();
    }
  }

  /** Reuses the key remembered at this depth and position when the raw key is the same text. */
  private recall(top: Frame, start: number, end: number): void {
    const depth = this.frames.length;
    const row = (this.memo[depth] ??= []);
    const known = row[top.index];
    if (known !== undefined && known.key.length === end - start && this.raw.startsWith(known.key, start)) {
      top.key = known.key;
      top.context = known.context;
      top.memo = known;
      return;
    }
    const key = this.raw.slice(start, end);
    top.key = key;
    top.memo = row[top.index] = { key, context: undefined };
  }

  private keyOf(frame: Frame): string | undefined {
    if (frame.keyStart < 0) return undefined;
    return (frame.key ??= frame.keyEscaped ? decodeJsonString(this.raw, frame.keyStart, frame.keyEnd).text : this.raw.slice(frame.keyStart, frame.keyEnd));
  }

  private context(): KeyContext | undefined {
    const top = this.frames[this.frames.length - 1];
    if (!top || top.keyStart < 0) return undefined;
    if (top.context) return top.context;
    top.context = this.deps.keys.of(this.keyOf(top)!);
    if (top.memo) top.memo.context = top.context;
    return top.context;
  }

  private ruleApplies(): boolean {
    const top = this.frames[this.frames.length - 1];
    if (top.object && top.keyStart >= 0 && this.deps.rules.keys.size > 0) {
      const memo = top.memo;
      const rule = memo?.rule ?? this.deps.rules.matchesKey(this.keyOf(top)!);
      if (memo) memo.rule = rule;
      if (rule) return true;
    }
    if (!this.checkPaths || !this.deps.rules.pathLengths.has(this.frames.length)) return false;
    const segments = this.frames.map((f) => (f.object ? (this.keyOf(f) ?? '') : f.index));
    return this.deps.rules.matchesPath(segments);
  }

  /** Index of the closing quote of the string whose content starts at `start`; `this.escaped` says if it has escapes. */
  private stringEnd(start: number): number {
    const raw = this.raw;
    let from = start;
    this.escaped = false;
    for (;;) {
      if (this.nextQuote !== -1 && this.nextQuote < from) this.nextQuote = raw.indexOf('"', from);
      const quote = this.nextQuote;
      if (quote < 0) throw new Invalid();
      if (this.nextBackslash !== -1 && this.nextBackslash < from) this.nextBackslash = raw.indexOf('\\', from);
      if (this.nextBackslash === -1 || this.nextBackslash > quote) return quote;
      this.escaped = true;
      from = this.nextBackslash + 2;
      if (from > raw.length) throw new Invalid();
    }
  }

  private maskString(start: number, end: number, escaped: boolean): void {
    const raw = this.raw;
    if (!escaped) {
      // one pass over the raw chars decides most leaves: no slice, no key lookup, no regex
      if (!this.deps.values.registry.measureRange(raw, start, end)) return;
      const edits = this.deps.values.edits(raw.slice(start, end), this.context(), false, this.report, false, true);
      if (edits) for (const edit of edits) this.splicer.replace(start + edit.start, start + edit.end, jsonEscape(edit.text));
      return;
    }
    // simple escapes only remove or replace chars: when the raw text cannot match, neither can the decoded one
    if (this.nextUnicode !== -1 && this.nextUnicode < start) this.nextUnicode = raw.indexOf('\\u', start);
    if ((this.nextUnicode === -1 || this.nextUnicode >= end) && !this.deps.values.registry.measureRange(raw, start, end)) return;
    const context = this.context(); // before decoding: an escaped key decodes through the same scratch buffer
    const decoded = decodeJsonString(raw, start, end);
    const edits = this.deps.values.edits(decoded.text, context, false, this.report);
    if (edits) for (const edit of edits) this.splicer.replace(decoded.map[edit.start], decoded.map[edit.end], jsonEscape(edit.text));
  }

  /**
   * A number leaf: its integer digits (`4111111111111111`, or a float spelling of an integer such as
   * `4.111111111111111e15`) are scanned with the numeric detectors under the key's context (never under an id key).
   * A masked number stays a JSON number, so client schemas hold: fpe gives digits of the same length, every other
   * mode the number 0.
   */
  private maskNumber(start: number, end: number, integer: boolean): void {
    if (this.raw.charCodeAt(start) === 45) return;
    let digits: string | undefined;
    if (integer) {
      if (!this.deps.values.registry.measureRange(this.raw, start, end)) return;
      digits = this.raw.slice(start, end);
    } else {
      digits = end - start <= 40 ? integerDigits(this.raw.slice(start, end)) : undefined;
      if (digits === undefined || digits.length < 12 || digits.length > 19) return;
    }
    const edits = this.deps.values.edits(digits, this.context(), true, this.report, false, integer);
    if (!edits || edits.length === 0) return;
    const whole = edits.length === 1 && edits[0].start === 0 && edits[0].end === digits.length;
    const masked = applyEdits(digits, edits);
    this.splicer.replace(start, end, whole && /^[1-9][0-9]*$/.test(masked) ? masked : '0');
  }

  /** Scans a key as a value without context (PII used as a key); a clean key is remembered as clean. */
  private maskKey(top: Frame, start: number, end: number, escaped: boolean): void {
    const raw = this.raw;
    if (!escaped) {
      if (!this.deps.values.registry.measureRange(raw, start, end)) {
        if (top.memo) top.memo.clean = true;
        return;
      }
      const edits = this.deps.values.edits(raw.slice(start, end), undefined, false, this.report, false, true);
      if (edits && edits.length) for (const edit of edits) this.splicer.replace(start + edit.start, start + edit.end, jsonEscape(edit.text));
      else if (top.memo) top.memo.clean = true;
      return;
    }
    const decoded = decodeJsonString(raw, start, end);
    const edits = this.deps.values.edits(decoded.text, undefined, false, this.report);
    if (edits) for (const edit of edits) this.splicer.replace(decoded.map[edit.start], decoded.map[edit.end], jsonEscape(edit.text));
  }

  /** Skips one value (any type) without scanning it; brackets are matched, strings honoured. */
  private skipValue(): void {
    const raw = this.raw;
    const n = raw.length;
    let depth = 0;
    do {
      while (this.i < n && isWs(raw.charCodeAt(this.i))) this.i++;
      if (this.i >= n) throw new Invalid();
      const c = raw.charCodeAt(this.i);
      if (c === 34) this.i = this.stringEnd(this.i + 1) + 1;
      else if (c === 123 || c === 91) {
        depth++;
        this.i++;
      } else if (c === 125 || c === 93) {
        depth--;
        this.i++;
      } else if (c === 44 || c === 58) {
        if (depth === 0) throw new Invalid();
        this.i++;
      } else {
        const from = this.i;
        while (this.i < n) {
          const d = raw.charCodeAt(this.i);
          if (isWs(d) || d === 44 || d === 58 || d === 125 || d === 93 || d === 123 || d === 91 || d === 34) break;
          this.i++;
        }
        if (this.i === from) throw new Invalid();
      }
      if (depth < 0) throw new Invalid();
    } while (depth > 0);
  }
}

const FLOAT = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d{1,3}))?$/;

/** The integer a float spelling stands for (`4.111111111111111e15` -> `4111111111111111`), or undefined when it has a fraction. */
export function integerDigits(text: string): string | undefined {
  const m = FLOAT.exec(text);
  if (!m) return undefined;
  const all = m[1] + (m[2] ?? '');
  const point = m[1].length + Number(m[3] ?? 0);
  if (point < 1 || point > 40) return undefined;
  if (!/^0*$/.test(all.slice(point))) return undefined;
  const whole = (all.slice(0, point) + '0'.repeat(Math.max(0, point - all.length))).replace(/^0+/, '');
  return whole || undefined;
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Decodes a JSON string's content with a map from each decoded char (and the end) to its raw offset (linear). */
export function decodeJsonString(raw: string, start: number, end: number): { text: string; map: Int32Array } {
  const out = DecodedText.forCapacity(end - start);
  let i = start;
  while (i < end) {
    let j = raw.indexOf('\\', i);
    if (j < 0 || j > end) j = end;
    if (j > i) {
      out.copy(raw, i, j);
      i = j;
      if (i >= end) break;
    }
    const kind = raw[i + 1];
    if (kind === 'u') {
      const code = parseInt(raw.slice(i + 2, i + 6), 16);
      if (Number.isNaN(code)) throw new Invalid();
      out.push(code, i);
      i += 6;
    } else {
      const simple = SIMPLE_ESCAPES[kind];
      if (simple === undefined) throw new Invalid();
      out.push(simple.charCodeAt(0), i);
      i += 2;
    }
  }
  return out.finish(end);
}
