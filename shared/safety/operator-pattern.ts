import { RE2JS, RE2JSException } from 're2js';

/**
 * The one way to run an operator's regular expression (endpoint path_pattern, path_version_pattern, custom PII
 * detectors, ...) on untrusted input: compiled once per config with re2js, a pure-JavaScript port of RE2, whose
 * matching time is linear in the input whatever the pattern (no backtracking: `(a*){12}$` on 30 000 characters
 * takes milliseconds where V8's engine takes minutes on 29).
 *
 * Accepted syntax: RE2's (https://github.com/google/re2/wiki/Syntax), which covers what operators write in
 * JavaScript patterns: literals, `.`, classes `[...]`, `\d \w \s \b` and their negations, `\p{L}` Unicode classes,
 * groups `(...)`, `(?:...)`, named groups `(?<name>...)` (translated to RE2's `(?P<name>...)`), alternation,
 * `* + ? {n} {n,} {n,m}` (and their lazy forms; counts up to 1000), anchors `^ $`, inline flags `(?i) (?s) (?m)`.
 * Refused at config time, naming the field: lookahead and lookbehind `(?= (?! (?<= (?<!`, backreferences `\1`
 * `\k<name>`, repeat counts over 1000, patterns longer than MAX_PATTERN_LENGTH, and anything RE2 cannot parse.
 * Semantics follow RE2 where they differ from JavaScript in corners (`\s` is ASCII whitespace; `$` without (?m) is
 * the end of the input only).
 */
export const MAX_PATTERN_LENGTH = 4096;
/** Longest match OperatorPattern.matchAll returns in one piece (see there). */
export const MAX_MATCH_LENGTH = 256;

export interface PatternOptions {
  caseInsensitive?: boolean;
}

export class OperatorPatternError extends Error {
  override get name(): string {
    return 'OperatorPatternError';
  }
}

/** A match: [start, end) in UTF-16 code units of the input, as String.prototype.slice takes them. */
export interface PatternMatch {
  start: number;
  end: number;
  text: string;
}

export class OperatorPattern {
  private constructor(
    readonly source: string,
    private readonly re: RE2JS,
  ) {}

  /** Compiles `source`; throws OperatorPatternError saying why RE2 refuses it. */
  static compile(source: string, options: PatternOptions = {}): OperatorPattern {
    const reason = refusal(source);
    if (reason) throw new OperatorPatternError(reason);
    try {
      return new OperatorPattern(source, RE2JS.compile(RE2JS.translateRegExp(source), options.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0));
    } catch (err) {
      throw new OperatorPatternError(describe(err));
    }
  }

  /** Whether the pattern matches anywhere in `input` (RegExp.prototype.test without the g flag). Linear time. */
  test(input: string): boolean {
    return this.re.test(input);
  }

  /**
   * Every non-overlapping match, left to right (String.prototype.matchAll with the g flag), each at most
   * `maxLength` characters. Linear time: RE2 decides one match in time linear in what it reads, but a pattern like
   * `a*b|a` on "aaaa..." reads to the end of the input for every one-character match (quadratic over all matches:
   * 10,000 characters took 4.7 s, 40,000 took 149 s). So the input is matched in windows of 2 x maxLength
   * characters (one character before each kept as context for `^` and `\b`): a match starting in the first half of
   * a window is kept, a later one is decided by the next window, which starts there. Only matches longer than
   * maxLength differ from a whole-input match: such a match is cut at its window's end (matching goes on from
   * there), and `$` or `\b` may hold at a window's end where the whole input has none.
   */
  matchAll(input: string, maxLength = MAX_MATCH_LENGTH): PatternMatch[] {
    const out: PatternMatch[] = [];
    const n = input.length;
    let from = 0;
    while (from <= n) {
      const base = from > 0 ? from - 1 : 0;
      const end = Math.min(n, from + 2 * maxLength);
      const last = end === n;
      const decided = last ? n : end - maxLength; // matches starting at or before this are final
      const m = this.re.matcher(input.slice(base, end));
      let pos = from;
      let next: number | undefined;
      while (next === undefined && m.find(pos - base)) {
        const start = m.start() + base;
        if (start > decided) {
          next = start; // may run past this window: the next one, starting here, decides
          break;
        }
        const stop = m.end() + base;
        out.push({ start, end: stop, text: input.slice(start, stop) });
        pos = stop > start ? stop : stop + 1;
        if (pos > (last ? n : decided)) next = pos;
      }
      next ??= last ? n + 1 : Math.max(pos, decided); // no match starts in [pos, decided]
      from = next;
    }
    return out;
  }
}

function refusal(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
  if (/\(\?<?[=!]/.test(source)) return 'lookahead/lookbehind is not supported (patterns run on RE2, in linear time)';
  if (/\\[1-9]|\\k</.test(source)) return 'backreferences are not supported (patterns run on RE2, in linear time)';
  return undefined;
}

function describe(err: unknown): string {
  const message = err instanceof RE2JSException || err instanceof Error ? err.message : String(err);
  return `not a pattern RE2 accepts (linear-time matching): ${message}`;
}

/** Why `source` is refused, or undefined when it compiles: for schema checks (pure: compiles and drops it). */
export function operatorPatternReason(source: string, options: PatternOptions = {}): string | undefined {
  try {
    OperatorPattern.compile(source, options);
    return undefined;
  } catch (err) {
    return err instanceof OperatorPatternError ? err.message : String(err);
  }
}
