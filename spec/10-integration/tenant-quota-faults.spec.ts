import crypto from 'node:crypto';
import fs from 'node:fs';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { parseRateLimitList } from '../helpers/ratelimit-headers';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers';
import { tenantQuotaPluginDir } from '../helpers/tenant-quota';

/**
 * Redis faults on a Redis of this test's own (startRedisServer): killed, paused with SIGSTOP in the middle of load,
 * restarted. Each failure mode does what it says, no request waits past the command timeout (plus RPC margin), the
 * breaker opens and recovers without restarting anything, and the plugin server neither leaks memory nor rejects
 * unhandled.
 */
const RUN = crypto.randomBytes(4).toString('hex');
const TIMEOUT_MS = 50;
/** The emulator, two RPC hops and a loaded CI box on top of the Redis deadline. */
const MARGIN_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

describe.each(SERVER_KINDS)('tenant-quota under Redis faults (%s plugin server)', (kind) => {
  let redis: RedisServer;
  let upstream: TestUpstream;
  let kong: KongEmulator;
  let seq = 0;
  const tenant = () => `fault-${RUN}-${kind}-${seq++}`;

  beforeAll(async () => {
    redis = await startRedisServer();
    upstream = await startUpstream();
    const plugin = (mode: string) => ({
      name: 'tenant-quota',
      config: {
        identity: { source: 'header', trust_header: true },
        plans: [{ name: 'p', limits: [{ name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 10, window_seconds: 3600 }] }],
        default_plan: 'p',
        on_redis_failure: mode,
        node_count: 2,
        redis: { host: '127.0.0.1', port: redis.port, command_timeout_ms: TIMEOUT_MS, connect_timeout_ms: 200, breaker: { failure_threshold: 3, open_ms: 300 } },
      },
    });
    kong = await startKong({
      kind,
      // two nginx workers: two instances per config in one plugin-server process, which must share local limits
      workers: 2,
      pluginsDir: tenantQuotaPluginDir(),
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: upstream.url,
            routes: ['fail_open', 'fail_closed', 'local'].map((mode) => ({ name: mode, paths: [`/${mode}`], plugins: [plugin(mode)] })),
          },
        ],
      },
    });
    for (const mode of ['fail_open', 'fail_closed', 'local']) expect((await kong.request({ path: `/${mode}/warm`, headers: { 'X-Tenant-ID': `warm-${RUN}` } })).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
    await redis?.stop();
  });

  async function timed(path: string, t: string) {
    const started = performance.now();
    const res = await kong.request({ path, headers: { 'X-Tenant-ID': t } });
    return { res, ms: performance.now() - started };
  }

  async function waitForRedis(path: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const res = await kong.request({ path, headers: { 'X-Tenant-ID': tenant() } });
      if (res.headers.get('ratelimit') && res.status === 200) return;
      await sleep(100);
    }
    throw new Error('did not recover');
  }

  it('Redis killed: fail_open admits without headers, fail_closed answers 503, local enforces limit / node_count; all fast', async () => {
    await redis.kill();
    const t = tenant();
    const durations: number[] = [];
    const open = [];
    const closed = [];
    const local = [];
    for (let i = 0; i < 8; i++) {
      const o = await timed('/fail_open/x', t);
      const c = await timed('/fail_closed/x', t);
      const l = await timed('/local/x', t);
      durations.push(o.ms, c.ms, l.ms);
      open.push(o.res);
      closed.push(c.res);
      local.push(l.res);
    }
    expect(open.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(open.every((r) => r.headers.get('ratelimit') === undefined)).toBe(true);
    expect(closed.map((r) => r.status)).toEqual(Array(8).fill(503));
    expect(closed[0].headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(closed[0].body.toString()).type).toContain('temporary-reduced-capacity');
    expect(Number(closed[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // local: limit 10 shared by node_count 2 -> 5 here
    expect(local.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(parseRateLimitList(local[0].headers.get('ratelimit-policy') as string).burst.q).toBe(5);
    expect(Math.max(...durations)).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(kong.errors).toEqual([]);
    // the state is visible in the plugin server's log, once per transition
    expect(await kong.servers[0].waitForStderr('tenant-quota: redis unavailable, applying fail_closed')).toContain('tenant-quota: redis unavailable, applying fail_closed');
  });

  it('Redis restarted: every mode goes back to Redis without a restart of anything', async () => {
    await redis.restart();
    await waitForRedis('/fail_open/x');
    await waitForRedis('/fail_closed/x');
    await waitForRedis('/local/x');
    const res = await kong.request({ path: '/fail_closed/x', headers: { 'X-Tenant-ID': tenant() } });
    expect(res.status).toBe(200);
    expect(parseRateLimitList(res.headers.get('ratelimit-policy') as string).burst.q).toBe(10);
    expect(await kong.servers[0].waitForStderr('tenant-quota: redis answers again')).toContain('tenant-quota: redis answers again');
  }, 20_000);

  it('Redis paused (SIGSTOP) in the middle of load: no request waits past the timeout; resumes cleanly', async () => {
    const t = tenant();
    const durations: number[] = [];
    const statuses: number[] = [];
    const load = async (lane: number) => {
      for (let i = 0; i < 25; i++) {
        const { res, ms } = await timed(lane % 2 ? '/fail_closed/x' : '/fail_open/x', `${t}-${lane}`);
        durations.push(ms);
        statuses.push(res.status);
      }
    };
    const lanes = Promise.all(Array.from({ length: 8 }, (_, lane) => load(lane)));
    await sleep(30);
    redis.pause();
    await lanes;
    redis.resume();
    expect(statuses).toContain(503); // fail_closed saw the pause
    expect(Math.max(...durations)).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    await waitForRedis('/fail_closed/x');
    expect(kong.errors).toEqual([]);
  }, 20_000);

  it('Redis stalls (SIGSTOP): the local fallback starts from what Redis said was left, not from a fresh budget', async () => {
    await waitForRedis('/local/x');
    const spent = tenant();
    const half = tenant();
    // through Redis: `spent` uses its whole limit of 10, `half` uses 6 (4 left: 2 for each of node_count 2)
    for (let i = 0; i < 10; i++) expect((await kong.request({ path: '/local/x', headers: { 'X-Tenant-ID': spent } })).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await kong.request({ path: '/local/x', headers: { 'X-Tenant-ID': half } })).status).toBe(200);
    redis.pause();
    try {
      const during = async (t: string) => {
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) statuses.push((await kong.request({ path: '/local/x', headers: { 'X-Tenant-ID': t } })).status);
        return statuses.filter((s) => s === 200).length;
      };
      // before seeding: 5 each (a fresh limit / node_count), whatever the tenant had spent
      expect(await during(spent)).toBe(0);
      expect(await during(half)).toBe(2);
    } finally {
      redis.resume();
    }
    await waitForRedis('/local/x');
    expect(kong.errors).toEqual([]);
  }, 20_000);

  it('memory stays flat over thousands of degraded requests; no unhandled rejection in the plugin server', async () => {
    const pid = kong.servers[0].pid as number;
    await redis.kill();
    const burst = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => kong.request({ path: ['/fail_open/x', '/fail_closed/x', '/local/x'][j % 3], headers: { 'X-Tenant-ID': `mem-${RUN}-${(i + j) % 500}` } })));
      }
    };
    await burst(1500);
    const before = rssKb(pid);
    await burst(4500);
    const after = rssKb(pid);
    expect(after - before).toBeLessThan(20 * 1024);
    await redis.restart();
    await waitForRedis('/local/x');
    expect(kong.servers[0].stderr).not.toMatch(/unhandled/i);
    expect(kong.errors).toEqual([]);
  }, 60_000);
});
