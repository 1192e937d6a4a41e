import calculateSlot from 'cluster-key-slot';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { tenantTag } from '../../plugins/tenant-quota/limits';
import { routeConfig, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers';
import { tenantQuotaPluginDir } from '../helpers/tenant-quota';
import { FULL } from './fuzz-budget';
import { record } from './gateway-load';

/** Tenants measured on the real Redis (then extrapolated to 1,000,000). */
const SAMPLE = FULL ? 20_000 : 1_000;
const TENANTS = 1_000_000;
const PREFIX = `relscale${process.pid}`;

describe(`scale: ${TENANTS.toLocaleString('en')} tenants with two limits each (measured on ${SAMPLE} on a real Redis, extrapolated)`, () => {
  let redis: RedisServer;
  let upstream: TestUpstream;
  let kong: KongEmulator;
  beforeAll(async () => {
    redis = await startRedisServer();
    upstream = await startUpstream((_r, res) => res.end('ok'));
    kong = await startKong({
      kind: 'ours',
      pluginsDir: tenantQuotaPluginDir(),
      workers: 2,
      config: routeConfig(upstream.url, [
        {
          name: 'tenant-quota',
          config: {
            identity: { source: 'header', trust_header: true, header_name: 'X-Tenant-ID' },
            default_plan: 'p',
            plans: [{ name: 'p', limits: [{ name: 'minute', scope: 'tenant', algorithm: 'gcra', limit: 10, window_seconds: 3600 }, { name: 'monthly', scope: 'tenant', algorithm: 'calendar', limit: 100000, period: 'month' }] }],
            key_prefix: PREFIX,
            redis: { port: redis.port, command_timeout_ms: 2000 },
          },
        },
      ]),
    });
  }, 60_000);
  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
    await redis?.stop();
  });

  it('Redis memory per tenant and limit, key TTLs, and the Cluster slot spread of the tenants\' hash tags', async () => {
    const used = async () => Number(/used_memory:(\d+)/.exec(await redis.cli('info', 'memory'))![1]);
    expect((await kong.request({ path: '/x', headers: { 'X-Tenant-ID': 'warm' } })).status).toBe(200);
    const before = await used();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < SAMPLE) {
          const tenant = `tenant-${String(next++).padStart(7, '0')}`;
          expect((await kong.request({ path: '/x', headers: { 'X-Tenant-ID': tenant } })).status).toBe(200);
        }
      }),
    );
    const after = await used();
    const keys = Number(await redis.cli('dbsize'));
    const perTenant = (after - before) / SAMPLE;
    // one SCAN page (redis-cli --scan would print every key of a large sample)
    const sampleKeys = (await redis.cli('scan', '0', 'match', `${PREFIX}:*`, 'count', '400')).split('\n').slice(1).filter(Boolean).slice(0, 200);
    const ttls = await Promise.all(sampleKeys.map(async (k) => Number(await redis.cli('pttl', k))));
    // every key expires (-1 would be a key without TTL): GCRA once its emission interval passed (-2: already gone,
    // here a request keeps it 360 s), calendar at the end of its period
    expect(sampleKeys.length).toBeGreaterThan(0);
    expect(ttls.filter((t) => t === -1)).toEqual([]);
    expect(keys).toBeGreaterThanOrEqual(SAMPLE);

    // slot spread for 1,000,000 tenants over a 3- and a 6-master cluster (16384 slots split evenly)
    const spread = (masters: number) => {
      const counts = new Array<number>(masters).fill(0);
      for (let i = 0; i < TENANTS; i++) counts[Math.floor((calculateSlot(`${tenantTag(PREFIX, `tenant-${i}`)}:t:minute`) * masters) / 16384)]++;
      return { min: Math.min(...counts), max: Math.max(...counts), max_over_mean: Math.round((Math.max(...counts) / (TENANTS / masters)) * 1000) / 1000 };
    };
    const spread3 = spread(3);
    const spread6 = spread(6);
    const figures = {
      sample_tenants: SAMPLE,
      keys_per_tenant: keys / (SAMPLE + 1),
      bytes_per_tenant: Math.round(perTenant),
      bytes_per_tenant_and_limit: Math.round(perTenant / 2),
      extrapolated_1m_tenants_mb: Math.round((perTenant * TENANTS) / 1024 / 1024),
      ttl_ms_min: Math.min(...ttls.filter((t) => t > 0)),
      ttl_ms_max: Math.max(...ttls),
      keys_alive_at_end: keys,
      cluster_3_masters: spread3,
      cluster_6_masters: spread6,
    };
    record('scale', figures);
    // both limits of a tenant share one hash tag (one slot: the Lua script's keys are in one slot)
    expect(calculateSlot(`${tenantTag(PREFIX, 't1')}:t:minute`)).toBe(calculateSlot(`${tenantTag(PREFIX, 't1')}:t:monthly`));
    expect(spread3.max_over_mean).toBeLessThan(1.02);
    expect(perTenant).toBeGreaterThan(0);
    expect(perTenant).toBeLessThan(2048);
  }, 240_000);
});
