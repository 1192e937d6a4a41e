import os from 'node:os';
import { HeaderMap } from './header-map';
import type { KongPhase, RequestContext } from './request-context';

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

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new LuaError(`${what} must be a string`);
  return value;
}

function headerName(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new LuaError(`invalid header name "${String(value)}": got ${luaType(value)}, expected string`);
  return value;
}

/** Kong accepts string, number and boolean header values (validate_header in kong/pdk/private/checks.lua). */
function headerValue(name: string, value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new LuaError(`invalid header value for "${name}": got ${luaType(value)}, expected array of string, string, number or boolean`);
}

function headerValues(name: string, value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => headerValue(name, v));
  return [headerValue(name, value)];
}

function luaType(value: unknown): string {
  if (isNil(value)) return 'nil';
  if (Array.isArray(value) || typeof value === 'object') return 'table';
  return typeof value;
}

function statusCode(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 599) {
    throw new LuaError('code must be a number between 100 and 599');
  }
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

function encodeQuery(args: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of Object.keys(args).sort()) {
    const value = args[key];
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v === true) parts.push(encodeURIComponent(key));
      else if (v !== false && !isNil(v)) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.join('&');
}

const ERROR_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  407: 'Proxy authentication required',
  408: 'Request timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length required',
  412: 'Precondition failed',
  413: 'Payload too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  416: 'Range not satisfiable',
  429: 'API rate limit exceeded',
  500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
};

export function defaultErrorMessage(status: number): string {
  return ERROR_MESSAGES[status] ?? (status >= 500 ? 'The upstream server responded with ' + status : 'Bad request');
}

// ---- kong.request -------------------------------------------------------------------------------------------

