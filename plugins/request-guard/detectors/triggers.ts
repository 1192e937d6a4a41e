import { CODE_EXEC, COMMON, RECON, SHELL_MARKERS, UNAMBIGUOUS } from './command';
import type { Category } from './index';
import { DB_METHODS, JS_BREAKOUTS } from './nosql';
import { MARKERS } from './sql';
import { SENSITIVE } from './traversal';
import { COMPACT_MARKERS, SINKS } from './xss';

/**
 * A prefilter for the detectors: one linear pass over a value records which characters it holds (ASCII letters
 * folded as toLowerCase folds them), a few adjacent pairs (`--`, `/*`, `&&`, `||`, `0x`) and which trigger words
 * occur as whole words; a detector whose every way of answering true needs something absent is not run. Pure.
 *
 * Why each skip is conservative (a detector can only answer true if one of its alternatives below is present):
 * - every substring a detector looks for (markers, sinks, JS break-outs) needs each of its characters, in the
 *   lower-cased value or in a copy with characters removed (NoSQL and XSS compact whitespace away; removing never
 *   adds a character), so the marker's character set is one alternative;
 * - sql: every rule starts from a token that is '(' (calls, if(...)), ';', a comment (`--`, `#`, `/*`), `&&`/`||`,
 *   or a word (or, and, xor, not, div, select, order+by, group+by, having, into+outfile|dumpfile, waitfor,
 *   procedure+analyse; union needs a following 'select'). A token whose text is such a word is a maximal run of the
 *   tokenizer's word characters (a-z 0-9 _ $ @ .) in the value: words end only at other characters, a token started
 *   inside a run (after a number, at '@' or '$') starts with that '@' or '$', and a literal's text is bounded by
 *   quotes or the value's ends. The quote contexts tokenize the same characters;
 * - command: commandAt answers true only for a path ('/' or 'c:\'), or a name of UNAMBIGUOUS or COMMON, which is a
 *   maximal run of name characters (a-z 0-9 _ . -): it starts at the value's start, after a blank, quote, '`',
 *   '(' or separator, or after a literal "\n" ('\' is an alternative of its own), and ends at a non-name character
 *   (a backtick span's content ends at its '`'); the whole-value rule needs a RECON name or 'which';
 * - nosql: operators need '$'; ';return' and db.<collection>.<method>( their characters;
 * - path_traversal: NUL, '.', '/', or what normalisation maps to them: '\' and `0x2e`-style escapes (`0x`);
 * - crlf: CR or LF; xss: '<' (tags, comments), or a quote and '=' (an on*= attribute break-out);
 * - a character above U+007F (toLowerCase may map it to ASCII: K, dotted I) runs every detector.
 * The differential spec (spec/02-unit/request-guard/prefilter.spec.ts) compares this path with the full scan.
 */
const WORDS = ['or', 'and', 'xor', 'not', 'div', 'select', 'order', 'group', 'by', 'having', 'into', 'outfile', 'dumpfile', 'waitfor', 'procedure', 'analyse'];
const COMMAND_NAMES = [...UNAMBIGUOUS, ...COMMON, ...RECON, 'which'];

const NON_ASCII = 1;
const PAIR_DASHES = 2; // --
const PAIR_COMMENT = 4; // /*
const PAIR_AMPS = 8; // &&
const PAIR_PIPES = 16; // ||
const PAIR_HEX = 32; // 0x
const COMMAND_NAME = 64;
const AMP_REFERENCE = 128; // & followed by # or a letter

/** features: [0..3] ASCII characters present (bit c of the 128), [4] flags and pairs, [5] trigger words (bit per WORDS). */
const SIZE = 6;

function hashOf(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + word.charCodeAt(i)) | 0;
  return h;
}

// tables indexed by the low bits of a word's hash: a collision only makes a word count as present (a detector runs
// that could have been skipped), never the reverse
const BUCKETS = 4096;
const WORD_BITS = new Int32Array(BUCKETS);
WORDS.forEach((w, i) => (WORD_BITS[hashOf(w) & (BUCKETS - 1)] |= 1 << i));
const COMMAND_BUCKETS = new Uint8Array(BUCKETS);
for (const name of COMMAND_NAMES) COMMAND_BUCKETS[hashOf(name) & (BUCKETS - 1)] = 1;

const SQL_WORD = 1; // a-z 0-9 _ $ @ . (the SQL tokenizer's word characters)
const NAME = 2; // a-z 0-9 _ . - (command names)
const PAIRED = 4; // the second character of a pair: - & | * x
/** Per ASCII character (after folding): its classes. */
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alnum = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46;
  CLASS[c] = (alnum || c === 36 || c === 64 ? SQL_WORD : 0) | (alnum || c === 45 ? NAME : 0) | (c === 45 || c === 38 || c === 124 || c === 42 || c === 120 ? PAIRED : 0);
}

