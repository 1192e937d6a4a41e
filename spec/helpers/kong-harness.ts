import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KongEmulator, type EmulatorOptions } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS, type ServerKind } from '../../devkit/emulator/plugin-server-process';

/** Both plugin servers every plugin must work under: ours, and kong-pdk's stock kong-js-pluginserver. */
export const SERVER_KINDS: ServerKind[] = ['ours', 'stock'];

export interface KongOptions extends EmulatorOptions {
  kind: ServerKind;
  /** Defaults to the built suite (dist/plugins). */
  pluginsDir?: string;
  /** Ours only: per-plugin mode. */
  plugin?: string;
  /** Declarative config (kong.yml shape, `_format_version: "3.0"`). */
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Respawn the server when it dies, as Kong's worker 0 does (after >= 1 s). */
  respawn?: boolean;
}

export async function startKong(options: KongOptions): Promise<KongEmulator> {
  const kong = new KongEmulator(options);
  await kong.addServer({ kind: options.kind, pluginsDir: options.pluginsDir ?? BUILT_PLUGINS, plugin: options.plugin, env: options.env, respawn: options.respawn });
  if (options.config) kong.configure(options.config);
  return kong;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface TestUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type UpstreamHandler = (request: RecordedRequest, response: http.ServerResponse) => void;

/** A real HTTP upstream on 127.0.0.1:0. By default it echoes the request it got as JSON. */
export async function startUpstream(handler?: UpstreamHandler): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      if (handler) return handler(recorded, res);
      const body = JSON.stringify({ method: recorded.method, url: recorded.url, headers: recorded.headers, body: recorded.body.toString('utf8') });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'echo' });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A one-service, one-route declarative config with the given plugins on the route. */
export function routeConfig(upstreamUrl: string, plugins: Array<Record<string, unknown>>, route: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _format_version: '3.0',
    services: [{ name: 'svc', url: upstreamUrl, routes: [{ name: 'route', paths: ['/'], strip_path: false, ...route, plugins }] }],
  };
}