define('kong.request.get_scheme', REQUEST_PHASES, (ctx) => ctx.scheme);
define('kong.request.get_host', REQUEST_PHASES, (ctx) => ctx.host);
define('kong.request.get_port', REQUEST_PHASES, (ctx) => ctx.port);
define('kong.request.get_forwarded_scheme', REQUEST_PHASES, (ctx) => ctx.scheme);
define('kong.request.get_forwarded_host', REQUEST_PHASES, (ctx) => ctx.host);
define('kong.request.get_forwarded_port', REQUEST_PHASES, (ctx) => ctx.port);
define('kong.request.get_http_version', REQUEST_PHASES, () => 1.1);
define('kong.request.get_method', REQUEST_PHASES, (ctx) => ctx.method);
define('kong.request.get_path', REQUEST_PHASES, (ctx) => ctx.normalizedPath);
define('kong.request.get_raw_path', REQUEST_PHASES, (ctx) => ctx.rawPath);
define('kong.request.get_path_with_query', REQUEST_PHASES, (ctx) => ctx.normalizedPath + (ctx.rawQuery ? '?' + ctx.rawQuery : ''));
define('kong.request.get_raw_query', REQUEST_PHASES, (ctx) => ctx.rawQuery);
define('kong.request.get_start_time', REQUEST_PHASES, (ctx) => ctx.startedAt);
define('kong.request.get_query_arg', REQUEST_PHASES, (ctx, [name]) => {
  const value = parseQuery(ctx.rawQuery)[requireString(name, 'query argument name')];
  return Array.isArray(value) ? value[0] : value;
});
define('kong.request.get_query', REQUEST_PHASES, (ctx, [max]) => multimap(parseQuery(ctx.rawQuery, isNil(max) ? 100 : Number(max))));
define('kong.request.get_header', REQUEST_PHASES, (ctx, [name]) => ctx.headers.get(requireString(name, 'header name').replace(/_/g, '-')));
define('kong.request.get_headers', REQUEST_PHASES, (ctx, [max]) => multimap(ctx.headers.toLuaTable(isNil(max) ? 100 : Number(max))));
define('kong.request.get_raw_body', BEFORE_CONTENT, (ctx) => ctx.body);
define('kong.request.get_body', BEFORE_CONTENT, (ctx) => {
  const type = ctx.headers.get('content-type') ?? '';
  if (type.includes('application/json')) {
    try {
      return JSON.parse(ctx.body.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) return parseQuery(ctx.body.toString('utf8'));
  return undefined;
});

// ---- kong.client --------------------------------------------------------------------------------------------

const CLIENT_PHASES = new Set<KongPhase>(['rewrite', 'access', 'response', 'log']);
define('kong.client.get_ip', CLIENT_PHASES, (ctx) => ctx.clientIp);
define('kong.client.get_forwarded_ip', CLIENT_PHASES, (ctx) => ctx.clientIp);
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

define('kong.response.get_status', RESPONSE_READABLE, (ctx) => ctx.responseStatusOverride ?? ctx.response?.status ?? ctx.serviceResponse?.status);
define('kong.response.get_header', RESPONSE_READABLE, (ctx, [name]) => currentResponseHeaders(ctx).get(requireString(name, 'header name')));
define('kong.response.get_headers', RESPONSE_READABLE, (ctx, [max]) => multimap(currentResponseHeaders(ctx).toLuaTable(isNil(max) ? 100 : Number(max))));
define('kong.response.get_source', RESPONSE_READABLE, (ctx) => (ctx.exited ? 'exit' : ctx.serviceResponse ? 'service' : 'error'));
define('kong.response.set_status', RESPONSE_WRITABLE, (ctx, [status]) => {
  ctx.responseStatusOverride = statusCode(status);
});
define('kong.response.set_header', RESPONSE_WRITABLE, (ctx, [name, value]) => {
  const header = headerName(name);
  ctx.pendingResponseHeaders.set(header, headerValues(header, value));
  ctx.clearedResponseHeaders.delete(header.toLowerCase());
});
define('kong.response.add_header', RESPONSE_WRITABLE, (ctx, [name, value]) => {
  const header = headerName(name);
  for (const v of headerValues(header, value)) ctx.pendingResponseHeaders.add(header, v);
});
define('kong.response.clear_header', RESPONSE_WRITABLE, (ctx, [name]) => {
  const header = headerName(name);
  ctx.pendingResponseHeaders.delete(header);
  ctx.clearedResponseHeaders.add(header.toLowerCase());
});
define('kong.response.set_headers', RESPONSE_WRITABLE, (ctx, [headers]) => {
  if (isNil(headers) || typeof headers !== 'object' || Array.isArray(headers) && headers.length > 0) throw new LuaError('headers must be a table');
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    ctx.pendingResponseHeaders.set(name, headerValues(name, value));
    ctx.clearedResponseHeaders.delete(name.toLowerCase());
  }
});
define('kong.response.exit', RESPONSE_WRITABLE, (ctx, [status, body, headers]) => {
  exitWith(ctx, statusCode(status), body, headers);
});
define('kong.response.error', RESPONSE_WRITABLE, (ctx, [status, message, headers]) => {
  const code = statusCode(status);
  if (code < 400) throw new LuaError('code must be between 400 and 599');
  const text = isNil(message) ? defaultErrorMessage(code) : String(typeof message === 'object' ? JSON.stringify(message) : message);
  const accept = ctx.headers.get('accept') ?? '';
  let body: string;
  let type: string;
  if (accept.includes('text/html')) {
    type = 'text/html; charset=utf-8';
    body = `<!doctype html>\n<html>\n<head><title>Error</title></head>\n<body><h1>Error</h1><p>${text}.</p></body>\n</html>\n`;
  } else if (accept.includes('text/plain')) {
    type = 'text/plain; charset=utf-8';
    body = `${text}\n`;
  } else {
    type = 'application/json; charset=utf-8';
    body = JSON.stringify({ message: text });
  }
  const merged = { ...(headers as Record<string, unknown> | undefined), 'Content-Type': type };
  exitWith(ctx, code, body, merged);
});

function exitWith(ctx: RequestContext, status: number, body: unknown, headers: unknown): void {
  const out = currentResponseHeaders(ctx);
  if (!isNil(headers) && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) out.set(name, headerValues(name, value));
  }
  let bytes: Buffer;
  if (isNil(body)) bytes = Buffer.alloc(0);
  else if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) bytes = Buffer.from(body);
  else {
    bytes = Buffer.from(JSON.stringify(body));
    if (!out.has('content-type')) out.set('Content-Type', 'application/json; charset=utf-8');
  }
  out.set('Content-Length', String(bytes.length));
  ctx.exited = true;
  ctx.response = { status, headers: out, body: bytes, source: 'exit' };
}

/** The downstream headers as they stand: the upstream's (or an exit's), with the plugins' changes on top. */
export function currentResponseHeaders(ctx: RequestContext): HeaderMap {
  const base = HeaderMap.from(ctx.response?.headers ?? ctx.serviceResponse?.headers);
  for (const lower of ctx.clearedResponseHeaders) base.delete(lower);
  for (const [name, values] of ctx.pendingResponseHeaders.rawEntries()) base.set(name, [...values]);
  return base;
}

// ---- kong.service ---------------------------------------------------------------------------------------------

