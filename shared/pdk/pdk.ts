import type { HeaderInput, HeaderMultimap, HeaderValue, KongConsumer, KongCredential, KongRoute, KongService } from './types';

/**
 * Typed access to the `kong` object a plugin server hands to a phase. Every method is exactly one PDK call (one IPC
 * round trip), named with Kong's real snake_case wire name so kong-pdk's camelCase conversion never gets a say
 * (`getIP` would become `get_iP`). Return types are what Kong actually sends: only the first Lua return value,
 * multimaps as {name: string[]}, raw bodies as bytes; an empty Lua table arrives as an array.
 */
export class Pdk {
  private _request: RequestPdk | undefined;
  private _client: ClientPdk | undefined;
  private _response: ResponsePdk | undefined;
  private _serviceRequest: ServiceRequestPdk | undefined;
  private _serviceResponse: ServiceResponsePdk | undefined;
  private _log: LogPdk | undefined;
  private _ctx: SharedCtxPdk | undefined;
  private _router: RouterPdk | undefined;
  private _node: NodePdk | undefined;

  constructor(readonly kong: any) {}

  // Namespaces are built on first use: each property access on kong-pdk's proxy allocates.
  get request(): RequestPdk {
    return (this._request ??= new RequestPdk(this.kong.request));
  }
  get client(): ClientPdk {
    return (this._client ??= new ClientPdk(this.kong.client));
  }
  get response(): ResponsePdk {
    return (this._response ??= new ResponsePdk(this.kong.response));
  }
  get serviceRequest(): ServiceRequestPdk {
    return (this._serviceRequest ??= new ServiceRequestPdk(this.kong.service.request));
  }
  get serviceResponse(): ServiceResponsePdk {
    return (this._serviceResponse ??= new ServiceResponsePdk(this.kong.service.response));
  }
  get log(): LogPdk {
    return (this._log ??= new LogPdk(this.kong.log));
  }
  get ctx(): SharedCtxPdk {
    return (this._ctx ??= new SharedCtxPdk(this.kong.ctx.shared));
  }
  get router(): RouterPdk {
    return (this._router ??= new RouterPdk(this.kong.router));
  }
  get node(): NodePdk {
    return (this._node ??= new NodePdk(this.kong.node));
  }
}

/** `{}` and `[]` both mean "no entries": Lua packs an empty table as an array. */
export function asMultimap(value: unknown): HeaderMultimap {
  if (!value || Array.isArray(value) || typeof value !== 'object') return {};
  return value as HeaderMultimap;
}

export function asBytes(value: unknown): Buffer {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value, 'latin1');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.alloc(0);
}

function orUndefined<T>(value: unknown): T | undefined {
  return value === null || value === undefined ? undefined : (value as T);
}

/** Kong's largest get_headers limit (kong/pdk/request.lua and response.lua: MAX_HEADERS = 1000). */
export const MAX_HEADER_LINES = 1000;

/**
 * Whether a get_headers answer may have left lines out. nginx counts header lines in arrival order and drops those
 * past the limit silently (Kong's PDK keeps the table, not ngx's "truncated" flag), so a full answer may hide more.
 */
export function mayBeTruncated(headers: HeaderMultimap, limit = MAX_HEADER_LINES): boolean {
  let lines = 0;
  for (const name in headers) lines += headers[name].length;
  return lines >= limit;
}

/**
 * Headers that describe a body or a connection: never taken from elsewhere (an ext_authz provider's answer) onto
 * another message. In kong.response.exit a caller's content-length stops Kong from setting the body's own
 * (pdk/response.lua send), and a lower-case content-type is another Lua table key than ours: which one wins is
 * pairs() order. Onto an upstream request, set_headers would corrupt its framing.
 */
const FRAMING_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'host']);

export function isFramingHeader(name: string): boolean {
  return FRAMING_HEADERS.has(name.toLowerCase());
}

