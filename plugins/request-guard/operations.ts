import { isObject, resolvePointer } from './document';

/**
 * The operations of a bundled OpenAPI document, found by method + path template as OpenAPI defines matching:
 * concrete segments before templated ones (/pets/mine before /pets/{id}), a template segment may mix literals and
 * parameters ({name}.{ext}), a parameter never spans a '/'. Matching splits the path once and compares segment by
 * segment: linear in the path, no regular expression. Pure.
 */
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  style: string;
  explode: boolean;
  allowReserved: boolean;
  allowEmptyValue: boolean;
  /** JSON pointer of the schema in the bundled document (ajv compiles it by reference), or undefined. */
  schemaPointer?: string;
  /** The schema itself (refs followed) for its shape: array, object, scalar. */
  schema: Record<string, unknown>;
  /** content-encoded parameter (application/json): parsed as JSON before validation. */
  json: boolean;
}

export interface Operation {
  method: string;
  template: string;
  pointer: string;
  operationId?: string;
  parameters: Parameter[];
  body?: { required: boolean; media: Array<{ range: string; pointer: string; schema: Record<string, unknown> | undefined }> };
}

type Segment = { literal: string } | { parts: Array<string | { param: string }> };

interface CompiledPath {
  template: string;
  segments: Segment[];
  rank: string;
  operations: Map<string, Operation>;
}

export interface Match {
  operation?: Operation;
  /** Methods the path allows when the method is not among them. */
  allowed?: string[];
  pathParams: Record<string, string>;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function deref(document: unknown, node: unknown, hops = 16): { value: unknown; pointer?: string } {
  let pointer: string | undefined;
  while (isObject(node) && typeof node.$ref === 'string' && hops-- > 0) {
    pointer = node.$ref.startsWith('#') ? node.$ref.slice(1) : undefined;
    if (pointer === undefined) return { value: undefined };
    node = resolvePointer(document, pointer);
  }
  return { value: node, pointer };
}

function compileSegment(text: string): Segment {
  if (!text.includes('{')) return { literal: text };
  const parts: Array<string | { param: string }> = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = text.indexOf('}', open);
    if (close < 0) {
      parts.push(text.slice(open));
      break;
    }
    parts.push({ param: text.slice(open + 1, close) });
    i = close + 1;
  }
  return { parts };
}

function matchSegment(segment: Segment, text: string, out: Record<string, string>): boolean {
  if ('literal' in segment) return segment.literal === text;
  let at = 0;
  const parts = segment.parts;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    if (typeof part === 'string') {
      if (!text.startsWith(part, at)) return false;
      at += part.length;
      continue;
    }
    const next = parts[p + 1];
    let end: number;
    if (next === undefined) end = text.length;
    else if (typeof next === 'string') {
      end = p + 2 >= parts.length ? text.length - next.length : text.indexOf(next, at + 1);
      if (end < at + 1 || (p + 2 >= parts.length && !text.endsWith(next))) return false;
    } else return false; // {a}{b}: ambiguous, never matches
    if (end <= at) return false;
    out[part.param] = text.slice(at, end);
    at = end;
  }
  return at === text.length;
}

export class OperationTable {
  private readonly bySegments = new Map<number, CompiledPath[]>();
  readonly operations: Operation[] = [];

  constructor(document: Record<string, unknown>) {
    const paths = isObject(document.paths) ? document.paths : {};
    for (const [template, rawItem] of Object.entries(paths)) {
      const item = deref(document, rawItem).value;
      if (!isObject(item)) continue;
      const segments = template.split('/').slice(1).map(compileSegment);
      const compiled: CompiledPath = { template, segments, rank: segments.map((s) => ('literal' in s ? '0' : '1')).join(''), operations: new Map() };
      const itemPointer = `/paths/${escapePointer(template)}`;
      const shared = Array.isArray(item.parameters) ? item.parameters : [];
      for (const method of METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        const pointer = `${itemPointer}/${method}`;
        const operation: Operation = {
          method,
          template,
          pointer,
          operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
          parameters: mergeParameters(document, shared, Array.isArray(op.parameters) ? op.parameters : [], itemPointer, pointer),
          body: requestBody(document, op.requestBody, `${pointer}/requestBody`),
        };
        compiled.operations.set(method, operation);
        this.operations.push(operation);
      }
      const list = this.bySegments.get(segments.length) ?? [];
      list.push(compiled);
      this.bySegments.set(segments.length, list);
    }
    for (const list of this.bySegments.values()) list.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  }