/** The features of `s` into `out`. Linear, no allocation. */
export function featuresOf(s: string, out: Int32Array): Int32Array {
  let m0 = 0; // characters 0-31, 32-63, 64-95, 96-127
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  let flags = 0;
  let words = 0;
  let prev = -1;
  let word = 0; // hash of the current run of SQL word characters
  let wordLen = 0;
  let name = 0; // hash of the current run of command-name characters
  let nameLen = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c > 127) {
      // every detector runs on such a value; the scan goes on for the characters the caller asks about ('%', '&')
      flags |= NON_ASCII;
      prev = -1;
      continue;
    }
    if (c >= 65 && c <= 90) c += 32;
    const bit = 1 << (c & 31);
    if (c < 32) m0 |= bit;
    else if (c < 64) m1 |= bit;
    else if (c < 96) m2 |= bit;
    else m3 |= bit;
    const cls = CLASS[c];
    if (cls & PAIRED) {
      if (prev === c && c !== 42 && c !== 120) flags |= c === 45 ? PAIR_DASHES : c === 38 ? PAIR_AMPS : PAIR_PIPES;
      else if (prev === 47 && c === 42) flags |= PAIR_COMMENT;
      else if (prev === 48 && c === 120) flags |= PAIR_HEX;
    }
    // '&' before '#' or a letter: a character reference decodeEntities may replace
    if (prev === 38 && (c === 35 || (c >= 97 && c <= 122))) flags |= AMP_REFERENCE;
    if (cls & SQL_WORD) {
      word = (Math.imul(word, 31) + c) | 0;
      wordLen++;
    } else if (wordLen) {
      if (wordLen <= 9) words |= WORD_BITS[word & (BUCKETS - 1)];
      word = wordLen = 0;
    }
    if (cls & NAME) {
      name = (Math.imul(name, 31) + c) | 0;
      nameLen++;
    } else if (nameLen) {
      if (nameLen <= 24 && COMMAND_BUCKETS[name & (BUCKETS - 1)]) flags |= COMMAND_NAME;
      name = nameLen = 0;
    }
    prev = c;
  }
  if (wordLen && wordLen <= 9) words |= WORD_BITS[word & (BUCKETS - 1)];
  if (nameLen && nameLen <= 24 && COMMAND_BUCKETS[name & (BUCKETS - 1)]) flags |= COMMAND_NAME;
  out[0] = m0;
  out[1] = m1;
  out[2] = m2;
  out[3] = m3;
  out[4] = flags;
  out[5] = words;
  return out;
}

/**
 * Whether decodedForms(value) may hold more than the value itself: percentDecode changes nothing without '%', and
 * decodeEntities nothing without an '&' followed by '#' or a letter (any other '&' is copied as it is).
 */
export function mayDecode(features: Int32Array): boolean {
  return hasChar(features, 37) || (features[4] & AMP_REFERENCE) !== 0;
}

/** Whether `features` hold character `c` (letters folded). */
export function hasChar(features: Int32Array, c: number): boolean {
  return (features[c >> 5] & (1 << (c & 31))) !== 0;
}

/** One alternative: every feature it sets must be present. */
function need(chars: string, flags = 0, words: string[] = []): Int32Array {
  const alt = new Int32Array(SIZE);
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    if (c > 127) throw new Error(`trigger ${JSON.stringify(chars)} is not ASCII`);
    const folded = c >= 65 && c <= 90 ? c + 32 : c;
    alt[folded >> 5] |= 1 << (folded & 31);
  }
  alt[4] = flags;
  for (const w of words) alt[5] |= 1 << WORDS.indexOf(w);
  return alt;
}

const markers = (list: readonly string[]) => list.map((m) => need(m));

const ALTERNATIVES: Record<Category, Int32Array[]> = {
  sql: [
    ...markers(MARKERS),
    need('('), need(';'), need('#'), need('', PAIR_DASHES), need('', PAIR_COMMENT), need('', PAIR_AMPS), need('', PAIR_PIPES),
    ...['or', 'and', 'xor', 'not', 'div', 'select', 'having', 'waitfor'].map((w) => need('', 0, [w])),
    need('', 0, ['order', 'by']), need('', 0, ['group', 'by']), need('', 0, ['into', 'outfile']), need('', 0, ['into', 'dumpfile']), need('', 0, ['procedure', 'analyse']),
  ],
  nosql: [need('$'), ...markers(JS_BREAKOUTS), need(';return'), ...DB_METHODS.map((m) => need(`db${m}`))],
  command: [...markers(CODE_EXEC), ...markers(SHELL_MARKERS), need('/'), need('\\'), need('', COMMAND_NAME)],
  path_traversal: [need('\u0000'), need('.'), need('/'), need('\\'), need('', PAIR_HEX), ...markers(SENSITIVE)],
  crlf: [need('\r'), need('\n')],
  xss: [need('<'), need('\'='), need('"='), ...markers(COMPACT_MARKERS), ...markers(SINKS)],
};

