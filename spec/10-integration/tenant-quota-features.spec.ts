import crypto from 'node:crypto';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { closeAllRedis, getRedis } from '../../shared/redis';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { parseRateLimitList } from '../helpers/ratelimit-headers';
import { tenantQuotaPluginDir } from '../helpers/tenant-quota';

/**
 * tenant-quota features end to end, through the Kong emulator and both plugin servers (ours and kong-pdk's stock
 * one), on the shared Redis under this run's own key prefix: credential identity, endpoints[] with path_pattern,
 * per-tenant time zones of calendar quotas, and near_limit_percents (the log signal; the metric is asserted in
 * plugin-metrics.spec.ts, ours only: the stock server has no metrics endpoint).
 */
const RUN = crypto.randomBytes(4).toString('hex');

/** The local calendar day (YYYYMMDD) at `at` in `zone`, and the seconds from `at` to that zone's next midnight. */
function localDay(zone: string, at: number): { id: string; secondsLeft: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const elapsed = Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second);
  return { id: `${parts.year}${parts.month}${parts.day}`, secondsLeft: 86400 - elapsed };
}

describe.each(SERVER_KINDS)('tenant-quota features end to end (%s plugin server)', (kind) => {
  let kong: KongEmulator;
  let upstream: TestUpstream;
  const prefix = `tqf${RUN}${kind}`;
  let redis: ReturnType<typeof getRedis>;
  let seq = 0;
  const tenant = (name: string) => `${name}-${RUN}-${kind}-${seq++}`;
  // fixed-offset zones (no DST): UTC+14 and UTC-11 are on different calendar days for most of every UTC day
  const EAST = 'Pacific/Kiritimati';
  const WEST = 'Pacific/Pago_Pago';
  const routeIds: Record<string, string> = { ep: crypto.randomUUID(), svcA: crypto.randomUUID(), svcB: crypto.randomUUID() };
  const zoned = { east: tenant('east'), west: tenant('west'), plain: tenant('utc') };

  beforeAll(async () => {
    upstream = await startUpstream();
    const base = { key_prefix: prefix, time_source: 'gateway', on_redis_failure: 'fail_closed', redis: { command_timeout_ms: 1000 } };
    const header = { source: 'header', trust_header: true };
    const route = (name: string, config: Record<string, unknown>) => ({ name, id: routeIds[name], paths: [`/${name}`], plugins: [{ name: 'tenant-quota', config: { ...base, ...config } }] });
    const onePlan = (...limits: Array<Record<string, unknown>>) => ({ plans: [{ name: 'p', limits }], default_plan: 'p' });
    kong = await startKong({
      kind,
      pluginsDir: tenantQuotaPluginDir(),
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: upstream.url,
            routes: [
              route('cred', {
                identity: { source: 'credential', consumer_field: 'tag' },
                ...onePlan(
                  { name: 'tenant-total', scope: 'tenant', algorithm: 'sliding_window', limit: 3, window_seconds: 600 },
                  { name: 'per-consumer', scope: 'consumer', algorithm: 'sliding_window', limit: 2, window_seconds: 600 },
                ),
              }),
              route('credname', { identity: { source: 'credential', consumer_field: 'username' }, ...onePlan({ name: 'm', scope: 'tenant', algorithm: 'sliding_window', limit: 1, window_seconds: 600 }) }),
              route('ep', {
                identity: header,
                endpoints: [
                  { name: 'search', methods: ['get'], path_pattern: '^/ep/search(/|$)' },
                  { name: 'reports', path_pattern: '/reports/[0-9]+$' },
                ],
                ...onePlan({ name: 'per-endpoint', scope: 'endpoint', algorithm: 'sliding_window', limit: 2, window_seconds: 600 }, { name: 'all', scope: 'tenant', algorithm: 'sliding_window', limit: 7, window_seconds: 600 }),
              }),
              route('tz', {
                identity: header,
                ...onePlan({ name: 'daily', scope: 'tenant', algorithm: 'calendar', limit: 100, period: 'day' }),
                calendar: { time_zone: 'UTC' },
                tenant_overrides: [
                  { tenant: zoned.east, time_zone: EAST },
                  { tenant: zoned.west, time_zone: WEST, limits: [{ name: 'daily', scope: 'tenant', algorithm: 'calendar', limit: 2, period: 'day' }] },
                ],
              }),
              route('near', {
                identity: header,
                near_limit_percents: [90, 50],
                ...onePlan({ name: 'quota', scope: 'tenant', algorithm: 'calendar', limit: 10, period: 'month' }, { name: 'burst', scope: 'tenant', algorithm: 'sliding_window', limit: 100, window_seconds: 600 }),
              }),
            ],
          },
          {
            // the plugin on the service, not on a route: one config for both routes
            name: 'svc-scoped',
            url: upstream.url,
            plugins: [{ name: 'tenant-quota', config: { ...base, identity: header, ...onePlan({ name: 'per-route', scope: 'endpoint', algorithm: 'sliding_window', limit: 1, window_seconds: 600 }) } }],
            routes: [
              { name: 'svc-a', id: routeIds.svcA, paths: ['/svc-a'] },
              { name: 'svc-b', id: routeIds.svcB, paths: ['/svc-b'] },
            ],
          },
        ],
      },
    });
    redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 2000 });
    await redis.ready();
  });

  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
    // this run's keys only (own prefix): never FLUSHDB on the shared Redis
    if (redis) {
      const keys = (await redis.command('keys', `${prefix}:*`)) as string[];
      if (keys.length) await redis.command('del', ...keys);
    }
    await closeAllRedis();
  });

  const keysOf = async (t: string) => ((await redis.command('keys', `${prefix}:{${t}}:*`)) as string[]).sort();
  /** The counters a tenant has in Redis: keys without a sliding window's ":s<window>:h|z" suffix, once each. */
  const countersOf = async (t: string) => [...new Set((await keysOf(t)).map((k) => k.replace(/:s\d+:[hz]$/, '')))].sort();

  describe('identity.source credential', () => {
    it('the tenant is the credential\'s tenant: tag; two credentials of one tenant share its limit, each consumer its own; 2 PDK calls', async () => {
      const t = tenant('cred');
      const consumerA = crypto.randomUUID();
      const consumerB = crypto.randomUUID();
      const credA = { id: crypto.randomUUID(), consumer: { id: consumerA }, key: 'key-a', tags: ['env:prod', `tenant:${t}`] };
      const credB = { id: crypto.randomUUID(), consumer: { id: consumerB }, key: 'key-b', tags: [`tenant:${t}`] };
      const send = (credential: Record<string, unknown>, headers: Record<string, string> = {}) => kong.request({ path: '/cred/x', credential: credential as never, headers });
      const a1 = await send(credA);
      expect(a1.status).toBe(200);
      expect(a1.context.pdkCalls).toBe(2); // get_credential + set_headers
      expect(parseRateLimitList(a1.headers.get('ratelimit') as string)).toMatchObject({ 'tenant-total': { r: 2 }, 'per-consumer': { r: 1 } });
      expect((await send(credA)).status).toBe(200);
      // consumer A used its 2; the tenant has 1 left, which B (another consumer of the same tenant) gets
      const a3 = await send(credA);
      expect(a3.status).toBe(429);
      expect(JSON.parse(a3.body.toString())['violated-policies']).toEqual(['per-consumer']);
      expect((await send(credB)).status).toBe(200);
      // the tenant is spent: B is denied by the tenant total, whatever header it sends
      const b2 = await send(credB, { 'X-Tenant-ID': tenant('victim') });
      expect(b2.status).toBe(429);
      expect(JSON.parse(b2.body.toString())['violated-policies']).toEqual(['tenant-total']);
      // the counters are the credential's consumers' within the tenant named by the tag
      expect(await countersOf(t)).toEqual([`${prefix}:{${t}}:c:${consumerA}:per-consumer`, `${prefix}:{${t}}:c:${consumerB}:per-consumer`, `${prefix}:{${t}}:t:tenant-total`].sort());
    });

    it('no credential, or one without a tenant: tag, is a 401 with its challenge; an authenticated consumer alone does not count', async () => {
      const consumer = { id: crypto.randomUUID(), username: tenant('consumer-only'), tags: [`tenant:${tenant('x')}`] };
      for (const request of [
        { path: '/cred/x' },
        { path: '/cred/x', consumer },
        { path: '/cred/x', credential: { id: crypto.randomUUID(), consumer: { id: consumer.id }, tags: ['tenant:'] } },
        { path: '/cred/x', credential: { id: crypto.randomUUID(), consumer: { id: consumer.id }, tags: ['team:tenant:x'] } },
      ]) {
        const res = await kong.request(request);
        expect([JSON.stringify(request), res.status, res.headers.get('www-authenticate')]).toEqual([JSON.stringify(request), 401, 'Key realm="kong"']);
      }
    });

    it('consumer_field names a field of the credential itself (basic-auth username), not of its consumer', async () => {
      const t = tenant('basic');
      const consumerId = crypto.randomUUID();
      const cred = { id: crypto.randomUUID(), consumer: { id: consumerId }, username: t, password: 'hashed' };
      expect((await kong.request({ path: '/credname/x', credential: cred, consumer: { id: consumerId, username: 'someone-else' } })).status).toBe(200);
      expect((await kong.request({ path: '/credname/x', credential: cred })).status).toBe(429);
      expect(await countersOf(t)).toEqual([`${prefix}:{${t}}:t:m`]);
      // a key-auth credential has no username: unidentified
      expect((await kong.request({ path: '/credname/x', credential: { id: crypto.randomUUID(), consumer: { id: consumerId }, key: 'k' } })).status).toBe(401);
    });
  });

  describe('endpoints[] with path_pattern', () => {
    it('each configured endpoint has its own endpoint-scoped counter; methods filter; a request matching none counts under the route; 4 PDK calls', async () => {
      const t = tenant('ep');
      const send = (p: string, method = 'GET') => kong.request({ method, path: p, headers: { 'X-Tenant-ID': t } });
      const s1 = await send('/ep/search?q=a');
      expect(s1.status).toBe(200);
      expect(s1.context.pdkCalls).toBe(4); // get_headers, get_method, get_path, set_headers
      expect(parseRateLimitList(s1.headers.get('ratelimit') as string)['per-endpoint'].r).toBe(1);
      expect((await send('/ep/search/deep')).status).toBe(200);
      const s3 = await send('/ep/search');
      expect(s3.status).toBe(429);
      expect(JSON.parse(s3.body.toString())['violated-policies']).toEqual(['per-endpoint']);
      // /ep/searching is not ^/ep/search(/|$); POST is not in search's methods: both fall through to the route
      const other = await send('/ep/searching');
      expect(other.status).toBe(200);
      expect(parseRateLimitList(other.headers.get('ratelimit') as string)['per-endpoint'].r).toBe(1);
      const post = await send('/ep/search', 'POST');
      expect(post.status).toBe(200);
      expect(parseRateLimitList(post.headers.get('ratelimit') as string)['per-endpoint'].r).toBe(0);
      expect((await send('/ep/other')).status).toBe(429);
      // reports: any method, unanchored at the start; its own counter
      expect((await send('/ep/v1/reports/42', 'DELETE')).status).toBe(200);
      expect((await send('/ep/reports/7')).status).toBe(200);
      // tenant total (7): 2 search + 2 route + 2 reports = 6 admitted so far; one more, on a digit-less path (route, spent)
      expect((await send('/ep/reports/x')).status).toBe(429);
      const routeId = routeIds.ep;
      expect(await countersOf(t)).toEqual(
        [`${prefix}:{${t}}:e:search:per-endpoint`, `${prefix}:{${t}}:e:reports:per-endpoint`, `${prefix}:{${t}}:e:${routeId}:per-endpoint`, `${prefix}:{${t}}:t:all`].sort(),
      );
    });

    it('without endpoints[], a plugin configured on a service counts endpoint-scoped limits per route, as documented', async () => {
      const t = tenant('svcroute');
      const send = (p: string) => kong.request({ path: p, headers: { 'X-Tenant-ID': t } });
      const first = await send('/svc-a/x');
      expect(first.status).toBe(200);
      expect(first.context.pdkCalls).toBe(3); // get_headers, get_route, set_headers
      expect((await send('/svc-a/x')).status).toBe(429);
      expect((await send('/svc-b/x')).status).toBe(200);
      expect(await countersOf(t)).toEqual([`${prefix}:{${t}}:e:${routeIds.svcA}:per-route`, `${prefix}:{${t}}:e:${routeIds.svcB}:per-route`].sort());
    });

    it('the pattern is matched against the normalized path (percent-decoding, dot segments), not the raw one', async () => {
      const t = tenant('epnorm');
      const send = (p: string) => kong.request({ path: p, headers: { 'X-Tenant-ID': t } });
      expect((await send('/ep/%73earch')).status).toBe(200);
      expect((await send('/ep/x/../search')).status).toBe(200);
      expect((await send('/ep/search')).status).toBe(429);
      expect(await countersOf(t)).toEqual([`${prefix}:{${t}}:e:search:per-endpoint`, `${prefix}:{${t}}:t:all`].sort());
    });
  });

  describe('per-tenant time zones (tenant_overrides[].time_zone)', () => {
    it('a tenant\'s daily quota window is its own zone\'s calendar day (key and RateLimit t); other tenants keep calendar.time_zone', async () => {
      const send = (t: string) => kong.request({ path: '/tz/x', headers: { 'X-Tenant-ID': t } });
      for (const [t, zone, quota] of [[zoned.east, EAST, 100], [zoned.west, WEST, 2], [zoned.plain, 'UTC', 100]] as const) {
        const before = Date.now();
        const res = await send(t);
        const after = Date.now();
        expect(res.status).toBe(200);
        const rl = parseRateLimitList(res.headers.get('ratelimit') as string).daily;
        expect(rl.r).toBe(quota - 1);
        // t = seconds to the zone's next midnight (the window end), within the time the request took
        const [early, late] = [localDay(zone, before), localDay(zone, after)];
        expect([zone, Number(rl.t) >= late.secondsLeft - 1 && Number(rl.t) <= early.secondsLeft + 1]).toEqual([zone, true]);
        // the Redis key names that zone's date (UTC+14 and UTC-11 are a day or two apart)
        const keys = await keysOf(t);
        expect(keys).toHaveLength(1);
        expect([early.id, late.id]).toContain(keys[0].slice(keys[0].lastIndexOf(':D') + 2));
        expect(keys[0]).toMatch(new RegExp(`^${prefix}:\\{${t}\\}:t:daily:D\\d{8}$`));
        expect(parseRateLimitList(res.headers.get('ratelimit-policy') as string).daily).toEqual({ q: quota, w: 86400 });
      }
      // the zones' dates really differ: the test would not see a zone ignored otherwise
      const now = Date.now();
      expect(localDay(EAST, now).id).not.toBe(localDay(WEST, now).id);
      // the override's own limit (2) applies with its zone
      expect((await send(zoned.west)).status).toBe(200);
      expect((await send(zoned.west)).status).toBe(429);
    });
  });

  describe('near_limit_percents', () => {
    it('each configured percentage of a calendar quota is signalled once, by the request that crosses it (a log line with the real tenant)', async () => {
      const t = tenant('near');
      const server = kong.servers[0];
      const lines = () =>
        server.stderr
          .split('\n')
          .filter((l) => l.includes('quota usage crossed a threshold') && l.includes(t))
          .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>)
          .map((o) => ({ tenant: o.tenant, limit: o.limit, percent: o.percent, used: o.used, quota: o.quota }));
      const send = () => kong.request({ path: '/near/x', headers: { 'X-Tenant-ID': t } });
      for (let i = 1; i <= 4; i++) expect((await send()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      expect(lines()).toEqual([]);
      expect((await send()).status).toBe(200); // 5 of 10: 50%
      await server.waitForStderr(t);
      expect(lines()).toEqual([{ tenant: t, limit: 'quota', percent: 50, used: 5, quota: 10 }]);
      for (let i = 6; i <= 8; i++) expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200); // 9 of 10: 90%
      await server.waitForStderr(/"percent":90/);
      await new Promise((r) => setTimeout(r, 100));
      expect(lines()).toEqual([
        { tenant: t, limit: 'quota', percent: 50, used: 5, quota: 10 },
        { tenant: t, limit: 'quota', percent: 90, used: 9, quota: 10 },
      ]);
      // the 10th and the denied 11th cross nothing new; the sliding-window limit is never signalled
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(429);
      await new Promise((r) => setTimeout(r, 200));
      expect(lines()).toHaveLength(2);
    });
  });
});
