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
  /** The lengths of the paths: a value at another depth is not compared (no per-value walk of a deep stack). */
  readonly pathLengths: ReadonlySet<number>;

  /** Per char code 0-255: can a rule key start with it (in any case, or after a stripped separator)? */
  private readonly firstChars = new Uint8Array(256);

  constructor(keys: readonly string[], paths: readonly string[]) {
    this.keys = new Set(keys.map(normalizeKey));
    this.paths = paths.map(parsePath);
    this.pathLengths = new Set(this.paths.map((p) => p.length));
    for (const key of this.keys) {
      this.mark(key.charCodeAt(0));
      this.mark(key.toUpperCase().charCodeAt(0));
    }
    for (const c of '_-. ') this.mark(c.charCodeAt(0));
  }

  private readonly memo = new Map<string, boolean>();

  /**
   * Whether a raw key is a rule key: its normalized form is one (`Pass_Word`), or a run of its words is
   * (`user_password`, `passwordHash`, `X-Api-Key`, `clientSecretValue`): words split at `_ - . ` and camelCase
   * boundaries, at most the first 8 words. `shipping` is not `pin`, `secretary` is not `secret`. Memoized (bounded).
   */
  matchesKey(raw: string): boolean {
    let hit = this.memo.get(raw);
    if (hit !== undefined) return hit;
    hit = this.keys.has(normalizeKey(raw));
    if (!hit) {
      const words = raw.length <= 256 ? splitWords(raw).slice(0, 8) : [];
      for (let i = 0; i < words.length && !hit; i++) {
        let joined = '';
        for (let j = i; j < words.length && !hit; j++) {
          joined += words[j];
          hit = this.keys.has(joined);
        }
      }
    }
    if (this.memo.size >= 4096) this.memo.clear();
    this.memo.set(raw, hit);
    return hit;
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

/** Lower-case words of a key: split at `_`, `-`, `.`, spaces and camelCase boundaries (`APIKeyId` -> api, key, id). */
export function splitWords(raw: string): string[] {
  const words: string[] = [];
  let word = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 95 || c === 45 || c === 46 || c === 32) {
      if (word) words.push(word);
      word = '';
      continue;
    }
    const upper = c >= 65 && c <= 90;
    if (upper && word) {
      const prev = raw.charCodeAt(i - 1);
      const next = i + 1 < raw.length ? raw.charCodeAt(i + 1) : 0;
      const prevLower = (prev >= 97 && prev <= 122) || (prev >= 48 && prev <= 57);
      const prevUpper = prev >= 65 && prev <= 90;
      if (prevLower || (prevUpper && next >= 97 && next <= 122)) {
        words.push(word);
        word = '';
      }
    }
    word += raw[i].toLowerCase();
  }
  if (word) words.push(word);
  return words;
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
