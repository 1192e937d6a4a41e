import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';
import { closeAllRedis, getRedis } from '../../shared/redis';
import { startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { freePort } from '../helpers/ports';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers';

/**
 * Every kong_tenant_quota_* and kong_pii_masking_* metric, read from the /metrics endpoint our plugin server serves
 * (`--metrics-port`, here KONG_PLUGINS_METRICS_PORT) while requests go through the Kong emulator: each request's
 * effect is asserted as the exact change of the metric's series (label set and delta; no other series of that
 * metric moves). Ours only: kong-pdk's stock server has no metrics endpoint. Real Redis, this run's own prefix; the
 * failure metrics use Redis ports where nothing listens.
 */
const RUN = crypto.randomBytes(4).toString('hex');
const JSON_BODY = '{"id": 12345678901234567890, "email": "jane.doe@example.com", "ssn": "219456789", "card": "4111 1111 1111 1111"}';

type Series = Map<string, number>;

/** The Prometheus text exposition as metric name -> (label set as written -> value). */
function parseExposition(text: string): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsed exposition line: ${line}`);
    const series = out.get(m[1]) ?? new Map<string, number>();
    series.set(m[2] ?? '{}', Number(m[3]));
    out.set(m[1], series);
  }
  return out;
}

/** A label set as prom-client writes it (labels in the metric's declared order). */
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

const TQ = ['requests_total', 'units_total', 'near_limit_total', 'refunds_total', 'redis_degraded', 'identity_failures_total', 'plan_lookup_failures_total', 'redis_failures_total'].map((m) => `kong_tenant_quota_${m}`);
const PII = ['detections_total', 'blocked_responses_total', 'bodies_skipped_total', 'bodies_masked_total'].map((m) => `kong_pii_masking_${m}`);

describe('plugin metrics through the /metrics endpoint of our plugin server', () => {
  let kong: KongEmulator;
  let upstream: TestUpstream;
  let metricsUrl: string;
  let downPorts: number[];
  let flappy: RedisServer;
  const prefix = `tqpm${RUN}`;
  let seq = 0;
  const tenant = (name: string) => `${name}-${RUN}-${seq++}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-plugins-'));

  async function scrape(): Promise<Map<string, Series>> {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  }

  /** What changed in each of `names` between two scrapes: label set -> delta, for series that moved. */
  function changes(before: Map<string, Series>, after: Map<string, Series>, names: readonly string[]): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const name of names) {
      const a = after.get(name) ?? new Map<string, number>();
      const b = before.get(name) ?? new Map<string, number>();
      for (const key of new Set([...a.keys(), ...b.keys()])) {
        const delta = (a.get(key) ?? 0) - (b.get(key) ?? 0);
        if (delta !== 0) (out[name] ??= {})[key] = delta;
      }
    }
    return out;
  }

  /** Runs `act`, returns what it changed in every metric of the two plugins. */
  async function delta(act: () => Promise<unknown>): Promise<Record<string, Record<string, number>>> {
    const before = await scrape();
    await act();
    return changes(before, await scrape(), [...TQ, ...PII]);
  }

  beforeAll(async () => {
    fs.symlinkSync(path.join(BUILT_PLUGINS, 'tenant-quota'), path.join(dir, 'tenant-quota'));
    fs.symlinkSync(path.join(BUILT_PLUGINS, 'pii-masking'), path.join(dir, 'pii-masking'));
    const bodies: Record<string, [string, string, Record<string, string>?]> = {
      '/json': ['application/json', JSON_BODY],
      '/clean': ['application/json', '{"name": "Alice"}'],
      '/png': ['image/png', '\u0089PNG jane@example.com'],
      '/dtd': ['application/xml', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'],
      '/big': ['application/json', `{"pad": "${'x'.repeat(2048)}", "email": "a@b.com"}`],
      '/located': ['application/json', '{"ok": true}', { Location: '/users/jane@example.com' }],
    };
    upstream = await startUpstream((req, res) => {
      const p = req.url.split('?')[0];
      if (p.endsWith('/fail')) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        return res.end('bad gateway');
      }
      const [type, body, extra] = bodies[p] ?? ['application/json', '{"ok": true}'];
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
      res.end(body);
    });
    downPorts = [await freePort(), await freePort()];
    flappy = await startRedisServer();
    const flapping = { on_redis_failure: 'fail_open', redis: { port: flappy.port, command_timeout_ms: 500, breaker: { failure_threshold: 1000 } } };
    const header = { source: 'header', trust_header: true };
    const plans = [{ name: 'gold', limits: [{ name: 'monthly', scope: 'tenant', algorithm: 'calendar', limit: 10, period: 'month' }, { name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 100, window_seconds: 60 }] }];
    const tq = (config: Record<string, unknown>) => ({
      name: 'tenant-quota',
      config: { identity: header, plans, default_plan: 'gold', key_prefix: prefix, time_source: 'gateway', on_redis_failure: 'fail_closed', near_limit_percents: [50], redis: { command_timeout_ms: 1000 }, ...config },
    });
    const route = (name: string, plugins: unknown[]) => ({ name, paths: [`/${name}`], strip_path: true, plugins });
    metricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
    kong = await startKong({
      kind: 'ours',
      pluginsDir: dir,
      env: { KONG_PLUGINS_METRICS_PORT: new URL(metricsUrl).port },
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: upstream.url,
            routes: [
              route('tq', [tq({ cost: { header: 'X-Cost', min: 1, max: 5 }, refund_5xx: true })]),
              route('few', [tq({ metrics_max_tenants: 2 })]),
              route('dup', [tq({ near_limit_percents: [50, 50, 90] })]),
              route('jwksdown', [tq({ identity: { source: 'jwt', jwt: { jwks_url: `http://127.0.0.1:${downPorts[0]}/jwks.json`, algorithms: ['RS256'] } } })]),
              route('open', [tq({ on_redis_failure: 'fail_open', plan_source: 'redis', plan_hash: `${prefix}:plans`, redis: { port: downPorts[0], command_timeout_ms: 200 } })]),
              route('local', [tq({ on_redis_failure: 'local', redis: { port: downPorts[1], command_timeout_ms: 200 } })]),
              route('flapa', [tq(flapping)]),
              route('flapb', [tq(flapping)]),
              route('pii', [{ name: 'pii-masking', config: {} }]),
              route('piismall', [{ name: 'pii-masking', config: { max_body_size: 1024, oversize_action: 'block' } }]),
            ],
          },
        ],
      },
    });
    // the endpoint is up once the server is
    await scrape();
  });

  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
    await flappy?.stop();
    const redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 2000 });
    await redis.ready();
    const keys = (await redis.command('keys', `${prefix}:*`)) as string[];
    if (keys.length) await redis.command('del', ...keys);
    await closeAllRedis();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const tqGet = (p: string, headers: Record<string, string | string[]> = {}) => kong.request({ path: p, headers });
  const requests = (tenantLabel: string, plan: string, outcome: string) => labels({ tenant: tenantLabel, plan, outcome });

  describe('kong_tenant_quota_*', () => {
    it('an admitted request: requests_total{outcome=allowed} +1 and units_total +cost', async () => {
      const t = tenant('a');
      expect(await delta(async () => expect((await tqGet('/tq/x', { 'X-Tenant-ID': t, 'X-Cost': '3' })).status).toBe(200))).toEqual({
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'allowed')]: 1 },
        kong_tenant_quota_units_total: { [labels({ tenant: t, plan: 'gold' })]: 3 },
      });
    });

    it('the request crossing 50% of a calendar quota: near_limit_total{limit,percent} +1, once; a denied request: outcome limited, no units', async () => {
      const t = tenant('near');
      await tqGet('/tq/x', { 'X-Tenant-ID': t, 'X-Cost': '4' });
      expect(await delta(async () => expect((await tqGet('/tq/x', { 'X-Tenant-ID': t, 'X-Cost': '2' })).status).toBe(200))).toEqual({
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'allowed')]: 1 },
        kong_tenant_quota_units_total: { [labels({ tenant: t, plan: 'gold' })]: 2 },
        kong_tenant_quota_near_limit_total: { [labels({ tenant: t, limit: 'monthly', percent: '50' })]: 1 },
      });
      expect(await delta(async () => expect((await tqGet('/tq/x', { 'X-Tenant-ID': t, 'X-Cost': '1' })).status).toBe(200))).toEqual({
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'allowed')]: 1 },
        kong_tenant_quota_units_total: { [labels({ tenant: t, plan: 'gold' })]: 1 },
      });
      expect(await delta(async () => expect((await tqGet('/tq/x', { 'X-Tenant-ID': t, 'X-Cost': '5' })).status).toBe(429))).toEqual({
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'limited')]: 1 },
      });
    });

    it('a percentage listed twice in near_limit_percents is one threshold: one crossing counts once', async () => {
      const t = tenant('dup');
      for (let i = 0; i < 4; i++) await tqGet('/dup/x', { 'X-Tenant-ID': t });
      expect((await delta(() => tqGet('/dup/x', { 'X-Tenant-ID': t }))).kong_tenant_quota_near_limit_total).toEqual({ [labels({ tenant: t, limit: 'monthly', percent: '50' })]: 1 });
    });

    it('answers before any quota: unidentified and ambiguous_header (tenant and plan "-"), invalid_cost (the tenant, plan "-")', async () => {
      const t = tenant('bad');
      expect(await delta(async () => expect((await tqGet('/tq/x')).status).toBe(401))).toEqual({ kong_tenant_quota_requests_total: { [requests('-', '-', 'unidentified')]: 1 } });
      expect(await delta(async () => expect((await tqGet('/tq/x', { 'X-Tenant-ID': [t, 'other'] })).status).toBe(400))).toEqual({ kong_tenant_quota_requests_total: { [requests('-', '-', 'ambiguous_header')]: 1 } });
      expect(await delta(async () => expect((await tqGet('/tq/x', { 'X-Tenant-ID': t, 'X-Cost': '9' })).status).toBe(400))).toEqual({ kong_tenant_quota_requests_total: { [requests(t, '-', 'invalid_cost')]: 1 } });
    });

    it('a 5xx answer with refund_5xx: refunds_total{result=refunded} +1 (and its admission counted as usual)', async () => {
      const t = tenant('refund');
      expect(await delta(async () => expect((await tqGet('/tq/fail', { 'X-Tenant-ID': t, 'X-Cost': '2' })).status).toBe(502))).toEqual({
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'allowed')]: 1 },
        kong_tenant_quota_units_total: { [labels({ tenant: t, plan: 'gold' })]: 2 },
        kong_tenant_quota_refunds_total: { [labels({ tenant: t, result: 'refunded' })]: 1 },
      });
    });

    it('metrics_max_tenants: tenants past the first N are counted as __other__', async () => {
      const [t1, t2, t3] = [tenant('few'), tenant('few'), tenant('few')];
      for (const t of [t1, t2]) await tqGet('/few/x', { 'X-Tenant-ID': t });
      expect(await delta(async () => expect((await tqGet('/few/x', { 'X-Tenant-ID': t3 })).status).toBe(200))).toEqual({
        kong_tenant_quota_requests_total: { [requests('__other__', 'gold', 'allowed')]: 1 },
        kong_tenant_quota_units_total: { [labels({ tenant: '__other__', plan: 'gold' })]: 1 },
      });
      // one already seen keeps its own label
      expect((await delta(() => tqGet('/few/x', { 'X-Tenant-ID': t1 }))).kong_tenant_quota_units_total).toEqual({ [labels({ tenant: t1, plan: 'gold' })]: 1 });
    });

    it('an unreachable JWKS endpoint: identity_failures_total{reason=jwks_unreachable} +1 and outcome identity_unavailable', async () => {
      const token = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k1' })).toString('base64url')}.${Buffer.from(JSON.stringify({ tenant: tenant('jwt') })).toString('base64url')}.c2ln`;
      expect(await delta(async () => expect((await tqGet('/jwksdown/x', { Authorization: `Bearer ${token}` })).status).toBe(503))).toEqual({
        kong_tenant_quota_identity_failures_total: { [labels({ reason: 'jwks_unreachable' })]: 1 },
        kong_tenant_quota_requests_total: { [requests('-', '-', 'identity_unavailable')]: 1 },
      });
    });

    it('Redis down, fail_open and plan_source redis: plan_lookup_failures_total, redis_failures_total{mode=fail_open}, redis_degraded{target}=1, outcome redis_fail_open', async () => {
      const t = tenant('open');
      expect(await delta(async () => expect((await tqGet('/open/x', { 'X-Tenant-ID': t })).status).toBe(200))).toEqual({
        kong_tenant_quota_plan_lookup_failures_total: { [labels({ reason: 'connection' })]: 1 },
        kong_tenant_quota_redis_failures_total: { [labels({ reason: 'connection', mode: 'fail_open' })]: 1 },
        kong_tenant_quota_redis_degraded: { [labels({ target: `127.0.0.1:${downPorts[0]}` })]: 1 },
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'redis_fail_open')]: 1 },
      });
    });

    it('Redis down, local fallback: redis_failures_total{mode=local}, redis_degraded{target}=1, outcome local_allowed with its units', async () => {
      const t = tenant('local');
      expect(await delta(async () => expect((await tqGet('/local/x', { 'X-Tenant-ID': t })).status).toBe(200))).toEqual({
        kong_tenant_quota_redis_failures_total: { [labels({ reason: 'connection', mode: 'local' })]: 1 },
        kong_tenant_quota_redis_degraded: { [labels({ target: `127.0.0.1:${downPorts[1]}` })]: 1 },
        kong_tenant_quota_requests_total: { [requests(t, 'gold', 'local_allowed')]: 1 },
        kong_tenant_quota_units_total: { [labels({ tenant: t, plan: 'gold' })]: 1 },
      });
    });
  });

  describe('kong_tenant_quota_redis_degraded across configs on one Redis', () => {
    it('is 1 while the last call to that Redis failed, whichever config made it: a second outage seen by another config sets it again', async () => {
      const t = tenant('flap');
      const target = labels({ target: `127.0.0.1:${flappy.port}` });
      const gauge = async () => (await scrape()).get('kong_tenant_quota_redis_degraded')?.get(target);
      const send = (route: string) => tqGet(`/${route}/x`, { 'X-Tenant-ID': t });
      // Redis answers: fail_open admits with headers only when Redis decided
      expect((await send('flapa')).headers.get('ratelimit')).toBeDefined();
      expect((await send('flapb')).headers.get('ratelimit')).toBeDefined();
      expect(await gauge()).not.toBe(1);
      // first outage, seen by both configs
      await flappy.kill();
      expect((await send('flapa')).headers.get('ratelimit')).toBeUndefined();
      expect(await gauge()).toBe(1);
      expect((await send('flapb')).headers.get('ratelimit')).toBeUndefined();
      expect(await gauge()).toBe(1);
      // back: config A's call succeeds (after ioredis reconnects), so the last call did not fail
      await flappy.restart();
      const deadline = Date.now() + 10_000;
      while ((await send('flapa')).headers.get('ratelimit') === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await gauge()).toBe(0);
      // second outage, seen only by config B (no traffic on A's route): the last call failed again
      await flappy.kill();
      expect(await delta(async () => expect((await send('flapb')).headers.get('ratelimit')).toBeUndefined())).toMatchObject({
        kong_tenant_quota_redis_failures_total: { [labels({ reason: 'connection', mode: 'fail_open' })]: 1 },
      });
      expect(await gauge()).toBe(1);
    }, 30_000);
  });

  describe('kong_pii_masking_*', () => {
    it('a JSON body with an email, an SSN and a card: detections_total{type,location=body} +1 each, bodies_masked_total{format=json} +1', async () => {
      expect(await delta(async () => expect((await kong.request({ path: '/pii/json' })).body.toString()).toContain('[EMAIL]'))).toEqual({
        kong_pii_masking_detections_total: { [labels({ type: 'email', location: 'body' })]: 1, [labels({ type: 'ssn', location: 'body' })]: 1, [labels({ type: 'card', location: 'body' })]: 1 },
        kong_pii_masking_bodies_masked_total: { [labels({ format: 'json' })]: 1 },
      });
    });

    it('a clean body changes nothing; a binary media type: bodies_skipped_total{reason=content_type} +1', async () => {
      expect(await delta(() => kong.request({ path: '/pii/clean' }))).toEqual({});
      expect(await delta(() => kong.request({ path: '/pii/png' }))).toEqual({ kong_pii_masking_bodies_skipped_total: { [labels({ reason: 'content_type' })]: 1 } });
    });

    it('blocked responses: blocked_responses_total{reason=dtd}; {reason=size} with bodies_skipped_total{reason=size}', async () => {
      expect(await delta(async () => expect((await kong.request({ path: '/pii/dtd' })).status).toBe(502))).toEqual({ kong_pii_masking_blocked_responses_total: { [labels({ reason: 'dtd' })]: 1 } });
      expect(await delta(async () => expect((await kong.request({ path: '/piismall/big' })).status).toBe(502))).toEqual({
        kong_pii_masking_blocked_responses_total: { [labels({ reason: 'size' })]: 1 },
        kong_pii_masking_bodies_skipped_total: { [labels({ reason: 'size' })]: 1 },
      });
    });

    it('detections outside the body: location request_header, query and response_header', async () => {
      expect(await delta(() => kong.request({ path: '/pii/clean?contact=jane%40example.com', headers: { 'X-Email': 'joe@example.com' } }))).toEqual({
        kong_pii_masking_detections_total: { [labels({ type: 'email', location: 'query' })]: 1, [labels({ type: 'email', location: 'request_header' })]: 1 },
      });
      expect(await delta(() => kong.request({ path: '/pii/located' }))).toEqual({ kong_pii_masking_detections_total: { [labels({ type: 'email', location: 'response_header' })]: 1 } });
    });
  });
});