/** Characters from the rarest in client values to the most common: each alternative's key is its rarest feature. */
const RARITY = '\u0000\r\n`<>{}[]|\\^~$#@;()="\'%&*+!?:/_zqxjkvbpyg.-,fwmucldrhsnioate0123456789 ';

function rank(bit: number): number {
  const at = bit < 128 ? RARITY.indexOf(String.fromCharCode(bit)) : -1;
  return bit >= 128 ? -1 : at < 0 ? RARITY.length : at; // flags and words (bits 128+) first
}

/** One feature of every alternative (its rarest): a value holding none of them matches no alternative. */
function keysOf(alts: Int32Array[]): Int32Array {
  const keys = new Int32Array(SIZE);
  for (const alt of alts) {
    let best = -1;
    for (let bit = 0; bit < SIZE * 32; bit++) {
      if (alt[bit >> 5] & (1 << (bit & 31)) && (best < 0 || rank(bit) < rank(best))) best = bit;
    }
    if (best < 0) throw new Error('an alternative that needs nothing');
    keys[best >> 5] |= 1 << (best & 31);
  }
  return keys;
}

/** One alternative, with its key (word index and bit) checked first. */
interface Alternative {
  word: number;
  bit: number;
  need: Int32Array;
}

/** What a detector needs: the key of each alternative (a quick no), and the alternatives. */
export interface Triggers {
  keys: Int32Array;
  alternatives: Alternative[];
}

function includes(a: Int32Array, b: Int32Array): boolean {
  for (let k = 0; k < SIZE; k++) if ((a[k] & b[k]) !== b[k]) return false;
  return true;
}

function triggersOf(alts: Int32Array[]): Triggers {
  // an alternative that needs everything another needs (and more) is implied by it: dropped
  const kept = alts.filter((alt, i) => !alts.some((other, j) => j !== i && includes(alt, other) && (!includes(other, alt) || j < i)));
  const alternatives = kept.map((need) => {
    const key = keysOf([need]);
    const word = key.findIndex((w) => w !== 0);
    return { word, bit: key[word], need };
  });
  return { keys: keysOf(kept), alternatives };
}

export const TRIGGERS = Object.fromEntries(Object.entries(ALTERNATIVES).map(([c, alts]) => [c, triggersOf(alts)])) as Record<Category, Triggers>;

/** The keys of several detectors together: a value holding none of them needs none of the detectors. */
export function unionOfKeys(list: Triggers[]): Int32Array {
  const keys = new Int32Array(SIZE);
  for (const t of list) for (let k = 0; k < SIZE; k++) keys[k] |= t.keys[k];
  return keys;
}

/** Whether `features` hold any of `keys` (or a character above U+007F, which runs every detector). */
export function anyKey(keys: Int32Array, features: Int32Array): boolean {
  return (features[4] & NON_ASCII) !== 0 || ((features[0] & keys[0]) | (features[1] & keys[1]) | (features[2] & keys[2]) | (features[3] & keys[3]) | (features[4] & keys[4]) | (features[5] & keys[5])) !== 0;
}

/** False only when the detector with these triggers cannot answer true for the value `features` describe. */
export function mayMatch(triggers: Triggers, features: Int32Array): boolean {
  if (features[4] & NON_ASCII) return true;
  const k = triggers.keys;
  if (!((features[0] & k[0]) | (features[1] & k[1]) | (features[2] & k[2]) | (features[3] & k[3]) | (features[4] & k[4]) | (features[5] & k[5]))) return false;
  for (const { word, bit, need: alt } of triggers.alternatives) {
    if ((features[word] & bit) === 0) continue;
    if ((features[0] & alt[0]) === alt[0] && (features[1] & alt[1]) === alt[1] && (features[2] & alt[2]) === alt[2] && (features[3] & alt[3]) === alt[3] && (features[4] & alt[4]) === alt[4] && (features[5] & alt[5]) === alt[5]) return true;
  }
  return false;
}

export function newFeatures(): Int32Array {
  return new Int32Array(SIZE);
}
