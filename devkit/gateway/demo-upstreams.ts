import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/observability/log';
import type { DemoUpstream } from '../upstreams/demo-upstream';
import { GatewayStartError, listenOn } from './listen';

export interface RunningUpstream {
  name: string;
  /** The port kong.yml points at (the upstream's own). */
  configuredPort: number;
  /** Where it really listens (differs with ephemeral upstreams). */
  port: number;
  close(): Promise<void>;
}

/** Starts each demo upstream on 127.0.0.1 (its fixed port, or a free one); stops those started if one fails. */
export async function startDemoUpstreams(upstreams: readonly DemoUpstream[], ephemeral: boolean, log: Logger): Promise<RunningUpstream[]> {
  const running: RunningUpstream[] = [];
  try {
    for (const upstream of upstreams) running.push(await startOne(upstream, ephemeral ? 0 : upstream.port, log));
  } catch (err) {
    await Promise.all(running.map((r) => r.close()));
    throw err;
  }
  return running;
}

async function startOne(upstream: DemoUpstream, port: number, log: Logger): Promise<RunningUpstream> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      Promise.resolve()
        .then(() => upstream.handle(request, Buffer.concat(chunks), response))
        .catch((err: unknown) => {
          log.error({ upstream: upstream.name, err }, 'demo upstream handler failed');
          if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/json' });
          response.end(JSON.stringify({ error: 'demo upstream failed' }));
        });
    });
  });
  server.keepAliveTimeout = 5_000;
  try {
    await listenOn(server, '127.0.0.1', port);
  } catch (err) {
    if (err instanceof GatewayStartError) {
      throw new GatewayStartError(`demo upstream "${upstream.name}": ${err.message} (another \`npm start\` running? or pass --ephemeral-upstreams)`);
    }
    throw err;
  }
  return {
    name: upstream.name,
    configuredPort: upstream.port,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