define('kong.service.request.set_scheme', SERVICE_REQUEST_WRITABLE, (ctx, [scheme]) => {
  if (scheme !== 'http' && scheme !== 'https') throw new LuaError(`invalid scheme: ${String(scheme)}`);
  ctx.upstream.scheme = scheme;
});
define('kong.service.request.set_path', SERVICE_REQUEST_WRITABLE, (ctx, [path]) => {
  const value = requireString(path, 'path');
  if (!value.startsWith('/')) throw new LuaError('path must start with /');
  ctx.upstream.path = value;
});
define('kong.service.request.set_raw_query', SERVICE_REQUEST_WRITABLE, (ctx, [query]) => {
  ctx.upstream.rawQuery = requireString(query, 'query');
});
define('kong.service.request.set_query', SERVICE_REQUEST_WRITABLE, (ctx, [args]) => {
  if (isNil(args) || typeof args !== 'object') throw new LuaError('args must be a table');
  ctx.upstream.rawQuery = encodeQuery(args as Record<string, unknown>);
});
define('kong.service.request.set_method', SERVICE_REQUEST_WRITABLE, (ctx, [method]) => {
  const value = requireString(method, 'method');
  if (!/^(GET|HEAD|PUT|POST|DELETE|OPTIONS|MKCOL|COPY|MOVE|PROPFIND|PROPPATCH|LOCK|UNLOCK|PATCH|TRACE)$/.test(value)) {
    throw new LuaError(`invalid method: ${value}`);
  }
  ctx.upstream.method = value;
});
define('kong.service.request.set_header', SERVICE_REQUEST_WRITABLE, (ctx, [name, value]) => {
  const header = headerName(name);
  ctx.upstream.headers.set(header, headerValues(header, value));
});
define('kong.service.request.add_header', SERVICE_REQUEST_WRITABLE, (ctx, [name, value]) => {
  const header = headerName(name);
  for (const v of headerValues(header, value)) ctx.upstream.headers.add(header, v);
});
define('kong.service.request.clear_header', SERVICE_REQUEST_WRITABLE, (ctx, [name]) => {
  ctx.upstream.headers.delete(headerName(name));
});
define('kong.service.request.set_headers', SERVICE_REQUEST_WRITABLE, (ctx, [headers]) => {
  if (isNil(headers) || typeof headers !== 'object') throw new LuaError('headers must be a table');
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) ctx.upstream.headers.set(name, headerValues(name, value));
});
define('kong.service.request.set_raw_body', SERVICE_REQUEST_WRITABLE, (ctx, [body]) => {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new LuaError('body must be a string');
  ctx.upstream.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  ctx.upstream.headers.set('Content-Length', String(ctx.upstream.body.length));
});

const SERVICE_RESPONSE_READABLE = new Set<KongPhase>(['response', 'log']);
define('kong.service.response.get_status', SERVICE_RESPONSE_READABLE, (ctx) => ctx.serviceResponse?.status);
define('kong.service.response.get_header', SERVICE_RESPONSE_READABLE, (ctx, [name]) => ctx.serviceResponse?.headers.get(requireString(name, 'header name')));
define('kong.service.response.get_headers', SERVICE_RESPONSE_READABLE, (ctx, [max]) =>
  multimap(ctx.serviceResponse?.headers.toLuaTable(isNil(max) ? 100 : Number(max)) ?? {}),
);
define('kong.service.response.get_raw_body', new Set<KongPhase>(['response']), (ctx) => ctx.serviceResponse?.body);

// ---- kong.ctx, kong.log, kong.router, kong.node -----------------------------------------------------------------

define('kong.ctx.shared.get', REQUEST_PHASES, (ctx, [key]) => ctx.sharedCtx.get(requireString(key, 'key')));
define('kong.ctx.shared.set', REQUEST_PHASES, (ctx, [key, value]) => {
  ctx.sharedCtx.set(requireString(key, 'key'), luaValue(value));
});

for (const level of ['alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug']) {
  define(`kong.log.${level}`, 'any', (ctx, args, env) => {
    env.logLines.push({ level, plugin: ctx.currentPluginName, message: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join('') });
  });
}
define('kong.log.set_serialize_value', new Set<KongPhase>(['rewrite', 'access', 'response', 'log']), (ctx, [key, value]) => {
  const path = requireString(key, 'key');
  if (!isNil(value) && !['string', 'number', 'boolean', 'object'].includes(typeof value)) throw new LuaError('value must be a number, string, boolean or a non-self-referencial table containing numbers, string and booleans');
  ctx.serializeOverrides.set(path, isNil(value) ? null : value);
});
define('kong.log.serialize', new Set<KongPhase>(['log']), (ctx) => JSON.stringify(serialize(ctx)));

