/**
 * Byte-preserving output: replacements of `[start, end)` ranges of the original (latin1, so offsets are bytes),
 * collected in order during one pass and joined once. Everything between replacements is copied as is.
 */
export class Splicer {
  private readonly pieces: string[] = [];
  private at = 0;
  count = 0;

  constructor(private readonly source: string) {}

  replace(start: number, end: number, text: string): void {
    this.pieces.push(this.source.slice(this.at, start), text);
    this.at = end;
    this.count++;
  }

  /** The edited text, or undefined when nothing was replaced. */
  result(): string | undefined {
    if (this.count === 0) return undefined;
    this.pieces.push(this.source.slice(this.at));
    return this.pieces.join('');
  }
}
