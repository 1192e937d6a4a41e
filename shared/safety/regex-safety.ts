/**
 * Operators' regular expressions (custom detectors, endpoint patterns, version patterns) run on untrusted input with
 * V8's backtracking engine, so a pattern is accepted only in a shape that cannot backtrack catastrophically. (A
 * linear-time engine such as RE2 needs a native addon; this check keeps the suite pure JavaScript.)
 *
 * Refused: backreferences, lookarounds, and any repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1) that contains
 * a quantifier (star height > 1: `(a+)+`, `(\d{2,}-)*`) or an alternation (`(a|aa)*`: overlapping branches backtrack
 * exponentially too). A `?` on a group is allowed. Returns why a pattern is refused, or undefined.
 */
export function unsafePatternReason(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences are not allowed';
  if (/\(\?<?[=!]/.test(pattern)) return 'lookarounds are not allowed';
  try {
    new RegExp(pattern);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  // per open group: does it contain a quantifier, an alternation?
  const stack: Array<{ quantifier: boolean; alternation: boolean }> = [];
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
    const top = stack[stack.length - 1];
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ quantifier: false, alternation: false });
    else if (c === '|') {
      if (top) top.alternation = true;
    } else if (c === ')') {
      const group = stack.pop() ?? { quantifier: false, alternation: false };
      const next = pattern[i + 1];
      const repeated = next === '*' || next === '+' || (next === '{' && !/^\{(\d+)\}|^\{(0,)?1\}/.test(pattern.slice(i + 1)));
      if (repeated && group.quantifier) return 'nested quantifiers (a repeated group containing a quantifier) are not allowed';
      if (repeated && group.alternation) return 'a repeated group containing alternatives is not allowed';
      const parent = stack[stack.length - 1];
      if (parent) {
        parent.quantifier ||= group.quantifier || repeated;
        parent.alternation ||= group.alternation;
      }
    } else if (c === '*' || c === '+' || c === '{' || c === '?') {
      if (c === '?' && pattern[i - 1] === '(') continue;
      if (top) top.quantifier = true;
    }
  }
  return undefined;
}
