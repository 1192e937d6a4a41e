/**
 * A decoded value built char by char into typed arrays (no per-char string or array growth), with each decoded
 * char's raw offset: JSON escapes and XML entities decode in time and memory linear in the raw length.
 */
export class DecodedText {
  private readonly codes: Uint16Array;
  readonly map: Int32Array;
  length = 0;

  private constructor(capacity: number) {
    this.codes = new Uint16Array(capacity);
    this.map = new Int32Array(capacity + 1);
  }

  private static scratch: DecodedText | undefined;

  /**
   * A decoder for up to `capacity` chars. Small values reuse one scratch buffer (a body of many short escaped
   * strings allocates nothing per string): the result's map is valid until the next decode, which is how the
   * maskers use it (edits are mapped back right away).
   */
  static forCapacity(capacity: number): DecodedText {
    if (capacity > 4096) return new DecodedText(capacity);
    const scratch = (DecodedText.scratch ??= new DecodedText(4096));
    scratch.length = 0;
    return scratch;
  }

  push(code: number, rawOffset: number): void {
    this.codes[this.length] = code;
    this.map[this.length++] = rawOffset;
  }

  /** Copies raw[from, to) as is. */
  copy(raw: string, from: number, to: number): void {
    const codes = this.codes;
    const map = this.map;
    let n = this.length;
    for (let k = from; k < to; k++) {
      codes[n] = raw.charCodeAt(k);
      map[n++] = k;
    }
    this.length = n;
  }

  finish(end: number): { text: string; map: Int32Array } {
    this.map[this.length] = end;
    const parts: string[] = [];
    for (let i = 0; i < this.length; i += 8192) parts.push(String.fromCharCode.apply(null, this.codes.subarray(i, Math.min(this.length, i + 8192)) as unknown as number[]));
    return { text: parts.join(''), map: this.map.subarray(0, this.length + 1) };
  }
}
