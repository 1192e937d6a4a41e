import crypto from 'node:crypto';
import { HeaderMap } from './header-map';
import { normalizeUri } from './uri';

export type KongPhase = 'rewrite' | 'access' | 'response' | 'log';

export interface Consumer {
  id: string;
  username?: string;
  custom_id?: string;
  tags?: string[];
  created_at?: number;
}

export interface Credential {
  id: string;
  consumer?: { id: string };
  [field: string]: unknown;
}

export interface RouteEntity {
  id: string;
  name?: string;
  paths?: string[];
  methods?: string[];
  hosts?: string[];
  strip_path?: boolean;
  preserve_host?: boolean;
  service?: { id: string };
  tags?: string[];
  protocols?: string[];
}

export interface ServiceEntity {
  id: string;
  name?: string;
  protocol: string;
  host: string;
  port: number;
  path?: string;
  tags?: string[];
}

/** What a client sends to the emulated gateway. */
export interface ClientRequest {
  method?: string;
  /** Path with optional query string, as on the request line. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** The connection's peer address (ngx.var.realip_remote_addr): kong.client.get_ip. */
  clientIp?: string;
  /**
   * The address nginx's realip module put in remote_addr when the peer is in trusted_ips and sent real_ip_header
   * (kong.client.get_forwarded_ip); default: the peer's own, as with Kong's default empty trusted_ips.
   */
  forwardedIp?: string;
  /** ngx.req.http_version(): 0.9, 1.0, 1.1 (default), 2.0 or 3.0. */
  httpVersion?: number;
  scheme?: 'http' | 'https';
  host?: string;
  port?: number;
  /** A consumer an auth plugin (which runs in Kong, not here) has already identified. */
  consumer?: Consumer;
  credential?: Credential;
}

export interface EmulatedResponse {
  status: number;
  headers: HeaderMap;
  body: Buffer;
  /** 'exit' when a plugin ended the request, 'service' when proxied, 'error' when Kong failed. */
  source: 'exit' | 'service' | 'error';
}

/** nginx's client_body_buffer_size as Kong sets it (nginx_http_client_body_buffer_size = 8k): larger bodies go to a file. */
export const CLIENT_BODY_BUFFER_SIZE = 8 * 1024;

/** One `kong.log.set_serialize_value` call, applied when the serializer runs (kong/pdk/log.lua, edit_result). */
export interface SerializeEdit {
  key: string;
  value: unknown;
  mode: 'set' | 'add' | 'replace';
}

/** What plugin_servers/plugin.lua saves for an external plugin's log timer, taken when Kong's log phase runs. */
export interface LogTimerData {
  serialized: Record<string, unknown>;
  requestHeaders: HeaderMap;
  responseHeaders: HeaderMap;
  responseStatus: number;
}

/**
 * The state nginx and Kong keep for one request. The request itself is nginx's (ngx.req): kong.service.request
 * setters change it in place, so later plugins and kong.request see the change; only the upstream scheme and path
 * live apart (ngx.var.upstream_scheme/upstream_uri). The response headers are nginx's output headers (ngx.header).
 */
export class RequestContext {
  phase: KongPhase = 'rewrite';
  readonly startedAt = Date.now();
  /** $request_id, which Kong uses as the request id (X-Kong-Request-Id, error bodies, serialize). */
  readonly requestId = crypto.randomBytes(16).toString('hex');
  /** ngx.var.request_uri: the request line's URI, raw. */
  readonly requestUri: string;
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly clientIp: string;
  readonly forwardedIp: string;
  readonly httpVersion: number;
  readonly headers: HeaderMap;
  method: string;
  /** ngx.var.args (ngx.req.set_uri_args replaces it; request_uri stays). */
  rawQuery: string;
  body: Buffer;
  /** A body over client_body_buffer_size is in a temp file (ngx.req.get_body_data returns nil) until replaced. */
  bodyInFile: boolean;
  consumer: Consumer | undefined;
  credential: Credential | undefined;
  route: RouteEntity | undefined;
  service: ServiceEntity | undefined;
  /** The route's strip_path prefix (match_t.prefix), sent upstream as X-Forwarded-Prefix. */
  forwardedPrefix: string | undefined;
  currentPluginName = '';

  /** ngx.var.upstream_scheme / upstream_uri / upstream_host (set by the router, then by kong.service.request). */
  readonly upstream: { scheme: string | undefined; path: string; host?: string };
  readonly sharedCtx = new Map<string, unknown>();
  readonly serializeEdits: SerializeEdit[] = [];
  /** ngx.header: what will be sent downstream (upstream headers are merged in when it answers). */
  readonly responseHeaders = new HeaderMap();
  /** ngx.status as set by a plugin or by Kong. */
  status: number | undefined;
  /** ctx.buffered_proxying: a plugin of this request has a response handler (plugins_iterator.lua). */
  buffered = false;
  /** ctx.KONG_PROXIED: access ended without an exit, so Kong proxies. */
  proxied = false;
  /** ctx.KONG_EXITED / ctx.KONG_UNEXPECTED, for kong.response.get_source. */
  exited = false;
  unexpected = false;

  /** Upstream response, once proxied. */
  serviceResponse: { status: number; headers: HeaderMap; body: Buffer } | undefined;
  /** The response being sent to the client. */
  response: EmulatedResponse | undefined;
  logTimer: LogTimerData | undefined;
  pdkCalls = 0;
  /** The PDK methods called, in order, as they came off the wire (phase:method). */
  readonly pdkTrace: string[] = [];
  upstreamLatencyMs = 0;
  proxyLatencyMs = 0;

  constructor(request: ClientRequest) {
    this.method = (request.method ?? 'GET').toUpperCase();
    this.scheme = request.scheme ?? 'http';
    const sent = HeaderMap.from(request.headers);
    const hostHeader = sent.get('host');
    this.host = (request.host ?? hostHeader?.split(':')[0] ?? 'localhost').toLowerCase();
    this.port = request.port ?? 8000;
    // a client that names no Host gets the one HTTP clients send, as their first line
    this.headers = hostHeader === undefined ? HeaderMap.from({ host: `${this.host}:${this.port}`, ...Object.fromEntries(sent.rawEntries()) }) : sent;
    this.requestUri = request.path;
    const queryAt = request.path.indexOf('?', 1);
    this.rawQuery = queryAt >= 0 ? request.path.slice(queryAt + 1) : '';
    this.body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0));
    this.bodyInFile = this.body.length > CLIENT_BODY_BUFFER_SIZE;
    this.clientIp = request.clientIp ?? '127.0.0.1';
    this.forwardedIp = request.forwardedIp ?? this.clientIp;
    this.httpVersion = request.httpVersion ?? 1.1;
    this.consumer = request.consumer;
    this.credential = request.credential;
    this.upstream = { scheme: undefined, path: this.rawPath };
  }

  /** kong.request.get_raw_path: request_uri up to its `?`. */
  get rawPath(): string {
    const queryAt = this.requestUri.indexOf('?', 1);
    return queryAt >= 0 ? this.requestUri.slice(0, queryAt) : this.requestUri;
  }

  /** kong.request.get_path and what the router matches on: kong/tools/uri.lua normalize(raw path, true). */
  get normalizedPath(): string {
    return normalizeUri(this.rawPath, true);
  }

}
