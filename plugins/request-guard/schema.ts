import { field, type InferFields } from '../../shared/schema';
import { documentProblem } from './document';
import { CATEGORIES } from './detectors';
import { parseLocationPattern } from './free-text';

export const PARTS = ['path', 'query', 'header', 'cookie', 'body'] as const;
export type RequestPart = (typeof PARTS)[number];
export const ACTIONS = ['off', 'log', 'block'] as const;
export type InjectionAction = (typeof ACTIONS)[number];

const MiB = 1024 * 1024;
const action = (what: string) =>
  field.string({ one_of: ACTIONS, default: 'block' as InjectionAction, description: `${what}: "off", "log" (log and count, let through) or "block" (403).` });

export const fields = {
  openapi_spec: field.string({
    len_max: 4 * MiB,
    description: 'An OpenAPI 3.0/3.1 document inline (JSON or YAML). $refs to local files resolve against the working directory; never over the network.',
  }),
  openapi_file: field.string({
    len_max: 4096,
    description: 'Path of an OpenAPI 3.0/3.1 document (JSON or YAML) on the Kong host; $refs to other local files resolve against its directory.',
  }),
  json_schema: field.string({
    len_max: 4 * MiB,
    description: 'An inline JSON Schema (2020-12, JSON text) every JSON request body of the route must match; instead of an OpenAPI document.',
  }),
  base_path: field.string({
    len_max: 512,
    pattern: '^/[^?#]*$',
    lua_match: '^/[^?#]*$',
    description: 'Request path prefix before the OpenAPI paths (e.g. the route prefix plus the server path); default: the path of the first servers[] URL.',
  }),
  unknown_operation: field.string({
    one_of: ['reject', 'pass'] as const,
    default: 'reject',
    description: 'A request matching no operation of the document: 404 (or 405 when only the method is unknown), or pass unvalidated.',
  }),
  unknown_query_parameters: field.string({
    one_of: ['reject', 'allow'] as const,
    default: 'reject',
    description: 'Query parameters an operation does not declare: a validation error (as express-openapi-validator does) or allowed.',
  }),
  validate: field.set(field.string({ one_of: PARTS }), {
    default: [...PARTS] as RequestPart[],
    description: 'Parts of the request validated against the operation: path, query, header, cookie, body (content type included).',
  }),
  error_detail: field.string({
    one_of: ['production', 'debug'] as const,
    default: 'production',
    description: 'Problem bodies list every violation with its location; "debug" adds schema keywords, schema paths and ajv parameters.',
  }),
  multipart: field.string({
    one_of: ['refuse', 'pass'] as const,
    default: 'refuse',
    description: 'multipart/* bodies are not parsed: refuse them (415), or pass them with only the size limit applied.',
  }),
  limits: field.record({
    max_body_bytes: field.integer({ default: MiB, between: [1, 64 * MiB], description: 'Largest request body in bytes (Content-Length checked before the body is read): 413 above.' }),
    max_json_depth: field.integer({ default: 32, between: [1, 512], description: 'Deepest nesting of JSON objects and arrays, scanned before parsing.' }),
    max_array_length: field.integer({ default: 10000, between: [1, 10000000], description: 'Most elements in one JSON array, scanned before parsing.' }),
    max_string_length: field.integer({ default: 65536, between: [1, 64 * MiB], description: 'Longest JSON string (key or value) and parameter value, in characters.' }),
    max_object_keys: field.integer({ default: 1000, between: [1, 1000000], description: 'Most members in one JSON object, scanned before parsing.' }),
    max_parameters: field.integer({ default: 100, between: [1, 1000], description: 'Most query parameters, and most form fields in a urlencoded body.' }),
  }),
  injection: field.record({
    sql: action('SQL injection in parameters and JSON strings'),
    nosql: action('NoSQL operators ($where, $ne, ...) in JSON keys and parameters, and server-side JavaScript'),
    command: action('Shell command injection'),
    path_traversal: action('Path traversal (../ in its encoded forms) and NUL bytes'),
    crlf: action('CR/LF in header values, parameters and path segments'),
    xss: action('Script injection (tags, event handlers, javascript: URLs)'),
  }),
  free_text: field.array(field.string({ len_max: 512, pattern: '^(path|query|header|cookie|body)(/[^/]+)*$' }), {
    default: [],
    description: 'Locations holding free text, scanned only for structure (NoSQL keys), e.g. "body/description", "body/comments/*/text", "query/q".',
  }),
  max_decode_passes: field.integer({ default: 3, between: [1, 5], description: 'How many times a value is URL-decoded (and HTML-entity decoded) before scanning: %2527 needs 3.' }),
};

export type RequestGuardConfig = InferFields<typeof fields> & { failure_policy: 'fail_open' | 'fail_closed' };

type Check = (config: RequestGuardConfig) => [string, string] | undefined;

const oneSource: Check = (config) => {
  const given = (['openapi_spec', 'openapi_file', 'json_schema'] as const).filter((key) => config[key] !== null && config[key] !== undefined);
  if (given.length > 1) return [given[1], `only one of openapi_spec, openapi_file, json_schema may be set (also set: ${given[0]})`];
  return undefined;
};

const documentLoads: Check = (config) => documentProblem(config);

const freeTextParses: Check = (config) => {
  for (const [i, location] of (config.free_text ?? []).entries()) {
    const reason = parseLocationPattern(location).error;
    if (reason) return [`free_text[${i}]`, reason];
  }
  return undefined;
};

export const checks: Check[] = [oneSource, documentLoads, freeTextParses];
export { CATEGORIES };
