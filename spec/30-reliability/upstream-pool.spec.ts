import http from 'node:http';
import type net from 'node:net';
import { KongEmulator } from '../../devkit/emulator/kong';
import { KONG_UPSTREAM_KEEPALIVE, setUpstreamKeepalive, upstreamKeepalive } from '../../devkit/emulator/upstream';
import { routeConfig } from '../helpers/kong-harness';

/*
 * The emulator's upstream connection pool is Kong 3.9.3's (kong_defaults.lua upstream_keepalive_pool_size = 512,
 * upstream_keepalive_max_requests = 10000, upstream_keepalive_idle_timeout = 60; kong/init.lua's balancer passes
 * pool_size to set_current_peer and the two others to enable_keepalive). pool_size bounds the IDLE connections kept,
 * never the concurrent ones: nginx opens a connection per in-flight request beyond the pool.
 */
describe("the emulator's upstream pool is Kong's", () => {
  let upstream: http.Server;
  let kong: KongEmulator;
  const connections = new Set<net.Socket>();
  let slowMs = 2500;
  /** A client's round trip sits between two requests; in-process, Node's agent frees the socket one tick after 'end'. */
  const get = async (path: string) => {
    const response = await kong.request({ path });
    await new Promise((r) => setImmediate(r));
    return response;
  };

  beforeAll(async () => {
    // a typical upstream's keepalive (startUpstream's 1 s hint makes Node's agent drop idle sockets at once)
    upstream = http.createServer((request, response) => {
      const socket = request.socket;
      connections.add(socket);
      const answer = () => {
        response.writeHead(200, { 'Content-Type': 'text/plain' });
        response.end(`${request.url} on ${socket.remotePort}`);
      };
      if (request.url?.startsWith('/slow')) setTimeout(answer, slowMs);
      else answer();
    });
    upstream.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
    kong = new KongEmulator();
    kong.configure(routeConfig(url, []));
  });
  afterEach(() => setUpstreamKeepalive({ ...KONG_UPSTREAM_KEEPALIVE }));
  afterAll(async () => {
    await kong.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it("defaults to Kong 3.9.3's kong_defaults.lua values", () => {
    expect(upstreamKeepalive()).toEqual({ poolSize: 512, maxRequests: 10_000, idleTimeoutSeconds: 60 });
  });

  it('300 slow requests in flight do not delay an unrelated request to the same upstream (was 3.6 s with maxSockets 256)', async () => {
    slowMs = 2500;
    const slow = Array.from({ length: 300 }, (_, i) => kong.request({ path: `/slow/${i}` }));
    await new Promise((r) => setTimeout(r, 300)); // let every slow request reach the upstream
    const started = Date.now();
    const fast = await kong.request({ path: '/fast' });
    const fastMs = Date.now() - started;
    const statuses = (await Promise.all(slow)).map((r) => r.status);
    expect(fast.status).toBe(200);
    expect(statuses.filter((s) => s === 200)).toHaveLength(300);
    // queued behind a slow one it would wait ~2.5 s; generous for a loaded 2-core machine
    expect(fastMs).toBeLessThan(1500);
  }, 30_000);

  it('keeps idle connections up to pool_size and reuses them (one connection for sequential requests)', async () => {
    const before = new Set(connections);
    for (let i = 0; i < 20; i++) expect((await get(`/seq/${i}`)).status).toBe(200);
    const opened = [...connections].filter((s) => !before.has(s));
    expect(opened.length).toBeLessThanOrEqual(1);
  });

  it('max_requests: a connection is retired after serving that many requests', async () => {
    setUpstreamKeepalive({ maxRequests: 3 });
    const before = new Set(connections);
    for (let i = 0; i < 9; i++) expect((await get(`/mr/${i}`)).status).toBe(200);
    const opened = [...connections].filter((s) => !before.has(s));
    expect(opened).toHaveLength(3);
  });

  it('pool_size 0 disables keepalive: every request opens a connection', async () => {
    setUpstreamKeepalive({ poolSize: 0 });
    const before = new Set(connections);
    for (let i = 0; i < 4; i++) expect((await get(`/nk/${i}`)).status).toBe(200);
    expect([...connections].filter((s) => !before.has(s))).toHaveLength(4);
  });

  it('idle_timeout: an idle pooled connection is closed after it', async () => {
    setUpstreamKeepalive({ idleTimeoutSeconds: 0.3 });
    const first = await kong.request({ path: '/idle/1' });
    const port = first.body.toString().split(' on ')[1];
    await new Promise((r) => setTimeout(r, 700));
    const second = await kong.request({ path: '/idle/2' });
    expect(second.body.toString().split(' on ')[1]).not.toBe(port);
  });
});
