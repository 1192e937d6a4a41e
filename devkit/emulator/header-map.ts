/**
 * Case-insensitive multi-value headers, as nginx keeps them (lower-cased names in Kong's `get_headers`). Every value
 * is one header line with its place in the order lines arrived: nginx's get_headers(max) counts lines in that order
 * and silently drops the rest (lua-nginx-module ngx_http_lua_ffi_req_get_headers_count; Kong's PDK keeps only the
 * table, not the "truncated" flag), so a header sent after the first 100 lines is not seen by get_headers().
 */
export class HeaderMap {
  private readonly entries = new Map<string, { name: string; values: string[]; lines: number[] }>();
  private nextLine = 0;

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

  /** Replaces a header's values: the first keeps the header's first line's place (as ngx.req.set_header does). */
  set(name: string, values: string | string[]): void {
    const list = Array.isArray(values) ? values : [values];
    const first = this.entries.get(name.toLowerCase())?.lines[0];
    const lines = list.map((_, i) => (i === 0 && first !== undefined ? first : this.nextLine++));
    this.entries.set(name.toLowerCase(), { name, values: list, lines });
  }

  /** One more line, after every line so far. */
  add(name: string, value: string): void {
    const existing = this.entries.get(name.toLowerCase());
    if (!existing) return this.set(name, [value]);
    existing.values.push(value);
    existing.lines.push(this.nextLine++);
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

  /**
   * `{lower-case name: string | string[]}` as Lua's get_headers returns it (one value: a string), from the first
   * `max` lines in arrival order.
   */
  toLuaTable(max = 100): Record<string, string | string[]> {
    const lines: Array<[number, string, string]> = [];
    for (const [lower, entry] of this.entries) entry.values.forEach((value, i) => lines.push([entry.lines[i], lower, value]));
    if (lines.length > max) lines.sort((a, b) => a[0] - b[0]).length = max;
    const grouped = new Map<string, string[]>();
    for (const [, lower, value] of lines) {
      const values = grouped.get(lower);
      if (values) values.push(value);
      else grouped.set(lower, [value]);
    }
    const table: Record<string, string | string[]> = {};
    for (const [lower, values] of grouped) table[lower] = values.length === 1 ? values[0] : values;
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