define('kong.router.get_route', AFTER_ACCESS, (ctx) => ctx.route);
define('kong.router.get_service', AFTER_ACCESS, (ctx) => ctx.service);
define('kong.node.get_id', 'any', (_ctx, _args, env) => env.nodeId);
define('kong.node.get_hostname', 'any', () => os.hostname());
define('kong.node.get_memory_stats', 'any', () => ({ lua_shared_dicts: {}, workers_lua_vms: [{ http_allocated_gc: 1024, pid: process.pid }] }));
define('kong.nginx.get_subsystem', 'any', () => 'http');
define('kong.ip.is_trusted', 'any', (_ctx, [ip]) => typeof ip === 'string' && (ip === '127.0.0.1' || ip === '::1'));

/** kong.log.serialize(): the basic log serializer's shape, with set_serialize_value overrides applied. */
export function serialize(ctx: RequestContext): Record<string, unknown> {
  const response = ctx.response;
  const record: Record<string, unknown> = {
    request: {
      method: ctx.method,
      uri: ctx.rawPath + (ctx.rawQuery ? '?' + ctx.rawQuery : ''),
      url: `${ctx.scheme}://${ctx.host}:${ctx.port}${ctx.rawPath}${ctx.rawQuery ? '?' + ctx.rawQuery : ''}`,
      querystring: parseQuery(ctx.rawQuery),
      headers: ctx.headers.toLuaTable(),
      size: ctx.body.length,
    },
    response: response ? { status: response.status, headers: response.headers.toLuaTable(), size: response.body.length } : undefined,
    upstream_uri: ctx.upstream.path + (ctx.upstream.rawQuery ? '?' + ctx.upstream.rawQuery : ''),
    route: ctx.route,
    service: ctx.service,
    consumer: ctx.consumer,
    client_ip: ctx.clientIp,
    started_at: ctx.startedAt,
    latencies: { kong: 0, proxy: ctx.upstreamLatencyMs, request: Date.now() - ctx.startedAt },
  };
  for (const [path, value] of ctx.serializeOverrides) setPath(record, path.split('.'), value);
  return JSON.parse(JSON.stringify(record));
}

function setPath(target: Record<string, unknown>, parts: string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]];
    if (typeof next !== 'object' || next === null) node[parts[i]] = {};
    node = node[parts[i]] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (value === null) delete node[last];
  else node[last] = value;
}

/**
 * The log phase of an external plugin runs in a timer after the request (plugin_servers/init.lua): only what Kong
 * saved for it (serialize data, request and response headers, status, ctx.shared, a clone of ngx.ctx) and what
 * needs nothing but ngx.ctx still works; anything reading the request through ngx.var or ngx.req fails there.
 */
const LOG_TIMER_SAFE = new Set([
  'kong.log.serialize',
  'kong.log.set_serialize_value',
  'kong.ctx.shared.get',
  'kong.ctx.shared.set',
  'kong.request.get_headers',
  'kong.request.get_header',
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

function worksInLogTimer(name: string): boolean {
  return LOG_TIMER_SAFE.has(name) || /^kong\.log\.(alert|crit|err|warn|notice|info|debug)$/.test(name);
}

/** Runs one PDK call as Kong would: unknown methods are logged and answered with nil. */
export function callPdk(ctx: RequestContext, env: PdkEnvironment, name: string, args: unknown[]): { value: unknown; step: string } {
  ctx.pdkCalls++;
  const method = methods.get(name);
  if (!method) {
    env.logLines.push({ level: 'err', plugin: ctx.currentPluginName, message: `could not find pdk method: ${name}` });
    return { value: undefined, step: 'plugin.Step' };
  }
  if (!phaseAllows(method, ctx.phase)) {
    throw new LuaError(`function cannot be called in ${ctx.phase} phase (only in: ${method.phases === 'any' ? 'any' : [...method.phases].join(', ')})`);
  }
  if (ctx.phase === 'log' && !worksInLogTimer(name)) {
    throw new LuaError("API disabled in the context of ngx.timer (the log phase of external plugins runs in a timer)");
  }
  const normalizedArgs = (Array.isArray(args) ? args : [args]).map((a) => (a === null ? undefined : a));
  const raw = method.impl(ctx, normalizedArgs, env);
  return { value: raw instanceof Uint8Array ? raw : shapeResult(name, raw), step: stepMethodFor(name) };
}

const MULTIMAP_METHODS = new Set(['kong.request.get_query', 'kong.request.get_headers', 'kong.response.get_headers', 'kong.service.response.get_headers']);

function shapeResult(name: string, value: unknown): unknown {
  if (MULTIMAP_METHODS.has(name)) {
    // fix_mmap packs an empty table as an empty MAP; other empty tables pack as arrays.
    return value;
  }
  return luaValue(value);
}
