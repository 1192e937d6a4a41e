import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type { ContractSource } from './document';
import { addFormats, re2RegExp } from './formats';
import { convertSchema30, forEachSchema } from './openapi-schema';
import { OperationTable, type Match, type Operation, type Parameter } from './operations';
import { readParameter, type ParameterSources } from './parameters';

/**
 * A route's compiled contract: the OpenAPI document bundled (json-schema-ref-parser: external LOCAL files inlined,
 * http resolution off, a time budget), its 3.0 schemas rewritten for ajv's 2020-12 dialect, and one ajv validator
 * per operation and request part, compiled once per config (yielding to the event loop between operations so a
 * large document never blocks the plugin server for long). Validation is then synchronous and pure.
 */
export interface Violation {
  location: string;
  message: string;
  keyword?: string;
  schema_path?: string;
  params?: Record<string, unknown>;
}

export interface MediaValidator {
  range: string;
  kind: 'json' | 'form' | 'multipart' | 'other';
  validate?: ValidateFunction;
}

interface CompiledOperation {
  operation: Operation;
  parameters: Map<Parameter['in'], { list: Parameter[]; validate: ValidateFunction }>;
  media: MediaValidator[];
}

const DOC_ID = 'openapi.json';
const PART_NAMES: Record<Parameter['in'], string> = { path: 'path', query: 'query', header: 'header', cookie: 'cookie' };

function newAjv(coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateSchema: false,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: false,
    code: { regExp: re2RegExp as never },
  });
  addFormats(ajv as never);
  // in a request, a readOnly property must not be sent (OpenAPI 3.x; express-openapi-validator agrees)
  ajv.removeKeyword('readOnly');
  ajv.addKeyword({
    keyword: 'readOnly',
    schemaType: 'boolean',
    errors: true,
    validate: function readOnly(schema: boolean, _data: unknown, _parent: unknown, ctx?: { parentDataProperty?: string | number }) {
      if (!schema || ctx?.parentDataProperty === undefined) return true;
      (readOnly as unknown as { errors: unknown[] }).errors = [{ keyword: 'readOnly', message: 'is read-only', params: {} }];
      return false;
    },
  });
  return ajv;
}

export function mediaKind(range: string): MediaValidator['kind'] {
  const essence = range.split(';')[0].trim();
  if (essence === 'application/json' || essence.endsWith('+json') || essence === '*/*' || essence === 'application/*') return essence.includes('*') ? 'other' : 'json';
  if (essence === 'application/x-www-form-urlencoded') return 'form';
  if (essence.startsWith('multipart/')) return 'multipart';
  return 'other';
}

/** Removes readOnly properties from `required` (a client does not send them). */
function dropReadOnlyRequired(schema: unknown, seen = new Set<unknown>()): void {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
  seen.add(schema);
  const s = schema as Record<string, unknown>;
  const props = s.properties as Record<string, Record<string, unknown>> | undefined;
  if (Array.isArray(s.required) && props && typeof props === 'object') s.required = (s.required as string[]).filter((name) => props[name]?.readOnly !== true);
  for (const value of Object.values(s)) if (value && typeof value === 'object') dropReadOnlyRequired(value, seen);
}

export class Contract {
  private constructor(
    readonly table: OperationTable | undefined,
    private readonly compiled: Map<Operation, CompiledOperation>,
    private readonly bodyOnly: ValidateFunction | undefined,
    readonly basePath: string,
  ) {}

