import os from 'node:os';
import { errorTemplate, pdkErrorMessage, responseType } from './error-templates';
import type { KongPhase, RequestContext, SerializeEdit } from './request-context';
import { escapeUri } from './uri';

/**
 * Kong's PDK as the plugin server sees it through mp_rpc.lua: the functions the suite uses, with Kong's phase
 * checks (kong/pdk/*.lua), its argument checks (a Lua error aborts the plugin's handler) and its return shapes
 * (only the first Lua return value; multimaps as {name: [values]}; raw bodies as bin; empty tables as arrays).
 */
export class LuaError extends Error {
  override get name(): string {
    return 'LuaError';
  }
}

export interface PdkEnvironment {
  nodeId: string;
  logLines: Array<{ level: string; plugin: string; message: string }>;
}

type Impl = (ctx: RequestContext, args: unknown[], env: PdkEnvironment) => unknown;

interface PdkMethod {
  phases: ReadonlySet<KongPhase> | 'any';
  impl: Impl;
}

const REQUEST_PHASES = new Set<KongPhase>(['rewrite', 'access', 'response', 'log']);
const BEFORE_CONTENT = new Set<KongPhase>(['rewrite', 'access', 'response']);
const AFTER_ACCESS = new Set<KongPhase>(['access', 'response', 'log']);
const RESPONSE_WRITABLE = new Set<KongPhase>(['rewrite', 'access', 'response']);
const RESPONSE_READABLE = new Set<KongPhase>(['response', 'log']);
const SERVICE_REQUEST_WRITABLE = new Set<KongPhase>(['rewrite', 'access']);
const ACCESS_ONLY = new Set<KongPhase>(['access']);

const methods = new Map<string, PdkMethod>();

function define(name: string, phases: ReadonlySet<KongPhase> | 'any', impl: Impl): void {
  methods.set(name, { phases, impl });
}

export function lookupPdkMethod(name: string): PdkMethod | undefined {
  return methods.get(name);
}

export function phaseAllows(method: PdkMethod, phase: KongPhase): boolean {
  return method.phases === 'any' || method.phases.has(phase);
}

/** The Step variant Kong answers a PDK call with (get_step_method in mp_rpc.lua). */
const STEP_BY_METHOD: Record<string, string> = {
  'kong.client.get_credential': 'plugin.StepCredential',
  'kong.client.load_consumer': 'plugin.StepConsumer',
  'kong.client.get_consumer': 'plugin.StepConsumer',
  'kong.client.authenticate': 'plugin.StepCredential',
  'kong.node.get_memory_stats': 'plugin.StepMemoryStats',
  'kong.router.get_route': 'plugin.StepRoute',
  'kong.router.get_service': 'plugin.StepService',
  'kong.request.get_query': 'plugin.StepMultiMap',
  'kong.request.get_headers': 'plugin.StepMultiMap',
  'kong.response.get_headers': 'plugin.StepMultiMap',
  'kong.service.response.get_headers': 'plugin.StepMultiMap',
};

export function stepMethodFor(pdkMethod: string): string {
  return STEP_BY_METHOD[pdkMethod] ?? 'plugin.Step';
}

export const TERMINAL_PDK_METHODS = new Set(['kong.response.exit', 'kong.response.error']);

// ---- value shapes -------------------------------------------------------------------------------------------

/** fix_mmap: string values become one-element arrays, `true` (a bare query flag) an empty array. */
function multimap(table: Record<string, string | string[] | true>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(table)) {
    out[key] = value === true ? [] : typeof value === 'string' ? [value] : value;
  }
  return out;
}

/** lua-MessagePack packs an empty Lua table as an empty array. */
export function luaValue(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('latin1');
  if (Array.isArray(value)) return value.map(luaValue);
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return [];
    const out: Record<string, unknown> = {};
    for (const [key, inner] of entries) if (inner !== null && inner !== undefined) out[key] = luaValue(inner);
    return out;
  }
  return value;
}

function isNil(value: unknown): boolean {
  return value === null || value === undefined;
}

function requireString(value: unknown, message: string): string {
  if (typeof value !== 'string') throw new LuaError(message);
  return value;
}

function luaType(value: unknown): string {
  if (isNil(value)) return 'nil';
  if (value instanceof Uint8Array) return 'string';
  if (Array.isArray(value) || typeof value === 'object') return 'table';
  return typeof value;
}