export class RequestPdk {
  constructor(private readonly k: any) {}
  async getMethod(): Promise<string> {
    return (await this.k.get_method()) as string;
  }
  async getScheme(): Promise<string> {
    return (await this.k.get_scheme()) as string;
  }
  async getHost(): Promise<string> {
    return (await this.k.get_host()) as string;
  }
  async getPort(): Promise<number> {
    return (await this.k.get_port()) as number;
  }
  /** Normalized path (percent-decoded, dot segments removed), without the query. */
  async getPath(): Promise<string> {
    return (await this.k.get_path()) as string;
  }
  async getRawPath(): Promise<string> {
    return (await this.k.get_raw_path()) as string;
  }
  async getPathWithQuery(): Promise<string> {
    return (await this.k.get_path_with_query()) as string;
  }
  /** 1.0, 1.1, 2.0 (Kong answers a number). */
  async getHttpVersion(): Promise<number> {
    return Number(await this.k.get_http_version());
  }
  async getRawQuery(): Promise<string> {
    return ((await this.k.get_raw_query()) as string | undefined) ?? '';
  }
  /** A bare flag (`?debug`) arrives as an empty array. */
  async getQuery(maxArgs?: number): Promise<HeaderMultimap> {
    return asMultimap(await (maxArgs === undefined ? this.k.get_query() : this.k.get_query(maxArgs)));
  }
  async getQueryArg(name: string): Promise<string | undefined> {
    const value = await this.k.get_query_arg(name);
    return typeof value === 'string' ? value : undefined;
  }
  async getHeader(name: string): Promise<string | undefined> {
    return orUndefined<string>(await this.k.get_header(name));
  }
  /** Lower-case names, every value an array. */
  /**
   * Request headers, up to Kong's maximum of 1000 lines by default. Kong's own default is 100 lines, the rest
   * dropped silently: a client could push Content-Type, X-Forwarded-For or a tenant header past them. Callers that
   * must see every header refuse a request for which {@link mayBeTruncated} holds.
   */
  async getHeaders(maxHeaders = MAX_HEADER_LINES): Promise<HeaderMultimap> {
    return asMultimap(await this.k.get_headers(maxHeaders));
  }
  /**
   * The request body. A body over client_body_buffer_size (8 KiB by default) sits in a temp file, and Kong reads
   * it only when given max_allowed_file_size (0 = no limit). A file body over that limit never comes back: Kong
   * answers `nil, "request body file too big"`, mp_rpc's fix_raw fails packing the nil as bin, Kong answers 500
   * and never sends the handler another Step (kong-pdk's handler waits forever; ours is swept). So check
   * Content-Length against `maxBytes` before reading; only a body without one (chunked, HTTP/2) can still end so.
   * Undefined when a body held in memory exceeds `maxBytes` (Kong returns those whatever the limit).
   */
  async getRawBody(maxBytes: number): Promise<Buffer | undefined> {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError('getRawBody: maxBytes must be a positive integer');
    const body = await this.k.get_raw_body(maxBytes);
    if (body === undefined || body === null) return undefined;
    const bytes = asBytes(body);
    // a body held in memory (under the buffer size) comes back whatever the limit: apply it here too
    return bytes.length > maxBytes ? undefined : bytes;
  }
}

export class ClientPdk {
  constructor(private readonly k: any) {}
  async getIp(): Promise<string> {
    return (await this.k.get_ip()) as string;
  }
  async getForwardedIp(): Promise<string> {
    return (await this.k.get_forwarded_ip()) as string;
  }
  async getConsumer(): Promise<KongConsumer | undefined> {
    const consumer = await this.k.get_consumer();
    return consumer && !Array.isArray(consumer) ? (consumer as KongConsumer) : undefined;
  }
  async getCredential(): Promise<KongCredential | undefined> {
    const credential = await this.k.get_credential();
    return credential && !Array.isArray(credential) ? (credential as KongCredential) : undefined;
  }
}