  static async compile(source: ContractSource, basePath: string | undefined, timeoutMs = 10000): Promise<Contract> {
    if (source.kind === 'none') return new Contract(undefined, new Map(), undefined, basePath ?? '/');
    if (source.kind === 'json-schema') {
      const schema = (await bundle(structuredClone(source.schema), undefined, timeoutMs)) as Record<string, unknown>;
      dropReadOnlyRequired(schema);
      return new Contract(undefined, new Map(), newAjv(false).compile(schema), basePath ?? '/');
    }
    const document = (await bundle(structuredClone(source.document), source.baseFile, timeoutMs)) as Record<string, unknown>;
    if (source.version === '3.0') forEachSchema(document, (schema) => convertSchema30(schema));
    dropReadOnlyRequired(document);
    const bodyAjv = newAjv(false);
    const paramAjv = newAjv(true);
    bodyAjv.addSchema(document, DOC_ID);
    paramAjv.addSchema(document, DOC_ID);
    const table = new OperationTable(document);
    const compiled = new Map<Operation, CompiledOperation>();
    for (const [i, operation] of table.operations.entries()) {
      compiled.set(operation, compileOperation(operation, bodyAjv, paramAjv));
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
    return new Contract(table, compiled, undefined, basePath ?? serverPath(document));
  }

  get hasOperations(): boolean {
    return this.table !== undefined;
  }

  get bodySchema(): ValidateFunction | undefined {
    return this.bodyOnly;
  }

  /** `path` is Kong's normalized request path; undefined when it is outside the base path or matches nothing. */
  locate(method: string, path: string): Match | undefined {
    if (!this.table) return undefined;
    const relative = stripBase(path, this.basePath);
    return relative === undefined ? undefined : this.table.match(method, relative);
  }

  validateParameters(operation: Operation, sources: ParameterSources, parts: ReadonlySet<string>, rejectUnknownQuery: boolean): Violation[] {
    const compiled = this.compiled.get(operation);
    if (!compiled) return [];
    const violations: Violation[] = [];
    const consumed = new Set<string>();
    for (const [where, { list, validate }] of compiled.parameters) {
      const values: Record<string, unknown> = {};
      for (const p of list) {
        const value = readParameter(p, sources, consumed);
        if (value !== undefined) values[p.name] = value;
      }
      if (!parts.has(PART_NAMES[where])) continue;
      if (!validate(values)) violations.push(...toViolations(validate.errors, PART_NAMES[where]));
    }
    if (rejectUnknownQuery && parts.has('query')) {
      for (const [name] of sources.query) {
        if (!consumed.has(name)) {
          violations.push({ location: `query/${name}`, message: 'is not a parameter of this operation', keyword: 'additionalProperties' });
          consumed.add(name);
        }
      }
    }
    return violations;
  }

  /** The operation's media type for a Content-Type (exact, then type/*, then * /*). */
  media(operation: Operation, contentType: string): MediaValidator | undefined {
    const compiled = this.compiled.get(operation);
    if (!compiled) return undefined;
    const essence = contentType.split(';')[0].trim().toLowerCase();
    const slash = essence.indexOf('/');
    const wildcard = `${essence.slice(0, slash)}/*`;
    return compiled.media.find((m) => m.range.split(';')[0].trim() === essence) ?? compiled.media.find((m) => m.range === wildcard) ?? compiled.media.find((m) => m.range === '*/*');
  }

  mediaRanges(operation: Operation): string[] {
    return this.compiled.get(operation)?.media.map((m) => m.range) ?? [];
  }
}

function compileOperation(operation: Operation, bodyAjv: Ajv2020, paramAjv: Ajv2020): CompiledOperation {
  const parameters: CompiledOperation['parameters'] = new Map();
  for (const where of ['path', 'query', 'header', 'cookie'] as const) {
    const list = operation.parameters.filter((p) => p.in === where);
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const p of list) {
      properties[p.name] = p.schemaPointer ? { $ref: `${DOC_ID}#${p.schemaPointer}` } : {};
      if (p.required) required.push(p.name);
    }
    if (list.length === 0 && where !== 'query') continue;
    parameters.set(where, { list, validate: paramAjv.compile({ type: 'object', properties, required }) });
  }
  const media: MediaValidator[] = (operation.body?.media ?? []).map((m) => {
    const kind = mediaKind(m.range);
    const ajv = kind === 'form' ? paramAjv : bodyAjv;
    const validate = m.schema !== undefined && (kind === 'json' || kind === 'form' || kind === 'other') ? ajv.compile({ $ref: `${DOC_ID}#${m.pointer}` }) : undefined;
    return { range: m.range, kind, validate };
  });
  return { operation, parameters, media };
}

export function toViolations(errors: ErrorObject[] | null | undefined, part: string): Violation[] {
  if (!errors) return [];
  return errors.map((e) => {
    let location = part + e.instancePath;
    if (e.keyword === 'required') location += `/${String((e.params as { missingProperty: string }).missingProperty)}`;
    if (e.keyword === 'additionalProperties') location += `/${String((e.params as { additionalProperty: string }).additionalProperty)}`;
    if (e.keyword === 'unevaluatedProperties') location += `/${String((e.params as { unevaluatedProperty: string }).unevaluatedProperty)}`;
    return { location, message: e.message ?? 'is invalid', keyword: e.keyword, schema_path: e.schemaPath, params: e.params as Record<string, unknown> };
  });
}

/**
 * Inlines external (local file) refs; internal ones stay refs, which ajv resolves in the registered document (so
 * recursive schemas work). json-schema-ref-parser is an ES module: loaded (require(esm), Node >= 20.19) only when a
 * document has an external ref.
 */
async function bundle(schema: object, baseFile: string | undefined, timeoutMs: number): Promise<object> {
  if (!hasExternalRef(schema)) return schema;
  const options = { resolve: { http: false as const, external: true }, timeoutMs, mutateInputSchema: true };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('@apidevtools/json-schema-ref-parser') as { default?: unknown; $RefParser?: unknown };
  const parser = (mod.$RefParser ?? mod.default ?? mod) as { bundle(...args: unknown[]): Promise<object> };
  return baseFile ? parser.bundle(baseFile, schema, options) : parser.bundle(schema, options);
}

function serverPath(document: Record<string, unknown>): string {
  const servers = document.servers;
  if (!Array.isArray(servers) || !servers[0] || typeof (servers[0] as { url?: unknown }).url !== 'string') return '/';
  const url = (servers[0] as { url: string }).url.replace(/\{[^}]*\}/g, 'x');
  try {
    return new URL(url, 'http://placeholder').pathname || '/';
  } catch {
    return '/';
  }
}

function stripBase(path: string, base: string): string | undefined {
  if (base === '/' || base === '') return path;
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (path === b) return '/';
  return path.startsWith(`${b}/`) ? path.slice(b.length) : undefined;
}

function hasExternalRef(node: unknown): boolean {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    if (Array.isArray(n)) stack.push(...n);
    else if (n && typeof n === 'object') {
      const ref = (n as Record<string, unknown>).$ref;
      if (typeof ref === 'string' && !ref.startsWith('#')) return true;
      stack.push(...Object.values(n));
    }
  }
  return false;
}
