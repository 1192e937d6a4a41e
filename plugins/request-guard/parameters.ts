import type { Parameter } from './operations';

/**
 * Parameter deserialization as OpenAPI 3.x defines styles and explode (simple, label, matrix for path; form,
 * spaceDelimited, pipeDelimited, deepObject for query; simple for headers; form for cookies): the strings a request
 * carries become the scalar, array or object the schema describes, still as strings (ajv coerces them to the
 * schema's types, as express-openapi-validator does). Hand-written splitting, linear. Pure.
 */
export type QueryPairs = Array<[string, string]>;

export interface ParameterSources {
  query: QueryPairs;
  headers: Record<string, string[]>;
  cookies: Record<string, string>;
  path: Record<string, string>;
}

type Shape = 'array' | 'object' | 'scalar';

export function shapeOf(schema: Record<string, unknown>): Shape {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'array' || (type === undefined && schema.items !== undefined)) return 'array';
  if (type === 'object' || (type === undefined && schema.properties !== undefined)) return 'object';
  return 'scalar';
}

export function safeDecode(text: string): string {
  if (text.indexOf('%') < 0) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function split(text: string, by: string): string[] {
  return text === '' ? [] : text.split(by);
}

function pairsToObject(items: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < items.length; i += 2) out[items[i]] = items[i + 1];
  return out;
}

function keyValues(items: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** simple style (path, header): "a,b,c"; objects "k,v,k2,v2" or, exploded, "k=v,k2=v2". */
function simple(text: string, shape: Shape, explode: boolean): unknown {
  if (shape === 'array') return split(text, ',');
  if (shape === 'object') return explode ? keyValues(split(text, ',')) : pairsToObject(split(text, ','));
  return text;
}

function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The value of `p` in the request, or undefined when absent. `consumed` collects the query names it used. */
export function readParameter(p: Parameter, sources: ParameterSources, consumed: Set<string>): unknown {
  const shape = p.json ? 'scalar' : shapeOf(p.schema);
  switch (p.in) {
    case 'path': {
      const raw = sources.path[p.name];
      if (raw === undefined) return undefined;
      if (p.json) return jsonValue(safeDecode(raw));
      let text = raw;
      if (p.style === 'label') {
        if (!text.startsWith('.')) return safeDecode(text);
        text = text.slice(1);
        if (shape === 'array') return split(text, p.explode ? '.' : ',').map(safeDecode);
        if (shape === 'object') return p.explode ? mapValues(keyValues(split(text, '.')), safeDecode) : mapValues(pairsToObject(split(text, ',')), safeDecode);
        return safeDecode(text);
      }
      if (p.style === 'matrix') {
        const prefix = `;${p.name}=`;
        if (shape === 'array' && p.explode) {
          return text
            .split(';')
            .slice(1)
            .map((part) => (part.startsWith(`${p.name}=`) ? safeDecode(part.slice(p.name.length + 1)) : safeDecode(part)));
        }
        if (shape === 'object' && p.explode) return mapValues(keyValues(text.split(';').slice(1)), safeDecode);
        if (text.startsWith(prefix)) text = text.slice(prefix.length);
        else if (text === `;${p.name}`) text = '';
        const value = simple(text, shape, false);
        return decodeDeep(value);
      }
      return decodeDeep(simple(text, shape, p.explode));
    }
    case 'header': {
      const values = sources.headers[p.name];
      if (values === undefined) return undefined;
      const text = values.join(', ');
      return p.json ? jsonValue(text) : simple(text, shape, p.explode);
    }
    case 'cookie': {
      const text = sources.cookies[p.name];
      if (text === undefined) return undefined;
      if (p.json) return jsonValue(text);
      if (shape === 'array') return split(text, ',');
      if (shape === 'object') return pairsToObject(split(text, ','));
      return text;
    }
    case 'query':
      return readQuery(p, shape, sources.query, consumed);
  }
}

function readQuery(p: Parameter, shape: Shape, pairs: QueryPairs, consumed: Set<string>): unknown {
  if (p.json) {
    const found = pairs.find(([name]) => name === p.name);
    if (!found) return undefined;
    consumed.add(p.name);
    return jsonValue(found[1]);
  }
  if (shape === 'object') {
    if (p.style === 'deepObject') {
      const prefix = `${p.name}[`;
      const out: Record<string, string> = Object.create(null) as Record<string, string>;
      let any = false;
      for (const [name, value] of pairs) {
        if (name.startsWith(prefix) && name.endsWith(']')) {
          out[name.slice(prefix.length, -1)] = value;
          consumed.add(name);
          any = true;
        }
      }
      return any ? out : undefined;
    }
    if (p.explode) {
      const properties = (p.schema.properties ?? {}) as Record<string, unknown>;
      const out: Record<string, string> = Object.create(null) as Record<string, string>;
      let any = false;
      for (const [name, value] of pairs) {
        if (Object.prototype.hasOwnProperty.call(properties, name)) {
          out[name] = value;
          consumed.add(name);
          any = true;
        }
      }
      return any ? out : undefined;
    }
  }
  const values: string[] = [];
  for (const [name, value] of pairs) if (name === p.name) values.push(value);
  if (values.length === 0) return undefined;
  consumed.add(p.name);
  if (shape === 'array') {
    if (p.explode && p.style === 'form') return values;
    const by = p.style === 'spaceDelimited' ? ' ' : p.style === 'pipeDelimited' ? '|' : ',';
    return values.flatMap((v) => split(v, by));
  }
  if (shape === 'object') return pairsToObject(split(values[0], ','));
  return values.length === 1 ? values[0] : values;
}

function mapValues(object: Record<string, string>, fn: (v: string) => string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(object)) out[k] = fn(v);
  return out;
}

function decodeDeep(value: unknown): unknown {
  if (typeof value === 'string') return safeDecode(value);
  if (Array.isArray(value)) return value.map((v) => safeDecode(v as string));
  if (value && typeof value === 'object') return mapValues(value as Record<string, string>, safeDecode);
  return value;
}

/** application/x-www-form-urlencoded (and query strings): '+' is a space, names and values percent-decoded. */
export function parseUrlEncoded(text: string, max: number): QueryPairs | 'too-many' {
  const pairs: QueryPairs = [];
  if (text === '') return pairs;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      if (pairs.length >= max) return 'too-many';
      const part = text.slice(start, end);
      const eq = part.indexOf('=');
      const name = formDecode(eq < 0 ? part : part.slice(0, eq));
      pairs.push([name, eq < 0 ? '' : formDecode(part.slice(eq + 1))]);
    }
    start = end + 1;
  }
  return pairs;
}

function formDecode(text: string): string {
  return safeDecode(text.indexOf('+') < 0 ? text : text.split('+').join(' '));
}

/** Cookie header(s) to name -> value (first wins, as servers usually do). */
export function parseCookies(headers: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!headers) return out;
  for (const header of headers) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      if (name && !(name in out)) out[name] = part.slice(eq + 1).trim();
    }
  }
  return out;
}
