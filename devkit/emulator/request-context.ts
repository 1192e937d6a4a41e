import { HeaderMap } from './header-map';

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
  clientIp?: string;
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

/**
 * The state nginx and Kong keep for one request: the client's request, what plugins change of the upstream
 * request, the response under construction, ctx.shared, and the values set for the log serializer.
 */
export class RequestContext {
  phase: KongPhase = 'rewrite';
  readonly startedAt = Date.now();
  readonly method: string;
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly headers: HeaderMap;
  readonly body: Buffer;
  readonly clientIp: string;
  consumer: Consumer | undefined;
  credential: Credential | undefined;
  route: RouteEntity | undefined;
  service: ServiceEntity | undefined;
  currentPluginName = '';

  readonly upstream: { method: string; scheme: string; path: string; rawQuery: string; headers: HeaderMap; body: Buffer | undefined };
  readonly sharedCtx = new Map<string, unknown>();
  readonly serializeOverrides = new Map<string, unknown>();
  /** Response headers plugins set before the upstream answered (they are applied on top of the upstream's). */
  readonly pendingResponseHeaders = new HeaderMap();
  readonly clearedResponseHeaders = new Set<string>();
  responseStatusOverride: number | undefined;

  /** Upstream response, once proxied. */
  serviceResponse: { status: number; headers: HeaderMap; body: Buffer } | undefined;
  /** The response being sent to the client. */
  response: EmulatedResponse | undefined;
  exited = false;
  pdkCalls = 0;
  upstreamLatencyMs = 0;

  constructor(request: ClientRequest) {
    this.method = (request.method ?? 'GET').toUpperCase();
    this.scheme = request.scheme ?? 'http';
    this.headers = HeaderMap.from(request.headers);
    const hostHeader = this.headers.get('host');
    this.host = (request.host ?? hostHeader?.split(':')[0] ?? 'localhost').toLowerCase();
    this.port = request.port ?? 8000;
    if (!this.headers.has('host')) this.headers.set('host', `${this.host}:${this.port}`);
    const queryAt = request.path.indexOf('?');
    this.rawPath = queryAt >= 0 ? request.path.slice(0, queryAt) : request.path;
    this.rawQuery = queryAt >= 0 ? request.path.slice(queryAt + 1) : '';
    this.body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0));
    this.clientIp = request.clientIp ?? '127.0.0.1';
    this.consumer = request.consumer;
    this.credential = request.credential;
    this.upstream = {
      method: this.method,
      scheme: 'http',
      path: this.rawPath,
      rawQuery: this.rawQuery,
      headers: HeaderMap.from(this.headers),
      body: undefined,
    };
  }

  /** nginx's normalized $uri: percent-decoded, dot segments and duplicate slashes removed. */
  get normalizedPath(): string {
    let decoded: string;
    try {
      decoded = decodeURIComponent(this.rawPath);
    } catch {
      decoded = this.rawPath;
    }
    const segments: string[] = [];
    for (const segment of decoded.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') segments.pop();
      else segments.push(segment);
    }
    return '/' + segments.join('/') + (decoded.endsWith('/') && segments.length ? '/' : '');
  }
}