export class ResponsePdk {
  constructor(private readonly k: any) {}
  async getStatus(): Promise<number> {
    return (await this.k.get_status()) as number;
  }
  async getHeader(name: string): Promise<string | undefined> {
    return orUndefined<string>(await this.k.get_header(name));
  }
  /** Response headers, up to Kong's maximum of 1000 lines by default (Kong's own default, 100, drops the rest). */
  async getHeaders(maxHeaders = MAX_HEADER_LINES): Promise<HeaderMultimap> {
    return asMultimap(await this.k.get_headers(maxHeaders));
  }
  async setStatus(status: number): Promise<void> {
    await this.k.set_status(status);
  }
  async setHeader(name: string, value: HeaderValue | HeaderValue[]): Promise<void> {
    await this.k.set_header(name, value);
  }
  async addHeader(name: string, value: HeaderValue | HeaderValue[]): Promise<void> {
    await this.k.add_header(name, value);
  }
  async clearHeader(name: string): Promise<void> {
    await this.k.clear_header(name);
  }
  /** One call for many headers: prefer it over repeated setHeader. */
  async setHeaders(headers: HeaderInput): Promise<void> {
    await this.k.set_headers(headers);
  }
  /**
   * Ends the request. Kong sends no further Step for this event: make it the last PDK call of the phase.
   * A string or bytes body is sent as is; an object is JSON-encoded by Kong.
   */
  async exit(status: number, body?: string | Buffer | Record<string, unknown>, headers?: HeaderInput): Promise<void> {
    await this.k.exit(status, body, headers);
  }
  /** Kong's standard error body for `status`, in the format the client's Accept asks for. */
  async error(status: number, message?: string, headers?: HeaderInput): Promise<void> {
    await this.k.error(status, message, headers);
  }
}

export class ServiceRequestPdk {
  constructor(private readonly k: any) {}
  async setPath(path: string): Promise<void> {
    await this.k.set_path(path);
  }
  async setRawQuery(query: string): Promise<void> {
    await this.k.set_raw_query(query);
  }
  async setMethod(method: string): Promise<void> {
    await this.k.set_method(method);
  }
  async setHeader(name: string, value: HeaderValue | HeaderValue[]): Promise<void> {
    await this.k.set_header(name, value);
  }
  async setHeaders(headers: HeaderInput): Promise<void> {
    await this.k.set_headers(headers);
  }
  async clearHeader(name: string): Promise<void> {
    await this.k.clear_header(name);
  }
  async setRawBody(body: string | Buffer): Promise<void> {
    await this.k.set_raw_body(body);
  }
}

/**
 * No getHeaders(): under buffered proxying (always, for an external plugin with a response handler) Kong 3.9's
 * kong.service.response.get_headers() returns {} (attach_buffered_headers_mt has only an __index hook, which
 * mp_rpc's fix_mmap cannot iterate; Kong/kong#13827). Read upstream headers one by one with getHeader(), or all
 * downstream headers (the upstream's, copied before the response phase) with kong.response.get_headers().
 */
export class ServiceResponsePdk {
  constructor(private readonly k: any) {}
  async getStatus(): Promise<number | undefined> {
    return orUndefined<number>(await this.k.get_status());
  }
  async getHeader(name: string): Promise<string | undefined> {
    return orUndefined<string>(await this.k.get_header(name));
  }
  /** The buffered upstream body (response phase only). */
  async getRawBody(): Promise<Buffer> {
    return asBytes(await this.k.get_raw_body());
  }
}

export class LogPdk {
  constructor(private readonly k: any) {}
  async err(...parts: string[]): Promise<void> {
    await this.k.err(...parts);
  }
  async warn(...parts: string[]): Promise<void> {
    await this.k.warn(...parts);
  }
  async info(...parts: string[]): Promise<void> {
    await this.k.info(...parts);
  }
  /** Replaces (or with null removes) a field of what Kong's log plugins serialize; dotted paths nest. */
  async setSerializeValue(key: string, value: unknown): Promise<void> {
    await this.k.set_serialize_value(key, value);
  }
  /** The log serializer's record (log phase only), decoded from the JSON string Kong sends. */
  async serialize(): Promise<Record<string, unknown>> {
    const raw = await this.k.serialize();
    return typeof raw === 'string' ? (JSON.parse(raw) as Record<string, unknown>) : ((raw as Record<string, unknown>) ?? {});
  }
}

export class SharedCtxPdk {
  constructor(private readonly k: any) {}
  async get<T = unknown>(key: string): Promise<T | undefined> {
    return orUndefined<T>(await this.k.get(key));
  }
  async set(key: string, value: unknown): Promise<void> {
    await this.k.set(key, value);
  }
}

export class RouterPdk {
  constructor(private readonly k: any) {}
  async getRoute(): Promise<KongRoute | undefined> {
    return orUndefined<KongRoute>(await this.k.get_route());
  }
  async getService(): Promise<KongService | undefined> {
    return orUndefined<KongService>(await this.k.get_service());
  }
}

export class NodePdk {
  constructor(private readonly k: any) {}
  async getId(): Promise<string> {
    return (await this.k.get_id()) as string;
  }
}
