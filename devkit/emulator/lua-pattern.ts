/**
 * Lua 5.1 patterns, as Kong's `match`, `not_match`, `match_all`, `match_none` and `match_any` validators run them
 * (`value:match(pattern)`): a port of lstrlib.c's matcher (classes %a %c %d %l %p %s %u %w %x and their negations,
 * sets, `.`, quantifiers `* + - ?`, anchors, captures, %b, %f and back-references). Patterns come from schemas
 * (operator-written), never from clients.
 */
const MAX_STEPS = 1_000_000;

export class LuaPatternError extends Error {}

export function luaPatternFind(subject: string, pattern: string): boolean {
  const m = new Matcher(subject, pattern);
  const anchored = pattern.startsWith('^');
  let start = 0;
  do {
    m.level = 0;
    if (m.match(start, anchored ? 1 : 0) !== -1) return true;
    start++;
  } while (start <= subject.length && !anchored);
  return false;
}

class Matcher {
  level = 0;
  private steps = 0;
  private readonly captures: Array<{ start: number; len: number }> = [];

  constructor(
    private readonly s: string,
    private readonly p: string,
  ) {}

  /** Returns the end of the match of p[pi..] at s[si..], or -1. */
  match(si: number, pi: number): number {
    if (++this.steps > MAX_STEPS) throw new LuaPatternError('pattern too complex');
    const { s, p } = this;
    for (;;) {
      if (pi === p.length) return si;
      const c = p[pi];
      if (c === '(') {
        if (p[pi + 1] === ')') return this.capture(si, pi + 2, -2);
        return this.capture(si, pi + 1, -1);
      }
      if (c === ')') return this.closeCapture(si, pi + 1);
      if (c === '$' && pi + 1 === p.length) return si === s.length ? si : -1;
      if (c === '%' && p[pi + 1] === 'b') return this.balance(si, pi + 2);
      if (c === '%' && p[pi + 1] === 'f') {
        pi += 2;
        if (p[pi] !== '[') throw new LuaPatternError("missing '[' after '%f' in pattern");
        const end = this.classEnd(pi);
        const prev = si === 0 ? '\0' : s[si - 1];
        const cur = si < s.length ? s[si] : '\0';
        if (!this.matchClassAt(prev, pi, end - 1) && this.matchClassAt(cur, pi, end - 1)) {
          pi = end;
          continue;
        }
        return -1;
      }
      if (c === '%' && /[0-9]/.test(p[pi + 1] ?? '')) {
        si = this.backReference(si, Number(p[pi + 1]));
        if (si === -1) return -1;
        pi += 2;
        continue;
      }
      const ep = this.classEnd(pi);
      const matches = si < s.length && this.singleMatch(s[si], pi, ep);
      const q = p[ep];
      if (q === '?') {
        if (matches) {
          const r = this.match(si + 1, ep + 1);
          if (r !== -1) return r;
        }
        pi = ep + 1;
        continue;
      }
      if (q === '*') return this.maxExpand(si, pi, ep);
      if (q === '+') return matches ? this.maxExpand(si + 1, pi, ep) : -1;
      if (q === '-') return this.minExpand(si, pi, ep);
      if (!matches) return -1;
      si++;
      pi = ep;
    }
  }

  private classEnd(pi: number): number {
    const p = this.p;
    const c = p[pi++];
    if (c === '%') {
      if (pi >= p.length) throw new LuaPatternError("malformed pattern (ends with '%')");
      return pi + 1;
    }
    if (c === '[') {
      if (p[pi] === '^') pi++;
      do {
        if (pi >= p.length) throw new LuaPatternError("malformed pattern (missing ']')");
        const d = p[pi++];
        if (d === '%') pi++;
      } while (p[pi] !== ']');
      return pi + 1;
    }
    return pi;
  }

  private singleMatch(ch: string, pi: number, ep: number): boolean {
    const c = this.p[pi];
    if (c === '.') return true;
    if (c === '%') return classMatches(ch, this.p[pi + 1]);
    if (c === '[') return this.matchClassAt(ch, pi, ep - 1);
    return c === ch;
  }

