import http from 'node:http';
import https from 'node:https';
import { HeaderMap } from './header-map';
import type { RequestContext } from './request-context';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/**
 * Kong 3.9.3's upstream keepalive (kong_defaults.lua; applied per request in kong/init.lua's balancer phase through
 * ngx.balancer set_current_peer({pool = "ip|port[|sni[|client cert id]]", pool_size}) and enable_keepalive(
 * idle_timeout, max_requests)):
 * - pool_size 512: idle connections kept per pool (per nginx worker). It is NOT a limit on concurrent
 *   connections: nginx opens as many as requests need, so a slow request never queues an unrelated one behind it
 *   (Node's Agent with maxSockets 256 did: 300 slow requests delayed one more by 3.6 s). 0 disables keepalive.
 * - max_requests 10000: a connection is closed after serving that many requests (0: unlimited).
 * - idle_timeout 60 s: an idle pooled connection is closed after that long (0: never).
 * Read from the same environment variables Kong reads for kong.conf (KONG_UPSTREAM_KEEPALIVE_*).
 */
export interface UpstreamKeepalive {
  poolSize: number;
  maxRequests: number;
  idleTimeoutSeconds: number;
}

export const KONG_UPSTREAM_KEEPALIVE: Readonly<UpstreamKeepalive> = Object.freeze({ poolSize: 512, maxRequests: 10_000, idleTimeoutSeconds: 60 });

function keepaliveFromEnv(env: NodeJS.ProcessEnv): UpstreamKeepalive {
  const read = (name: string, fallback: number): number => {
    const raw = env[`KONG_UPSTREAM_KEEPALIVE_${name}`];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    // conf_loader/parse.lua: "upstream_keepalive_<name> must be 0 or greater"
    if (!Number.isFinite(value) || value < 0) throw new Error(`upstream_keepalive_${name.toLowerCase()} must be 0 or greater`);
    return value;
  };
  return {
    poolSize: read('POOL_SIZE', KONG_UPSTREAM_KEEPALIVE.poolSize),
    maxRequests: read('MAX_REQUESTS', KONG_UPSTREAM_KEEPALIVE.maxRequests),
    idleTimeoutSeconds: read('IDLE_TIMEOUT', KONG_UPSTREAM_KEEPALIVE.idleTimeoutSeconds),
  };
}

let keepalive = keepaliveFromEnv(process.env);
let agents = makeAgents(keepalive);
/** Requests served per pooled connection, for max_requests. */
const served = new WeakMap<object, number>();

function makeAgents(settings: UpstreamKeepalive): { http: http.Agent; https: https.Agent } {
  const options = {
    keepAlive: settings.poolSize > 0,
    maxSockets: Infinity,
    maxFreeSockets: Math.max(1, settings.poolSize),
    // an idle pooled socket is destroyed after this (the request's own timeout replaces it while in use)
    timeout: settings.idleTimeoutSeconds > 0 ? settings.idleTimeoutSeconds * 1000 : undefined,
    scheduling: 'lifo' as const,
  };
  // Node's pool key is host:port[:servername...] for https: one pool per SNI, as Kong's "ip|port|sni"
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

/** Replaces the keepalive settings (tests; the dev gateway reads KONG_UPSTREAM_KEEPALIVE_* at start). */
export function setUpstreamKeepalive(settings: Partial<UpstreamKeepalive>): UpstreamKeepalive {
  agents.http.destroy();
  agents.https.destroy();
  keepalive = { ...keepalive, ...settings };
  agents = makeAgents(keepalive);
  return keepalive;
}

export function upstreamKeepalive(): UpstreamKeepalive {
  return { ...keepalive };
}

export interface UpstreamResult {
  status: number;
  headers: HeaderMap;
  body: Buffer;
  /** nginx failed to proxy (connection error, timeout): Kong answers with its error page for `status`. */
  failed?: boolean;
}

/** "1.1 kong/3.9.3": proxy_http_version and meta._SERVER_TOKENS, in Via both ways. */
export const SERVER_TOKENS = 'kong/3.9.3';
export const VIA_TOKEN = `1.1 ${SERVER_TOKENS}`;

/**
 * Proxies nginx's request (as plugins left it) to the matched service at ctx.upstream's scheme and path, with the
 * headers Kong's proxy location sets (templates/nginx_kong.lua proxy_set_header: an empty value sends none);
 * buffers the answer.
 */
export function proxyToService(ctx: RequestContext, timeoutMs = 60_000): Promise<UpstreamResult> {
  const service = ctx.service;
  if (!service) return Promise.resolve(failure(503));
  const headers = HeaderMap.from(ctx.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  const forwardedFor = ctx.headers.get('x-forwarded-for');
  const via = ctx.headers.get('via');
  headers.set('Via', via ? `${via}, ${VIA_TOKEN}` : VIA_TOKEN);
  // runloop/handler.lua: a client's X-Forwarded-For plus realip_remote_addr (the peer), else remote_addr
  headers.set('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${ctx.clientIp}` : ctx.forwardedIp);
  headers.set('X-Forwarded-Proto', ctx.scheme);
  headers.set('X-Forwarded-Host', ctx.host);
  headers.set('X-Forwarded-Port', String(ctx.port));
  headers.set('X-Forwarded-Path', ctx.rawPath);
  if (ctx.forwardedPrefix) headers.set('X-Forwarded-Prefix', ctx.forwardedPrefix);
  else headers.delete('X-Forwarded-Prefix');
  headers.set('X-Real-IP', ctx.forwardedIp); // nginx-kong.conf: proxy_set_header X-Real-IP $remote_addr
  headers.set('X-Kong-Request-Id', ctx.requestId);
  if (ctx.upstream.host) headers.set('Host', ctx.upstream.host);
  else if (!ctx.route?.preserve_host) headers.set('Host', `${service.host}:${service.port}`);
  const body = ctx.body;
  if (body.length > 0 || !['GET', 'HEAD'].includes(ctx.method)) headers.set('Content-Length', String(body.length));
  const started = Date.now();
  const scheme = ctx.upstream.scheme ?? service.protocol;
  const client = scheme === 'https' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      {
        host: service.host,
        port: service.port,
        method: ctx.method,
        path: ctx.upstream.path + (ctx.rawQuery ? '?' + ctx.rawQuery : ''),
        headers: headers.toNodeHeaders(),
        agent: client === http ? agents.http : agents.https,
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          retireIfSpent(request.socket);
          ctx.upstreamLatencyMs = Date.now() - started;
          const responseHeaders = new HeaderMap();
          const raw = response.rawHeaders;
          for (let i = 0; i < raw.length; i += 2) {
            if (!HOP_BY_HOP.includes(raw[i].toLowerCase())) responseHeaders.add(raw[i], raw[i + 1]);
          }
          resolve({ status: response.statusCode ?? 502, headers: responseHeaders, body: Buffer.concat(chunks) });
        });
        response.on('error', () => resolve(failure(502)));
      },
    );
    request.on('timeout', () => {
      request.destroy();
      resolve(failure(504));
    });
    request.on('error', () => resolve(failure(502)));
    request.end(body);
  });
}

/** enable_keepalive's max_requests: the connection that served its last allowed request is not reused. */
function retireIfSpent(socket: import('node:net').Socket | null): void {
  if (!socket || keepalive.maxRequests <= 0) return;
  const count = (served.get(socket) ?? 0) + 1;
  served.set(socket, count);
  if (count >= keepalive.maxRequests) socket.destroy();
}

function failure(status: number): UpstreamResult {
  return { status, headers: new HeaderMap(), body: Buffer.alloc(0), failed: true };
}
