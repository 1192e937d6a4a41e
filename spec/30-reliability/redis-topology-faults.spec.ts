import type { KongEmulator } from '../../devkit/emulator/kong';
import { routeConfig, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { startRedisCluster, startRedisSentinel, startRedisServer, type RedisClusterServers, type RedisServer } from '../helpers/redis-servers';
import { tenantQuotaPluginDir } from '../helpers/tenant-quota';
import { FULL } from './fuzz-budget';
import { record } from './gateway-load';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOAD_MS = FULL ? 20_000 : 4_000;

/** Requests from `inFlight` loops over many tenants for `ms`, counting statuses. */
async function load(kong: KongEmulator, ms: number, inFlight = 8): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const deadline = Date.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < deadline) {
        const response = await kong.request({ path: '/x', headers: { 'X-Tenant-ID': `tenant-${n++ % 500}` } });
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

function quota(redis: Record<string, unknown>) {
  return [
    {
      name: 'tenant-quota',
      config: {
        identity: { source: 'header', trust_header: true, header_name: 'X-Tenant-ID' },
        default_plan: 'p',
        plans: [{ name: 'p', limits: [{ name: 'm', scope: 'tenant', algorithm: 'gcra', limit: 50, window_seconds: 60 }, { name: 'd', scope: 'tenant', algorithm: 'calendar', limit: 1000, period: 'day' }] }],
        key_prefix: `reltopo${process.pid}`,
        redis,
      },
    },
  ];
}

describe('tenant-quota through Redis topology faults under load (our plugin server)', () => {
  let upstream: TestUpstream;
  beforeAll(async () => {
    upstream = await startUpstream((_r, res) => res.end('ok'));
  });
  afterAll(() => upstream.close());

  it('Sentinel failover (replica promoted while requests run): only 200/429, no 5xx; the plugin then counts on the promoted master', async () => {
    const master = await startRedisServer();
    const replica = await startRedisServer();
    await replica.cli('replicaof', '127.0.0.1', String(master.port));
    const sentinel: RedisServer = await startRedisSentinel(master.port);
    let kong: KongEmulator | undefined;
    try {
      // the sentinel must have discovered the replica before a failover can promote it
      const deadline = Date.now() + 15_000;
      while (!(await sentinel.cli('sentinel', 'replicas', 'mymaster')).includes(String(replica.port)) && Date.now() < deadline) await sleep(200);
      kong = await startKong({ kind: 'ours', pluginsDir: tenantQuotaPluginDir(), config: routeConfig(upstream.url, quota({ mode: 'sentinel', nodes: [{ host: '127.0.0.1', port: sentinel.port }], sentinel_master: 'mymaster' })) });
      const running = load(kong, LOAD_MS);
      await sleep(500);
      const keysBefore = Number(await master.cli('dbsize'));
      const failover = await sentinel.cli('sentinel', 'failover', 'mymaster');
      const statuses = await running;
      const promoted = Date.now() + 15_000;
      while (!(await replica.cli('role')).startsWith('master') && Date.now() < promoted) await sleep(200);
      // ioredis learns the new master from the sentinel (+switch-master, or on reconnect): keys appear there
      let keysOnNewMaster = 0;
      const following = Date.now() + 20_000;
      while (keysOnNewMaster === 0 && Date.now() < following) {
        await load(kong, 500, 2);
        keysOnNewMaster = Number(await replica.cli('dbsize'));
      }
      const followedMs = Date.now() - (following - 20_000);
      record('fault: Redis Sentinel failover', { failover, statuses, keysBefore, keysOnNewMaster, followed_after_load_ms: followedMs });
      expect(failover).toBe('OK');
      expect(Object.keys(statuses).map(Number).filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(keysOnNewMaster).toBeGreaterThan(0);
    } finally {
      await kong?.close();
      await sentinel.stop();
      await replica.stop();
      await master.stop();
    }
  }, 90_000);

  it('Redis Cluster: a node killed under load: only 200/429 (local fallback for its slots), no 5xx', async () => {
    const cluster: RedisClusterServers = await startRedisCluster(3);
    let kong: KongEmulator | undefined;
    try {
      kong = await startKong({ kind: 'ours', pluginsDir: tenantQuotaPluginDir(), config: routeConfig(upstream.url, quota({ mode: 'cluster', nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) })) });
      const running = load(kong, LOAD_MS);
      await sleep(500);
      await cluster.nodes[1].kill();
      const statuses = await running;
      record('fault: Redis Cluster node killed', { statuses });
      expect(Object.keys(statuses).map(Number).filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(statuses[200]).toBeGreaterThan(0);
    } finally {
      await kong?.close();
      await cluster.stop();
    }
  }, 90_000);
});
