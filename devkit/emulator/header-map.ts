/** Case-insensitive multi-value headers, as nginx keeps them (lower-cased names in Kong's `get_headers`). */
export class HeaderMap {
  private readonly entries = new Map<string, { name: string; values: string[] }>();

  static from(input: Record<string, string | string[] | number | undefined> | HeaderMap | undefined): HeaderMap {
    const map = new HeaderMap();
    if (!input) return map;
    if (input instanceof HeaderMap) {
      for (const [name, values] of input.rawEntries()) map.set(name, [...values]);
      return map;
    }
    for (const [name, value] of Object.entries(input)) {
      if (value === undefined) continue;
      map.set(name, Array.isArray(value) ? value.map(String) : [String(value)]);
    }
    return map;
  }

  get(name: string): string | undefined {
    return this.entries.get(name.toLowerCase())?.values[0];
  }

  getAll(name: string): string[] | undefined {
    return this.entries.get(name.toLowerCase())?.values;
  }

  has(name: string): boolean {
    return this.entries.has(name.toLowerCase());
  }

  set(name: string, values: string | string[]): void {
    this.entries.set(name.toLowerCase(), { name, values: Array.isArray(values) ? values : [values] });
  }

  add(name: string, value: string): void {
    const existing = this.entries.get(name.toLowerCase());
    if (existing) existing.values.push(value);
    else this.set(name, [value]);
  }

  delete(name: string): void {
    this.entries.delete(name.toLowerCase());
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** `{lower-case name: string | string[]}` as Lua's get_headers returns it (one value: a string). */
  toLuaTable(max = 100): Record<string, string | string[]> {
    const table: Record<string, string | string[]> = {};
    let count = 0;
    for (const [lower, entry] of this.entries) {
      if (count >= max) break;
      table[lower] = entry.values.length === 1 ? entry.values[0] : [...entry.values];
      count += entry.values.length;
    }
    return table;
  }

  /** Node http's outgoing shape, original casing kept. */
  toNodeHeaders(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const { name, values } of this.entries.values()) out[name] = values.length === 1 ? values[0] : values;
    return out;
  }

  *rawEntries(): IterableIterator<[string, string[]]> {
    for (const { name, values } of this.entries.values()) yield [name, values];
  }
}
