import { normalizeKey } from './detectors/key-context';

/** A compiled JSON path: `$.user.cards[*].number` -> ['user', 'cards', '*', 'number']. '*' matches any key or index. */
export type PathPattern = readonly string[];

/**
 * Field rules: values always masked whatever they hold, by key name anywhere in the document (normalized like
 * detector key contexts: `Password`, `pass_word` and `password` are one key) or by JSON path from the root.
 */
export class FieldRules {
  readonly keys: ReadonlySet<string>;
  readonly paths: PathPattern[];

  /** Per char code 0-255: can a rule key start with it (in any case, or after a stripped separator)? */
  private readonly firstChars = new Uint8Array(256);

  constructor(keys: readonly string[], paths: readonly string[]) {
    this.keys = new Set(keys.map(normalizeKey));
    this.paths = paths.map(parsePath);
    for (const key of this.keys) {
      this.mark(key.charCodeAt(0));
      this.mark(key.toUpperCase().charCodeAt(0));
    }
    for (const c of '_-. ') this.mark(c.charCodeAt(0));
  }

  /** A cheap test on a raw key's first char: false means no key rule can match it (no slice, no lookup). */
  mayMatchKey(firstChar: number): boolean {
    return firstChar > 255 || this.firstChars[firstChar] === 1;
  }

  private mark(c: number): void {
    if (c <= 255) this.firstChars[c] = 1;
  }

  get empty(): boolean {
    return this.keys.size === 0 && this.paths.length === 0;
  }

  /** `segments` are the keys (strings) and indexes (numbers) from the root to the value. */
  matchesPath(segments: ReadonlyArray<string | number>): boolean {
    for (const pattern of this.paths) {
      if (pattern.length !== segments.length) continue;
      let ok = true;
      for (let i = 0; i < pattern.length && ok; i++) {
        const want = pattern[i];
        ok = want === '*' || want === String(segments[i]);
      }
      if (ok) return true;
    }
    return false;
  }
}

/** Parses `$.a.b[0].c`, `$.a[*]`, `a.b`, `$['a b'].c` into segments; throws on a malformed path. */
export function parsePath(path: string): PathPattern {
  const segments: string[] = [];
  let i = path.startsWith('$') ? 1 : 0;
  if (i === 0 && path.length) {
    path = '.' + path;
  }
  const text = path;
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      let j = i + 1;
      while (j < text.length && text[j] !== '.' && text[j] !== '[') j++;
      const name = text.slice(i + 1, j);
      if (!name) throw new Error(`invalid JSON path ${path}: empty segment`);
      segments.push(name);
      i = j;
    } else if (c === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) throw new Error(`invalid JSON path ${path}: unclosed [`);
      let inner = text.slice(i + 1, close).trim();
      if (/^'.*'$|^".*"$/.test(inner)) inner = inner.slice(1, -1);
      else if (inner !== '*' && !/^\d+$/.test(inner)) throw new Error(`invalid JSON path ${path}: [${inner}]`);
      segments.push(inner);
      i = close + 1;
    } else {
      throw new Error(`invalid JSON path ${path} at ${i}`);
    }
  }
  if (segments.length === 0) throw new Error(`invalid JSON path ${path}: no segment`);
  return segments;
}