  /** `path` relative to the base path, starting with '/'; undefined when no template matches. */
  match(method: string, path: string): Match | undefined {
    const texts = path.split('/').slice(1);
    const candidates = this.bySegments.get(texts.length);
    if (!candidates) return undefined;
    for (const candidate of candidates) {
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < texts.length && ok; i++) ok = matchSegment(candidate.segments[i], texts[i], params);
      if (!ok) continue;
      const operation = candidate.operations.get(method.toLowerCase()) ?? (method === 'HEAD' ? candidate.operations.get('get') : undefined);
      if (!operation) return { allowed: [...candidate.operations.keys()].map((m) => m.toUpperCase()), pathParams: params };
      return { operation, pathParams: params };
    }
    return undefined;
  }
}

function mergeParameters(document: unknown, shared: unknown[], own: unknown[], itemPointer: string, opPointer: string): Parameter[] {
  const byKey = new Map<string, Parameter>();
  const add = (list: unknown[], base: string) => {
    list.forEach((raw, i) => {
      const { value, pointer } = deref(document, raw);
      if (!isObject(value) || typeof value.name !== 'string' || typeof value.in !== 'string') return;
      const where = value.in as Parameter['in'];
      const at = pointer ?? `${base}/parameters/${i}`;
      const style = typeof value.style === 'string' ? value.style : where === 'query' || where === 'cookie' ? 'form' : 'simple';
      let schemaPointer: string | undefined = isObject(value.schema) ? `${at}/schema` : undefined;
      let json = false;
      if (!schemaPointer && isObject(value.content)) {
        const [media] = Object.keys(value.content);
        if (media && isObject((value.content as Record<string, unknown>)[media])) {
          schemaPointer = `${at}/content/${escapePointer(media)}/schema`;
          json = media.includes('json');
        }
      }
      const schema = schemaPointer ? (deref(document, resolvePointer(document, schemaPointer)).value as Record<string, unknown>) : {};
      // OpenAPI: names of header parameters are case-insensitive; Accept, Content-Type and Authorization are ignored
      const name = where === 'header' ? value.name.toLowerCase() : value.name;
      if (where === 'header' && (name === 'accept' || name === 'content-type' || name === 'authorization')) return;
      byKey.set(`${where}:${name}`, {
        name,
        in: where,
        required: value.required === true || where === 'path',
        style,
        explode: typeof value.explode === 'boolean' ? value.explode : style === 'form',
        allowReserved: value.allowReserved === true,
        allowEmptyValue: value.allowEmptyValue === true,
        schemaPointer,
        schema: isObject(schema) ? schema : {},
        json,
      });
    });
  };
  add(shared, itemPointer);
  add(own, opPointer);
  return [...byKey.values()];
}

function requestBody(document: unknown, raw: unknown, at: string): Operation['body'] {
  const { value, pointer } = deref(document, raw);
  if (!isObject(value) || !isObject(value.content)) return undefined;
  const base = pointer ?? at;
  const media = Object.entries(value.content as Record<string, unknown>).map(([range, m]) => {
    const schemaPointer = `${base}/content/${escapePointer(range)}/schema`;
    const schema = isObject(m) && m.schema !== undefined ? (deref(document, m.schema).value as Record<string, unknown>) : undefined;
    return { range: range.toLowerCase(), pointer: schemaPointer, schema: isObject(m) && m.schema !== undefined ? schema : undefined };
  });
  return { required: value.required === true, media };
}
