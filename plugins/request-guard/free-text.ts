/**
 * Locations a route declares as free text (`free_text`: "body/description", "body/comments/* /text", "query/q"):
 * prose and code snippets live there, so their values are not scanned for injection (only the structure around
 * them is: NoSQL operator keys). A segment `*` matches any one segment (an array index or a key). Pure.
 */
export interface LocationPattern {
  segments: string[];
  error?: string;
}

export function parseLocationPattern(text: string): LocationPattern {
  const segments = text.split('/');
  if (segments.some((s) => s === '')) return { segments, error: `"${text}" has an empty segment` };
  if (segments.length === 1 && segments[0] !== 'body') return { segments, error: `"${text}" names no parameter (e.g. "query/q")` };
  return { segments };
}

export class FreeText {
  private readonly patterns: string[][];

  constructor(locations: readonly string[]) {
    this.patterns = locations.map((l) => parseLocationPattern(l).segments);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** `location`: ['body', 'comments', '3', 'text'] or ['query', 'q']. */
  has(location: readonly string[]): boolean {
    for (const pattern of this.patterns) {
      if (pattern.length !== location.length) continue;
      let i = 0;
      while (i < pattern.length && (pattern[i] === '*' || pattern[i] === location[i])) i++;
      if (i === pattern.length) return true;
    }
    return false;
  }
}