/** Lua tables arrive as JS arrays (msgpack arrays) or objects (maps); ipairs only walks the array part. */
function ipairs(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** validate_header (kong/pdk/private/checks.lua): elements of a table value must be strings, maps pass untouched. */
function validateHeader(name: unknown, value: unknown): void {
  if (typeof name !== 'string') throw new LuaError(`invalid header name "${String(name)}": got ${luaType(name)}, expected string`);
  const type = luaType(value);
  if (type === 'table') {
    for (const element of ipairs(value)) {
      if (luaType(element) !== 'string') throw new LuaError(`invalid header value in array "${name}": got ${luaType(element)}, expected string`);
    }
  } else if (!['string', 'number', 'boolean'].includes(type)) {
    throw new LuaError(`invalid header value for "${name}": got ${type}, expected array of string, string, number or boolean`);
  }
}

function validateHeaders(headers: unknown): Record<string, unknown> {
  if (luaType(headers) !== 'table') throw new LuaError('headers must be a table');
  const table = tableEntries(headers);
  for (const [name, value] of table) {
    const type = luaType(value);
    if (type === 'table') {
      for (const element of ipairs(value)) {
        if (luaType(element) !== 'string') throw new LuaError(`invalid header value in array "${name}": got ${luaType(element)}, expected string`);
      }
    } else if (!['string', 'number', 'boolean'].includes(type)) {
      throw new LuaError(`invalid header value for "${name}": got ${type}, expected string, number, boolean or array of strings`);
    }
  }
  return Object.fromEntries(table);
}

/** pairs() over a table; an array's keys are 1-based numbers in Lua, strings here (only header maps use this). */
function tableEntries(table: unknown): Array<[string, unknown]> {
  if (Array.isArray(table)) return table.map((v, i) => [String(i + 1), v]);
  return Object.entries(table as Record<string, unknown>).filter(([, v]) => !isNil(v));
}

/** normalize_multi_header: "" becomes " " (nginx drops empty values), a map table becomes an empty list (cleared). */
function headerValues(value: unknown): string[] {
  const one = (v: unknown) => {
    const text = v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v);
    return text === '' ? ' ' : text;
  };
  if (luaType(value) === 'table') return ipairs(value).map(one);
  return [one(value)];
}

/** lua_transform_underscores_in_response_headers (on by default): ngx.header.x_a sets "x-a". */
function responseHeaderName(name: string): string {
  return name.replace(/_/g, '-');
}

function isTransferEncoding(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'transfer-encoding' || lower === 'transfer_encoding';
}

/** ngx.header[name] = value: an empty list clears the header. */
function setResponseHeader(ctx: RequestContext, name: string, values: string[]): void {
  const header = responseHeaderName(name);
  if (values.length === 0) ctx.responseHeaders.delete(header);
  else ctx.responseHeaders.set(header, values);
}

/** max_headers / max_args (kong/pdk/request.lua, response.lua, service/response.lua): numbers 1..1000. */
function limit(value: unknown, what: 'max_headers' | 'max_args', fallback = 100): number {
  if (isNil(value)) return fallback;
  if (typeof value !== 'number') throw new LuaError(`${what} must be a number`);
  if (value < 1) throw new LuaError(`${what} must be >= 1`);
  if (value > 1000) throw new LuaError(`${what} must be <= 1000`);
  return value;
}

function statusCode(value: unknown, min = 100): number {
  if (typeof value !== 'number') throw new LuaError('code must be a number');
  if (value < min || value > 599) throw new LuaError(`code must be a number between ${min} and 599`);
  return value;
}

export function parseQuery(raw: string, max = 100): Record<string, string | string[] | true> {
  const out: Record<string, string | string[] | true> = {};
  if (!raw) return out;
  let count = 0;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    if (++count > max) break;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const value: string | true = eq < 0 ? true : decodeComponent(part.slice(eq + 1));
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value === true ? '' : value);
    else out[key] = [existing === true ? '' : existing, value === true ? '' : value];
  }
  return out;
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** make_ordered_args: ngx.encode_args per key, the pieces sorted. */
function encodeQuery(args: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    const values = Array.isArray(value) ? value : [value];
    const encoded: string[] = [];
    for (const v of values) {
      if (v === true) encoded.push(encodeURIComponent(key));
      else if (v !== false && !isNil(v)) encoded.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
    }
    parts.push(encoded.join('&'));
  }
  return parts.sort().join('&');
}

