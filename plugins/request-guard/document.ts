import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Where the route's contract comes from, read synchronously and checked offline when the config is validated
 * (instance start and `kong-plugins validate`): the document parses, is OpenAPI 3.0 or 3.1, and every `$ref`
 * resolves to this document or another LOCAL file (a ref with a scheme such as http: is refused: nothing is ever
 * fetched over the network). Bounded: at most MAX_FILES files of MAX_FILE_BYTES each.
 */
export const MAX_FILES = 64;
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export type ContractSource =
  | { kind: 'openapi'; document: Record<string, unknown>; version: '3.0' | '3.1'; baseFile: string }
  | { kind: 'json-schema'; schema: Record<string, unknown> }
  | { kind: 'none' };

interface SourceConfig {
  openapi_spec?: string | null;
  openapi_file?: string | null;
  json_schema?: string | null;
}

export class DocumentError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function parseText(text: string, where: string): unknown {
  const trimmed = text.trimStart();
  try {
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return JSON.parse(text);
    return parseYaml(text, { maxAliasCount: 100, merge: false });
  } catch (err) {
    throw new Error(`${where} does not parse as JSON or YAML: ${(err as Error).message}`);
  }
}

function readFile(file: string): unknown {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`file ${file} does not exist`);
  }
  if (!stat.isFile()) throw new Error(`${file} is not a file`);
  if (stat.size > MAX_FILE_BYTES) throw new Error(`${file} is larger than ${MAX_FILE_BYTES} bytes`);
  return parseText(fs.readFileSync(file, 'utf8'), file);
}

/** Reads the configured contract; throws DocumentError naming the config field. */
export function readContract(config: SourceConfig): ContractSource {
  if (config.json_schema) {
    let schema: unknown;
    try {
      schema = JSON.parse(config.json_schema);
    } catch (err) {
      throw new DocumentError('json_schema', `is not JSON: ${(err as Error).message}`);
    }
    if (!isObject(schema) && typeof schema !== 'boolean') throw new DocumentError('json_schema', 'must be a JSON Schema object');
    if (isObject(schema)) assertLocalRefs(schema, 'json_schema', path.resolve('inline-schema.json'), new Map());
    return { kind: 'json-schema', schema: isObject(schema) ? schema : {} };
  }
  const fieldName = config.openapi_file ? 'openapi_file' : config.openapi_spec ? 'openapi_spec' : undefined;
  if (!fieldName) return { kind: 'none' };
  let document: unknown;
  let baseFile: string;
  try {
    if (config.openapi_file) {
      baseFile = path.resolve(config.openapi_file);
      document = readFile(baseFile);
    } else {
      baseFile = path.resolve('inline-openapi.json');
      document = parseText(config.openapi_spec as string, 'the document');
    }
  } catch (err) {
    throw new DocumentError(fieldName, (err as Error).message);
  }
  if (!isObject(document)) throw new DocumentError(fieldName, 'is not an OpenAPI document (an object expected)');
  const declared = typeof document.openapi === 'string' ? document.openapi : '';
  const version = /^3\.0\.\d+/.test(declared) ? '3.0' : /^3\.1\.\d+/.test(declared) ? '3.1' : undefined;
  if (!version) throw new DocumentError(fieldName, `openapi must be 3.0.x or 3.1.x (got ${JSON.stringify(document.openapi ?? null)})`);
  if (!isObject(document.paths) && !isObject(document.webhooks)) throw new DocumentError(fieldName, 'has no paths');
  try {
    assertLocalRefs(document, fieldName, baseFile, new Map([[baseFile, document]]));
  } catch (err) {
    if (err instanceof DocumentError) throw err;
    throw new DocumentError(fieldName, (err as Error).message);
  }
  return { kind: 'openapi', document, version, baseFile };
}

/** For the schema checks: [field, reason] when the contract cannot be read. */
export function documentProblem(config: SourceConfig): [string, string] | undefined {
  try {
    readContract(config);
    return undefined;
  } catch (err) {
    if (err instanceof DocumentError) return [err.field, err.message];
    return ['openapi_spec', (err as Error).message];
  }
}

/** Every $ref is internal (and resolves) or names a local file that exists, parses and holds the pointer. */
function assertLocalRefs(root: unknown, fieldName: string, file: string, files: Map<string, unknown>): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObject(node)) return;
    const ref = node.$ref;
    if (typeof ref === 'string') checkRef(ref);
    for (const key of Object.keys(node)) if (key !== '$ref') visit(node[key]);
  };
  const checkRef = (ref: string): void => {
    const hash = ref.indexOf('#');
    const target = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? '' : ref.slice(hash + 1);
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !/^[a-z]:[\\/]/i.test(target)) {
      throw new DocumentError(fieldName, `$ref "${ref}" is not a local file (network references are never fetched)`);
    }
    if (target === '') {
      if (resolvePointer(root, pointer) === undefined) throw new DocumentError(fieldName, `$ref "${ref}" in ${path.basename(file)} points nowhere`);
      return;
    }
    const other = path.resolve(path.dirname(file), decodeURIComponent(target));
    if (!files.has(other)) {
      if (files.size >= MAX_FILES) throw new DocumentError(fieldName, `more than ${MAX_FILES} files referenced`);
      let content: unknown;
      try {
        content = readFile(other);
      } catch (err) {
        throw new DocumentError(fieldName, `$ref "${ref}": ${(err as Error).message}`);
      }
      files.set(other, content);
      assertLocalRefs(content, fieldName, other, files);
    }
    if (pointer && resolvePointer(files.get(other), pointer) === undefined) throw new DocumentError(fieldName, `$ref "${ref}" points nowhere in ${path.basename(other)}`);
  };
  visit(root);
}

/** RFC 6901 JSON pointer (the part after '#'); undefined when absent. */
export function resolvePointer(root: unknown, pointer: string): unknown {
  if (pointer === '' || pointer === '/') return pointer === '' ? root : isObject(root) ? root[''] : undefined;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