  /** A set `[...]` from p[pi] ('[') to p[ec] (']'). */
  private matchClassAt(ch: string, pi: number, ec: number): boolean {
    const p = this.p;
    let negate = false;
    pi++;
    if (p[pi] === '^') {
      negate = true;
      pi++;
    }
    for (; pi < ec; pi++) {
      if (p[pi] === '%' && pi + 1 < ec) {
        pi++;
        if (classMatches(ch, p[pi])) return !negate;
      } else if (p[pi + 1] === '-' && pi + 2 < ec) {
        if (p[pi] <= ch && ch <= p[pi + 2]) return !negate;
        pi += 2;
      } else if (p[pi] === ch) return !negate;
    }
    return negate;
  }

  private maxExpand(si: number, pi: number, ep: number): number {
    let i = 0;
    while (si + i < this.s.length && this.singleMatch(this.s[si + i], pi, ep)) i++;
    for (; i >= 0; i--) {
      const r = this.match(si + i, ep + 1);
      if (r !== -1) return r;
    }
    return -1;
  }

  private minExpand(si: number, pi: number, ep: number): number {
    for (;;) {
      const r = this.match(si, ep + 1);
      if (r !== -1) return r;
      if (si < this.s.length && this.singleMatch(this.s[si], pi, ep)) si++;
      else return -1;
    }
  }

  private capture(si: number, pi: number, what: number): number {
    this.captures[this.level] = { start: si, len: what };
    this.level++;
    const r = this.match(si, pi);
    if (r === -1) this.level--;
    return r;
  }

  private closeCapture(si: number, pi: number): number {
    let l = this.level - 1;
    while (l >= 0 && this.captures[l].len !== -1) l--;
    if (l < 0) throw new LuaPatternError('invalid pattern capture');
    this.captures[l].len = si - this.captures[l].start;
    const r = this.match(si, pi);
    if (r === -1) this.captures[l].len = -1;
    return r;
  }

  private balance(si: number, pi: number): number {
    const open = this.p[pi];
    const close = this.p[pi + 1];
    if (open === undefined || close === undefined) throw new LuaPatternError('missing arguments to %b');
    if (this.s[si] !== open) return -1;
    let depth = 1;
    let i = si + 1;
    while (i < this.s.length) {
      const ch = this.s[i];
      if (ch === close) {
        if (--depth === 0) return this.match(i + 1, pi + 2);
      } else if (ch === open) depth++;
      i++;
    }
    return -1;
  }

  private backReference(si: number, n: number): number {
    const capture = this.captures[n - 1];
    if (!capture || capture.len < 0) throw new LuaPatternError(`invalid capture index %${n}`);
    const text = this.s.slice(capture.start, capture.start + capture.len);
    return this.s.startsWith(text, si) ? si + text.length : -1;
  }
}

function classMatches(ch: string, cls: string): boolean {
  const code = ch.charCodeAt(0);
  let result: boolean;
  switch (cls.toLowerCase()) {
    case 'a':
      result = /[A-Za-z]/.test(ch);
      break;
    case 'c':
      result = code < 32 || code === 127;
      break;
    case 'd':
      result = /[0-9]/.test(ch);
      break;
    case 'l':
      result = /[a-z]/.test(ch);
      break;
    case 'p':
      result = /[!-/:-@[-`{-~]/.test(ch);
      break;
    case 's':
      result = /[ \t\n\v\f\r]/.test(ch);
      break;
    case 'u':
      result = /[A-Z]/.test(ch);
      break;
    case 'w':
      result = /[A-Za-z0-9]/.test(ch);
      break;
    case 'x':
      result = /[A-Fa-f0-9]/.test(ch);
      break;
    case 'z':
      result = code === 0;
      break;
    default:
      return cls === ch;
  }
  return cls === cls.toUpperCase() && cls !== cls.toLowerCase() ? !result : result;
}
