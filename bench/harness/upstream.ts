import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchUpstream {
  url: string;
  close(): Promise<void>;
}

/** A keep-alive upstream on 127.0.0.1:0 answering every request with the same JSON body. */
export async function startFixedUpstream(body: Buffer = Buffer.from('{"ok":true}')): Promise<BenchUpstream> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