/** lua-cjson's encoding: an empty table is an object, `/` is escaped. */
function cjsonEncode(value: unknown): string {
  const replacer = (_key: string, v: unknown) => (Array.isArray(v) && v.length === 0 ? {} : v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v);
  return JSON.stringify(value, replacer).replace(/\//g, '\\/');
}

// ---- kong.request -------------------------------------------------------------------------------------------

define('kong.request.get_scheme', REQUEST_PHASES, (ctx) => ctx.scheme);
define('kong.request.get_host', REQUEST_PHASES, (ctx) => ctx.host);
define('kong.request.get_port', REQUEST_PHASES, (ctx) => ctx.port);
// kong.ip.is_trusted is false for every client with the default trusted_ips, so X-Forwarded-* are never believed
define('kong.request.get_forwarded_scheme', REQUEST_PHASES, (ctx) => ctx.scheme);
define('kong.request.get_forwarded_host', REQUEST_PHASES, (ctx) => ctx.host);
define('kong.request.get_forwarded_port', REQUEST_PHASES, (ctx) => ctx.port);
define('kong.request.get_forwarded_path', REQUEST_PHASES, (ctx) => ctx.normalizedPath);
define('kong.request.get_forwarded_prefix', REQUEST_PHASES, (ctx) => ctx.forwardedPrefix);
define('kong.request.get_http_version', REQUEST_PHASES, (ctx) => ctx.httpVersion);
define('kong.request.get_method', REQUEST_PHASES, (ctx) => ctx.method);
define('kong.request.get_path', REQUEST_PHASES, (ctx) => ctx.normalizedPath);
define('kong.request.get_raw_path', REQUEST_PHASES, (ctx) => ctx.rawPath);
define('kong.request.get_path_with_query', REQUEST_PHASES, (ctx) => ctx.requestUri);
define('kong.request.get_raw_query', REQUEST_PHASES, (ctx) => ctx.rawQuery);
define('kong.request.get_start_time', REQUEST_PHASES, (ctx) => ctx.startedAt);
define('kong.request.get_query_arg', REQUEST_PHASES, (ctx, [name]) => {
  const value = parseQuery(ctx.rawQuery)[requireString(name, 'query argument name must be a string')];
  return Array.isArray(value) ? value[0] : value;
});
define('kong.request.get_query', REQUEST_PHASES, (ctx, [max]) => multimap(parseQuery(ctx.rawQuery, limit(max, 'max_args'))));
define('kong.request.get_header', REQUEST_PHASES, (ctx, [name]) => {
  const header = requireString(name, 'header name must be a string').replace(/_/g, '-');
  return (ctx.logTimer?.requestHeaders ?? ctx.headers).get(header);
});
define('kong.request.get_headers', REQUEST_PHASES, (ctx, [max]) => {
  // the log timer answers from the headers saved for it, whatever max says
  if (ctx.logTimer) return multimap(ctx.logTimer.requestHeaders.toLuaTable());
  return multimap(ctx.headers.toLuaTable(limit(max, 'max_headers')));
});
define('kong.request.get_raw_body', BEFORE_CONTENT, (ctx, [maxFileSize]) => rawBody(ctx, maxFileSize).body);
define('kong.request.get_body', BEFORE_CONTENT, (ctx, [mimetype, maxArgs, maxFileSize]) => {
  const contentType = isNil(mimetype) ? ctx.headers.get('content-type') : String(mimetype);
  if (contentType === undefined) return undefined;
  const bare = contentType.toLowerCase().split(';')[0];
  if (bare.startsWith('application/x-www-form-urlencoded')) {
    const max = limit(maxArgs, 'max_args');
    // ngx.req.get_post_args: nil, "request body in temp file not supported"
    return ctx.bodyInFile ? undefined : parseQuery(ctx.body.toString('latin1'), max);
  }
  if (bare.startsWith('application/json')) {
    const { body } = rawBody(ctx, maxFileSize);
    if (body === undefined) return undefined;
    try {
      const json: unknown = JSON.parse(body.toString('utf8'));
      return typeof json === 'object' && json !== null ? json : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
});

/**
 * get_raw_body (kong/pdk/request.lua): a body nginx wrote to a temp file is only read with max_allowed_file_size
 * (0: any size); otherwise Kong returns nil, err.
 */
function rawBody(ctx: RequestContext, maxFileSize: unknown): { body: Buffer | undefined; err?: string } {
  if (!ctx.bodyInFile) return { body: ctx.body };
  if (isNil(maxFileSize) || (maxFileSize as number) < 0) {
    return { body: undefined, err: "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'" };
  }
  const max = maxFileSize as number;
  if (max > 0 && ctx.body.length > max) return { body: undefined, err: `request body file too big: ${ctx.body.length} > ${max}` };
  return { body: ctx.body };
}

// ---- kong.client --------------------------------------------------------------------------------------------

const CLIENT_PHASES = new Set<KongPhase>(['rewrite', 'access', 'response', 'log']);
// kong/pdk/client.lua: get_ip is realip_remote_addr (the peer), get_forwarded_ip remote_addr (after realip)
define('kong.client.get_ip', CLIENT_PHASES, (ctx) => ctx.clientIp);
define('kong.client.get_forwarded_ip', CLIENT_PHASES, (ctx) => ctx.forwardedIp);
define('kong.client.get_port', CLIENT_PHASES, () => 40000);
define('kong.client.get_forwarded_port', CLIENT_PHASES, () => 40000);
define('kong.client.get_protocol', AFTER_ACCESS, (ctx) => ctx.scheme);
define('kong.client.get_consumer', AFTER_ACCESS, (ctx) => ctx.consumer);
define('kong.client.get_credential', AFTER_ACCESS, (ctx) => ctx.credential);
define('kong.client.authenticate', ACCESS_ONLY, (ctx, [consumer, credential]) => {
  if (isNil(consumer) && isNil(credential)) throw new LuaError('either credential or consumer must be provided');
  ctx.consumer = (consumer ?? undefined) as RequestContext['consumer'];
  ctx.credential = (credential ?? undefined) as RequestContext['credential'];
  return undefined;
});

// ---- kong.response ------------------------------------------------------------------------------------------

define('kong.response.get_status', RESPONSE_READABLE, (ctx) => (ctx.logTimer ? ctx.logTimer.responseStatus : (ctx.status ?? 200)));
define('kong.response.get_header', RESPONSE_READABLE, (ctx, [name]) => {
  const header = requireString(name, 'header name must be a string').replace(/_/g, '-');
  return (ctx.logTimer?.responseHeaders ?? ctx.responseHeaders).get(header);
});
define('kong.response.get_headers', RESPONSE_READABLE, (ctx, [max]) => {
  if (ctx.logTimer) return multimap(ctx.logTimer.responseHeaders.toLuaTable());
  return multimap(ctx.responseHeaders.toLuaTable(limit(max, 'max_headers')));
});
define('kong.response.get_source', RESPONSE_READABLE, (ctx) => responseSource(ctx));
define('kong.response.set_status', RESPONSE_WRITABLE, (ctx, [status]) => {
  ctx.status = statusCode(status);
});
define('kong.response.set_header', RESPONSE_WRITABLE, (ctx, [name, value]) => {
  validateHeader(name, value);
  // Kong: "manually setting Transfer-Encoding. Ignored."
  if (isTransferEncoding(name as string)) return;
  setResponseHeader(ctx, name as string, headerValues(value));
});
define('kong.response.add_header', RESPONSE_WRITABLE, (ctx, [name, value]) => {
  validateHeader(name, value);
  for (const v of headerValues(value)) ctx.responseHeaders.add(responseHeaderName(name as string), v);
});
define('kong.response.clear_header', RESPONSE_WRITABLE, (ctx, [name]) => {
  ctx.responseHeaders.delete(responseHeaderName(requireString(name, 'header name must be a string')));
});
define('kong.response.set_headers', RESPONSE_WRITABLE, (ctx, [headers]) => {
  for (const [name, value] of Object.entries(validateHeaders(headers))) {
    if (!isTransferEncoding(name)) setResponseHeader(ctx, name, headerValues(value));
  }
});
define('kong.response.exit', RESPONSE_WRITABLE, (ctx, [status, body, headers]) => {
  const code = statusCode(status);
  if (!isNil(body) && !['string', 'table'].includes(luaType(body))) throw new LuaError('body must be a nil, string or table');
  if (!isNil(headers) && luaType(headers) !== 'table') throw new LuaError('headers must be a nil or table');
  send(ctx, code, body, isNil(headers) ? undefined : validateHeaders(headers));
});
define('kong.response.error', RESPONSE_WRITABLE, (ctx, [status, message, headers]) => {
  const code = statusCode(status, 400);
  let text: string | undefined;
  if (!isNil(message)) {
    text = luaType(message) === 'table' ? cjsonEncode(message) : message instanceof Uint8Array ? Buffer.from(message).toString('latin1') : message as string;
    if (typeof text !== 'string') throw new LuaError('message must be a nil, a string or a table');
  }
  if (!isNil(headers) && luaType(headers) !== 'table') throw new LuaError('headers must be a nil or table');
  const table = isNil(headers) ? {} : validateHeaders(headers);
  errorResponse(ctx, code, text, table);
});

/**
 * kong.response.error: a caller's "Content-Type" (that exact key: a Lua table lookup) picks the template, else the
 * request's Accept does; a type without a template makes string.format fail, a Lua error.
 */
export function errorResponse(ctx: RequestContext, status: number, message: string | undefined, headers: Record<string, unknown> = {}): void {
  const given = headers['Content-Type'];
  const contentType = isNil(given) ? responseType(ctx.headers.getAll('accept')) : String(Array.isArray(given) ? given[0] : given);
  const template = errorTemplate(contentType);
  if (!template) throw new LuaError("bad argument #1 to 'format' (string expected, got nil)");
  send(ctx, status, template(message ?? pdkErrorMessage(status), ctx.requestId), { ...headers, 'Content-Type': contentType });
}

/**
 * send() of kong/pdk/response.lua: exit headers go onto ngx.header over what plugins set before; a table body is
 * JSON with a JSON Content-Type unless the exit's own headers have one; Content-Length is the body's unless the
 * exit's headers give one.
 */
export function send(ctx: RequestContext, status: number, body: unknown, headers: Record<string, unknown> | undefined): void {
  let hasType = false;
  let hasLength = false;
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = responseHeaderName(name.toLowerCase());
    if (!isTransferEncoding(name)) setResponseHeader(ctx, name, headerValues(value));
    if (lower === 'content-type') hasType = true;
    if (lower === 'content-length') hasLength = true;
  }
  let bytes: Buffer;
  if (isNil(body)) bytes = Buffer.alloc(0);
  else if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) bytes = Buffer.from(body);
  else {
    bytes = Buffer.from(cjsonEncode(body), 'utf8');
    if (!hasType) ctx.responseHeaders.set('Content-Type', 'application/json; charset=utf-8');
  }
  if (!hasLength) ctx.responseHeaders.set('Content-Length', String(bytes.length));
  ctx.exited = true;
  ctx.status = status;
  ctx.response = { status, headers: ctx.responseHeaders, body: bytes, source: 'exit' };
}

/** kong.response.get_source: an unexpected error, else an exit, else proxied; "error" otherwise. */
export function responseSource(ctx: RequestContext): 'error' | 'exit' | 'service' {
  if (ctx.unexpected) return 'error';
  if (ctx.exited) return 'exit';
  return ctx.proxied ? 'service' : 'error';
}

// ---- kong.service ---------------------------------------------------------------------------------------------
// The setters write nginx's request (ngx.req.set_header, set_uri_args, set_method, set_body_data): kong.request and
// later plugins see them. Only the scheme and path are the upstream's own (ngx.var.upstream_scheme/upstream_uri).

define('kong.service.request.enable_buffering', SERVICE_REQUEST_WRITABLE, (ctx) => {
  ctx.buffered = true;
});
define('kong.service.request.set_scheme', SERVICE_REQUEST_WRITABLE, (ctx, [scheme]) => {
  const value = requireString(scheme, 'scheme must be a string');
  if (value !== 'http' && value !== 'https') throw new LuaError(`invalid scheme: ${value}`);
  ctx.upstream.scheme = value;
});
define('kong.service.request.set_path', SERVICE_REQUEST_WRITABLE, (ctx, [path]) => {
  const value = requireString(path, 'path must be a string');
  if (!value.startsWith('/')) throw new LuaError('path must start with /');
  ctx.upstream.path = escapeUri(value);
});
define('kong.service.request.set_raw_query', SERVICE_REQUEST_WRITABLE, (ctx, [query]) => {
  ctx.rawQuery = requireString(query, 'query must be a string');
});
define('kong.service.request.set_query', SERVICE_REQUEST_WRITABLE, (ctx, [args]) => {
  if (luaType(args) !== 'table') throw new LuaError('args must be a table');
  ctx.rawQuery = encodeQuery(Array.isArray(args) ? {} : (args as Record<string, unknown>));
});
define('kong.service.request.clear_query_arg', SERVICE_REQUEST_WRITABLE, (ctx, [name]) => {
  const key = requireString(name, 'query argument name must be a string');
  ctx.rawQuery = ctx.rawQuery
    .split('&')
    .filter((part) => decodeComponent(part.split('=')[0]) !== key)
    .join('&');
});
define('kong.service.request.set_method', SERVICE_REQUEST_WRITABLE, (ctx, [method]) => {
  const value = requireString(method, 'method must be a string');
  if (!/^(GET|HEAD|PUT|POST|DELETE|OPTIONS|MKCOL|COPY|MOVE|PROPFIND|PROPPATCH|LOCK|UNLOCK|PATCH|TRACE)$/.test(value)) {
    throw new LuaError(`invalid method: ${value}`);
  }
  ctx.method = value;
});
define('kong.service.request.set_header', SERVICE_REQUEST_WRITABLE, (ctx, [name, value]) => {
  validateHeader(name, value);
  setRequestHeader(ctx, name as string, headerValues(value));
});
define('kong.service.request.add_header', SERVICE_REQUEST_WRITABLE, (ctx, [name, value]) => {
  validateHeader(name, value);
  for (const v of headerValues(value)) ctx.headers.add(name as string, v);
});
define('kong.service.request.clear_header', SERVICE_REQUEST_WRITABLE, (ctx, [name]) => {
  ctx.headers.delete(requireString(name, 'header must be a string'));
});
define('kong.service.request.set_headers', SERVICE_REQUEST_WRITABLE, (ctx, [headers]) => {
  if (luaType(headers) !== 'table') throw new LuaError('headers must be a table');
  for (const [name, value] of Object.entries(validateHeaders(headers))) setRequestHeader(ctx, name, headerValues(value));
});
define('kong.service.request.set_raw_body', SERVICE_REQUEST_WRITABLE, (ctx, [body]) => {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new LuaError('body must be a string');
  // ngx.req.set_body_data keeps the new body in memory and fixes Content-Length
  ctx.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  ctx.bodyInFile = false;
  ctx.headers.set('Content-Length', String(ctx.body.length));
});

function setRequestHeader(ctx: RequestContext, name: string, values: string[]): void {
  if (name.toLowerCase() === 'host') ctx.upstream.host = values[0];
  if (values.length === 0) ctx.headers.delete(name);
  else ctx.headers.set(name, values);
}

const SERVICE_RESPONSE_READABLE = new Set<KongPhase>(['response', 'log']);
define('kong.service.response.get_status', SERVICE_RESPONSE_READABLE, (ctx) => ctx.serviceResponse?.status);
define('kong.service.response.get_header', SERVICE_RESPONSE_READABLE, (ctx, [name]) => {
  return ctx.serviceResponse?.headers.get(requireString(name, 'name must be a string').replace(/_/g, '-'));
});
// Kong bug (Kong/kong#13827, Kong/go-pdk#222): under buffered proxying, which a response handler implies, the table
// attach_buffered_headers_mt returns is empty with an __index hook; fix_mmap's pairs() finds nothing and sends {}.
define('kong.service.response.get_headers', SERVICE_RESPONSE_READABLE, (ctx, [max]) => {
  const count = limit(max, 'max_headers');
  return ctx.buffered ? {} : multimap(ctx.serviceResponse?.headers.toLuaTable(count) ?? {});
});
define('kong.service.response.get_raw_body', SERVICE_RESPONSE_READABLE, (ctx) => {
  if (!ctx.buffered) throw new LuaError('service body is only available with buffered proxying (see: kong.service.request.enable_buffering function)');
  return ctx.serviceResponse?.body ?? Buffer.alloc(0);
});

// ---- kong.ctx, kong.log, kong.router, kong.node -----------------------------------------------------------------

define('kong.ctx.shared.get', REQUEST_PHASES, (ctx, [key]) => ctx.sharedCtx.get(requireString(key, 'key must be a string')));
define('kong.ctx.shared.set', REQUEST_PHASES, (ctx, [key, value]) => {
  ctx.sharedCtx.set(requireString(key, 'key must be a string'), luaValue(value));
});

for (const level of ['alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug']) {
  define(`kong.log.${level}`, 'any', (ctx, args, env) => {
    env.logLines.push({ level, plugin: ctx.currentPluginName, message: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join('') });
  });
}
define('kong.log.set_serialize_value', REQUEST_PHASES, (ctx, [key, value, options]) => {
  const path = requireString(key, 'key must be a string');
  const mode = (options as { mode?: unknown } | undefined)?.mode ?? 'set';
  if (mode !== 'set' && mode !== 'add' && mode !== 'replace') throw new LuaError("mode must be 'set', 'add' or 'replace'");
  // in an external log handler this writes the timer's copy of ngx.ctx: the saved serialize data never sees it
  if (!ctx.logTimer) ctx.serializeEdits.push({ key: path, value: isNil(value) ? undefined : value, mode });
});
define('kong.log.serialize', new Set<KongPhase>(['log']), (ctx) => cjsonEncode(ctx.logTimer?.serialized ?? serialize(ctx)));

define('kong.router.get_route', AFTER_ACCESS, (ctx) => ctx.route);
define('kong.router.get_service', AFTER_ACCESS, (ctx) => ctx.service);
define('kong.node.get_id', 'any', (_ctx, _args, env) => env.nodeId);
define('kong.node.get_hostname', 'any', () => os.hostname());
define('kong.node.get_memory_stats', 'any', () => ({ lua_shared_dicts: {}, workers_lua_vms: [{ http_allocated_gc: 1024, pid: process.pid }] }));
define('kong.nginx.get_subsystem', 'any', () => 'http');
// trusted_ips defaults to none: kong/pdk/ip.lua then answers false for every address
define('kong.ip.is_trusted', 'any', () => false);

const WORKSPACE_ID = '0dc6f45b-8f8d-40d2-a504-473544ee190b';

/** kong.log.serialize() (kong/pdk/log.lua, serialize) for HTTP, with the set_serialize_value edits applied. */
export function serialize(ctx: RequestContext): Record<string, unknown> {
  const response = ctx.response;
  const requestHeaders = ctx.headers.toLuaTable();
  for (const name of ['authorization', 'proxy-authorization']) if (requestHeaders[name] !== undefined) requestHeaders[name] = 'REDACTED';
  const headerBytes = [...ctx.headers.rawEntries()].reduce((n, [name, values]) => n + values.reduce((m, v) => m + name.length + v.length + 4, 0), 0);
  const upstreamUri = ctx.route ? ctx.upstream.path + (ctx.rawQuery ? '?' + ctx.rawQuery : '') : '';
  const source = responseSource(ctx);
  const record: Record<string, unknown> = {
    request: {
      id: ctx.requestId,
      uri: ctx.requestUri,
      url: `${ctx.scheme}://${ctx.host}:${ctx.port}${ctx.requestUri}`,
      querystring: parseQuery(ctx.rawQuery),
      method: ctx.method,
      headers: requestHeaders,
      size: `${ctx.method} ${ctx.requestUri} HTTP/1.1\r\n`.length + headerBytes + 2 + ctx.body.length,
    },
    upstream_uri: upstreamUri,
    // var.upstream_status is a string; under buffering only ctx.buffered_status (a number) is there
    upstream_status: ctx.serviceResponse ? (ctx.buffered ? ctx.serviceResponse.status : String(ctx.serviceResponse.status)) : '',
    response: response ? { status: response.status, headers: response.headers.toLuaTable(), size: response.body.length } : undefined,
    latencies: { kong: ctx.proxyLatencyMs, proxy: ctx.serviceResponse ? ctx.upstreamLatencyMs : -1, request: Date.now() - ctx.startedAt, receive: 0 },
    tries: ctx.serviceResponse && ctx.service ? [{ ip: ctx.service.host, port: ctx.service.port, balancer_start: ctx.startedAt, balancer_latency: 0 }] : undefined,
    authenticated_entity: ctx.credential ? { id: ctx.credential.id, consumer_id: ctx.credential.consumer?.id ?? ctx.consumer?.id } : undefined,
    route: ctx.route,
    service: ctx.service,
    consumer: ctx.consumer,
    client_ip: ctx.forwardedIp, // pdk/log.lua serialize: var.remote_addr
    started_at: ctx.startedAt,
    source: source === 'service' ? 'upstream' : 'kong',
    workspace: WORKSPACE_ID,
    workspace_name: 'default',
  };
  for (const edit of ctx.serializeEdits) applyEdit(record, edit);
  return JSON.parse(JSON.stringify(record));
}

/** edit_result: set/add create missing tables on the way, replace gives up; a non-table on the way is an error. */
function applyEdit(root: Record<string, unknown>, { key, value, mode }: SerializeEdit): void {
  const parts = key.split('.');
  let node: Record<string, unknown> = root;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null) {
      if (mode === 'replace') return;
      node[part] = {};
    } else if (typeof next !== 'object') {
      throw new LuaError(`The key '${key}' could not be used as a serialize value. Subkey '${part}' is not a table. It's ${String(next)}`);
    }
    node = node[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  const existing = node[last];
  if (mode === 'set' || (mode === 'add' && existing === undefined) || (mode === 'replace' && existing !== undefined)) {
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
}

/**
 * The log phase of an external plugin runs in a timer after the request (plugin_servers/plugin.lua): what Kong saved
 * for it (serialize data, request and response headers, status, ctx.shared) and what reads only ngx.ctx (a clone)
 * still work; anything reading the request through ngx.var or ngx.req fails there.
 */
const LOG_TIMER_SAFE = new Set([
  'kong.log.serialize',
  'kong.log.set_serialize_value',
  'kong.ctx.shared.get',
  'kong.ctx.shared.set',
  'kong.request.get_headers',
  'kong.request.get_header',
  'kong.request.get_start_time',
  'kong.response.get_status',
  'kong.response.get_headers',
  'kong.response.get_header',
  'kong.response.get_source',
  'kong.client.get_consumer',
  'kong.client.get_credential',
  'kong.router.get_route',
  'kong.router.get_service',
  'kong.node.get_id',
  'kong.node.get_hostname',
  'kong.node.get_memory_stats',
  'kong.nginx.get_subsystem',
  'kong.ip.is_trusted',
]);

/** Under buffering ctx.buffered_status/headers/body are in ngx.ctx, which the timer has a copy of. */
const LOG_TIMER_SAFE_WHEN_BUFFERED = new Set([
  'kong.service.response.get_status',
  'kong.service.response.get_header',
  'kong.service.response.get_headers',
  'kong.service.response.get_raw_body',
]);

function worksInLogTimer(ctx: RequestContext, name: string): boolean {
  if (LOG_TIMER_SAFE.has(name) || /^kong\.log\.(alert|crit|err|warn|notice|info|debug)$/.test(name)) return true;
  return ctx.buffered && LOG_TIMER_SAFE_WHEN_BUFFERED.has(name);
}

/**
 * Kong's `method(unpack(args))` (mp_rpc.lua, call_pdk_method): the border of a Lua array with a nil in it is, for
 * the short lists PDK calls send, just before the first nil, so the arguments end there.
 */
export function luaArguments(args: unknown): unknown[] {
  const list = Array.isArray(args) ? args : isNil(args) ? [] : [args];
  const firstNil = list.findIndex(isNil);
  return firstNil < 0 ? list : list.slice(0, firstNil);
}

/** Runs one PDK call as Kong would: unknown methods are logged and answered with nil. */
export function callPdk(ctx: RequestContext, env: PdkEnvironment, name: string, args: unknown[]): { value: unknown; step: string } {
  ctx.pdkCalls++;
  ctx.pdkTrace.push(`${ctx.phase}:${name}`);
  const method = methods.get(name);
  if (!method) {
    env.logLines.push({ level: 'err', plugin: ctx.currentPluginName, message: `could not find pdk method: ${name}` });
    return { value: undefined, step: 'plugin.Step' };
  }
  // check_phase reads ngx.ctx.KONG_PHASE, which the log timer's copy of ngx.ctx still has: it fails first
  if (!phaseAllows(method, ctx.phase)) {
    throw new LuaError(`function cannot be called in ${ctx.phase} phase (only in: ${method.phases === 'any' ? 'any' : [...method.phases].join(', ')})`);
  }
  if (ctx.phase === 'log' && !worksInLogTimer(ctx, name)) {
    throw new LuaError('API disabled in the context of ngx.timer (the log phase of external plugins runs in a timer)');
  }
  const raw = method.impl(ctx, luaArguments(args), env);
  if (RAW_BODY_METHODS.has(name)) {
    // fix_raw packs the result as bin: a nil (Kong's `nil, err`) cannot be packed, and the packing error is a Lua error
    if (raw === undefined) throw new LuaError("MessagePack: bin of nil (attempt to get length of local 'str' (a nil value))");
    return { value: raw, step: stepMethodFor(name) };
  }
  return { value: shapeResult(name, raw), step: stepMethodFor(name) };
}

const RAW_BODY_METHODS = new Set(['kong.request.get_raw_body', 'kong.response.get_raw_body', 'kong.service.response.get_raw_body']);
const MULTIMAP_METHODS = new Set(['kong.request.get_query', 'kong.request.get_headers', 'kong.response.get_headers', 'kong.service.response.get_headers']);

function shapeResult(name: string, value: unknown): unknown {
  if (MULTIMAP_METHODS.has(name)) {
    // fix_mmap packs an empty table as an empty MAP; other empty tables pack as arrays.
    return value;
  }
  return luaValue(value);
}
