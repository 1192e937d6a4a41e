import http from 'node:http';
import https from 'node:https';
import { HeaderMap } from './header-map';
import type { RequestContext } from './request-context';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface UpstreamResult {
  status: number;
  headers: HeaderMap;
  body: Buffer;
}

/** Proxies ctx.upstream to the matched service with the X-Forwarded-* headers Kong adds; buffers the answer. */
export function proxyToService(ctx: RequestContext, timeoutMs = 60_000): Promise<UpstreamResult> {
  const service = ctx.service;
  if (!service) return Promise.resolve(kongError(503, 'no Service found with those values'));
  const headers = HeaderMap.from(ctx.upstream.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  const forwardedFor = ctx.headers.get('x-forwarded-for');
  headers.set('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${ctx.clientIp}` : ctx.clientIp);
  headers.set('X-Forwarded-Proto', ctx.scheme);
  headers.set('X-Forwarded-Host', ctx.host);
  headers.set('X-Forwarded-Port', String(ctx.port));
  headers.set('X-Forwarded-Path', ctx.rawPath);
  headers.set('X-Real-IP', ctx.clientIp);
  if (!ctx.route?.preserve_host) headers.set('Host', `${service.host}:${service.port}`);
  const body = ctx.upstream.body ?? ctx.body;
  if (body.length > 0 || !['GET', 'HEAD'].includes(ctx.upstream.method)) headers.set('Content-Length', String(body.length));
  const started = Date.now();
  const client = ctx.upstream.scheme === 'https' || service.protocol === 'https' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      {
        host: service.host,
        port: service.port,
        method: ctx.upstream.method,
        path: ctx.upstream.path + (ctx.upstream.rawQuery ? '?' + ctx.upstream.rawQuery : ''),
        headers: headers.toNodeHeaders(),
        agent: client === http ? agent : undefined,
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          ctx.upstreamLatencyMs = Date.now() - started;
          const responseHeaders = new HeaderMap();
          const raw = response.rawHeaders;
          for (let i = 0; i < raw.length; i += 2) {
            if (!HOP_BY_HOP.includes(raw[i].toLowerCase())) responseHeaders.add(raw[i], raw[i + 1]);
          }
          resolve({ status: response.statusCode ?? 502, headers: responseHeaders, body: Buffer.concat(chunks) });
        });
        response.on('error', () => resolve(kongError(502, 'An invalid response was received from the upstream server')));
      },
    );
    request.on('timeout', () => {
      request.destroy();
      resolve(kongError(504, 'The upstream server is timing out'));
    });
    request.on('error', () => resolve(kongError(502, 'An invalid response was received from the upstream server')));
    request.end(body);
  });
}

export function kongError(status: number, message: string): UpstreamResult {
  const body = Buffer.from(JSON.stringify({ message }));
  const headers = HeaderMap.from({ 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length) });
  return { status, headers, body };
}
