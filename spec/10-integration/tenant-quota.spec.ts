import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { startGateway, type RunningGateway } from '../../devkit/gateway/gateway';
import { parseOptions } from '../../devkit/gateway/options';
import { main as usageCli } from '../../plugins/tenant-quota/usage-cli';
import { childLogger } from '../../shared/observability/log';
import { closeAllRedis, getRedis } from '../../shared/redis';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { freePort } from '../helpers/ports';
import { parseRateLimitList } from '../helpers/ratelimit-headers';
import { tenantQuotaPluginDir } from '../helpers/tenant-quota';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers';
import { configWithRedis } from '../20-e2e/target';


const RUN = crypto.randomBytes(4).toString('hex');
const HS_SECRET = 'integration-secret-0123456789abcdef';
const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

function signHs256(payload: Record<string, unknown>): string {
  const data = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${data}.${b64url(crypto.createHmac('sha256', HS_SECRET).update(data).digest())}`;
}

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
function signRs256(payload: Record<string, unknown>, kid = 'k1'): string {
  const data = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(payload))}`;
  return `${data}.${b64url(crypto.sign('sha256', Buffer.from(data), rsa.privateKey))}`;
}

async function startJwks(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  const jwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server = await startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  return { url: `${server.url}/jwks.json`, hits: () => server.requests.length, close: server.close };
}

const PLANS = [
  {
    name: 'free',
    limits: [
      { name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 3, window_seconds: 3600 },
      { name: 'daily', scope: 'tenant', algorithm: 'calendar', limit: 1000, period: 'day' },
    ],
  },
  { name: 'pro', limits: [{ name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 6, window_seconds: 3600 }] },
];

describe.each(SERVER_KINDS)('tenant-quota end to end (%s plugin server)', (kind) => {
  let kong: KongEmulator;
  let upstream: TestUpstream;
  let jwks: Awaited<ReturnType<typeof startJwks>>;
  const prefix = `tqi${RUN}${kind}`;
  const planHash = `${prefix}:plans`;
  let redis: ReturnType<typeof getRedis>;
  let seq = 0;
  const tenant = (name: string) => `${name}-${RUN}-${kind}-${seq++}`;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      const status = req.url.includes('/fail') ? 502 : 200;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    jwks = await startJwks();
    // a generous deadline: these tests are about behaviour, not about a loaded CI box missing 50 ms (faults spec)
    const base = { plans: PLANS, default_plan: 'free', key_prefix: prefix, time_source: 'gateway', on_redis_failure: 'fail_closed', redis: { command_timeout_ms: 1000 } };
    const header = { source: 'header', trust_header: true, header_name: 'X-Tenant-ID' };
    const route = (name: string, config: Record<string, unknown>) => ({ name, paths: [`/${name}`], plugins: [{ name: 'tenant-quota', config: { ...base, ...config } }] });
    const config = {
      _format_version: '3.0',
      services: [
        {
          name: 'svc',
          url: upstream.url,
          routes: [
            route('hdr', { identity: header, plan_source: 'redis', plan_hash: planHash, plan_cache_seconds: 0, tenant_plans: {} }),
            route('legacy', { identity: header, headers: 'legacy' }),
            route('consumer', { identity: { source: 'consumer', consumer_field: 'tag' } }),
            route('anon', { identity: { source: 'consumer', unidentified: 'anonymous', anonymous_tenant: `anon-${RUN}-${kind}` } }),
            route('jwt', { identity: { source: 'jwt', jwt: { static_key: HS_SECRET, algorithms: ['HS256'], issuer: 'https://issuer.test' } } }),
            route('jwks', { identity: { source: 'jwt', jwt: { jwks_url: jwks.url, algorithms: ['RS256'] } } }),
            // nothing listens there: the keys cannot be fetched
            route('jwksdown', { identity: { source: 'jwt', jwt: { jwks_url: `http://127.0.0.1:${await freePort()}/jwks.json`, algorithms: ['RS256'] } } }),
            route('shadow', { identity: header, mode: 'shadow' }),
            route('cost', { identity: header, cost: { default: 1, header: 'X-Cost', min: 1, max: 3 }, plans: [{ name: 'free', limits: [{ name: 'units', scope: 'tenant', algorithm: 'sliding_window', limit: 5, window_seconds: 600 }] }] }),
            route('refund', { identity: header, refund_5xx: true }),
            route('scoped', {
              identity: { ...header, consumer_header: 'X-Consumer' },
              plans: [{ name: 'free', limits: [{ name: 'per-user', scope: 'consumer', algorithm: 'sliding_window', limit: 2, window_seconds: 600 }, { name: 'all', scope: 'tenant', algorithm: 'calendar', limit: 3, period: 'month' }] }],
            }),
          ],
        },
      ],
    };
    kong = await startKong({ kind, pluginsDir: tenantQuotaPluginDir(), config });
    redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 2000 });
    await redis.ready();
  });

  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
    await jwks?.close();
    await closeAllRedis();
  });

  const get = (p: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) => kong.request({ path: p, headers, ...extra });

  it('trusted header: admits the plan limit, then 429 problem+json with violated-policies and Retry-After; 2 PDK calls each', async () => {
    const t = tenant('acme');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await get('/hdr/x', { 'X-Tenant-ID': t });
      statuses.push(res.status);
      expect(res.context.pdkCalls).toBe(2);
      if (i === 0) {
        expect(parseRateLimitList(res.headers.get('ratelimit-policy') as string)).toEqual({ burst: { q: 3, w: 3600 }, daily: { q: 1000, w: 86400 } });
        const rl = parseRateLimitList(res.headers.get('ratelimit') as string);
        expect(rl.burst.r).toBe(2);
        expect(rl.daily.r).toBe(999);
      }
      if (i === 4) {
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        const body = JSON.parse(res.body.toString());
        expect(body).toMatchObject({ status: 429, 'violated-policies': ['burst'], type: 'https://iana.org/assignments/http-problem-types#quota-exceeded' });
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1199);
        expect(parseRateLimitList(res.headers.get('ratelimit') as string).burst.r).toBe(0);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(kong.errors).toEqual([]);
  });

  it('tenants are isolated: one tenant at its limit does not affect another', async () => {
    const a = tenant('a');
    const b = tenant('b');
    for (let i = 0; i < 4; i++) await get('/hdr/x', { 'X-Tenant-ID': a });
    expect((await get('/hdr/x', { 'X-Tenant-ID': a })).status).toBe(429);
    expect((await get('/hdr/x', { 'X-Tenant-ID': b })).status).toBe(200);
  });

  it('plans come from a Redis hash changed at runtime, without reloading', async () => {
    const t = tenant('upgrade');
    const policy = async () => parseRateLimitList((await get('/hdr/x', { 'X-Tenant-ID': t })).headers.get('ratelimit-policy') as string);
    expect((await policy()).burst.q).toBe(3);
    await redis.command('hset', planHash, t, 'pro');
    // plan_cache_seconds 0: the next request refreshes in the background, the one after uses the new plan
    await policy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await policy()).burst.q).toBe(6);
  });

  it('legacy X-RateLimit-* headers on request', async () => {
    const res = await get('/legacy/x', { 'X-Tenant-ID': tenant('legacy') });
    expect(res.headers.get('x-ratelimit-limit-burst')).toBe('3');
    expect(res.headers.get('x-ratelimit-remaining-burst')).toBe('2');
    expect(res.headers.get('ratelimit')).toBeUndefined();
  });

  it('consumer tag identity (tenant:<name>): a client header cannot pick the tenant; 2 PDK calls', async () => {
    const t = tenant('tagged');
    const consumer = { id: crypto.randomUUID(), username: 'alice', tags: ['team:x', `tenant:${t}`] };
    for (let i = 0; i < 3; i++) expect((await get('/consumer/x', {}, { consumer })).status).toBe(200);
    // another tenant's name in a header changes nothing: still the consumer's tenant, now over its limit
    const spoof = await get('/consumer/x', { 'X-Tenant-ID': tenant('victim') }, { consumer });
    expect(spoof.status).toBe(429);
    expect(spoof.context.pdkCalls).toBe(2);
    // without a consumer: 401, whatever the header says
    const anon = await get('/consumer/x', { 'X-Tenant-ID': t });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('content-type')).toBe('application/problem+json');
  });

  it('unidentified requests can count as an anonymous tenant with its own limits', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get('/anon/x')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('JWT with a static HS256 key: tenant from a verified claim; forged or expired tokens are unidentified', async () => {
    const t = tenant('jwt');
    const good = signHs256({ tenant: t, sub: 'u1', iss: 'https://issuer.test', exp: Math.floor(Date.now() / 1000) + 600 });
    const res = await get('/jwt/x', { Authorization: `Bearer ${good}` });
    expect(res.status).toBe(200);
    expect(parseRateLimitList(res.headers.get('ratelimit') as string).burst.r).toBe(2);
    const forged = good.slice(0, good.lastIndexOf('.') + 1) + b64url(crypto.randomBytes(32));
    expect((await get('/jwt/x', { Authorization: `Bearer ${forged}` })).status).toBe(401);
    const expired = signHs256({ tenant: t, iss: 'https://issuer.test', exp: Math.floor(Date.now() / 1000) - 600 });
    expect((await get('/jwt/x', { Authorization: `Bearer ${expired}` })).status).toBe(401);
    const wrongIssuer = signHs256({ tenant: t, iss: 'https://evil.test' });
    expect((await get('/jwt/x', { Authorization: `Bearer ${wrongIssuer}` })).status).toBe(401);
  });

  it('JWT verified against a JWKS endpoint, whose keys are cached', async () => {
    const t = tenant('jwks');
    const before = jwks.hits();
    for (let i = 0; i < 4; i++) {
      const res = await get('/jwks/x', { Authorization: `Bearer ${signRs256({ tenant: t, sub: `u${i}` })}` });
      expect(res.status).toBe(i < 3 ? 200 : 429);
    }
    expect(jwks.hits() - before).toBeLessThanOrEqual(1);
    expect((await get('/jwks/x', { Authorization: `Bearer ${signRs256({ tenant: t }, 'unknown-kid')}` })).status).toBe(401);
  });

  it('a 401 carries its WWW-Authenticate challenge (RFC 9110): Key for consumer identity, Bearer for JWTs', async () => {
    const noConsumer = await get('/consumer/x');
    expect(noConsumer.status).toBe(401);
    expect(noConsumer.headers.get('www-authenticate')).toBe('Key realm="kong"');
    const noToken = await get('/jwt/x');
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer realm="kong"');
    const forged = await get('/jwt/x', { Authorization: `Bearer ${signHs256({ tenant: 'x' }).slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toBe('Bearer realm="kong", error="invalid_token"');
  });

  it('an unreachable JWKS endpoint is a 503 with Retry-After, logged and counted, not a silent 401', async () => {
    const before = upstream.requests.length;
    const res = await get('/jwksdown/x', { Authorization: `Bearer ${signRs256({ tenant: tenant('down') })}` });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'identity-keys-unavailable', status: 503 });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(upstream.requests.length).toBe(before);
    expect(await kong.servers[0].waitForStderr('tenant-quota: tenant identity cannot be verified')).toContain('jwks_unreachable');
    // a request without any token is still simply unidentified
    expect((await get('/jwksdown/x')).status).toBe(401);
  });

  it('a tenant, consumer or cost header sent twice is a 400 problem, never a guess at which value counts', async () => {
    const t = tenant('dup');
    const before = upstream.requests.length;
    for (const [path, headers, header] of [
      ['/hdr/x', { 'X-Tenant-ID': [t, 'other'] }, 'x-tenant-id'],
      ['/hdr/x', { 'X-Tenant-ID': `${t}, other` }, 'x-tenant-id'],
      ['/scoped/x', { 'X-Tenant-ID': t, 'X-Consumer': ['a', 'b'] }, 'x-consumer'],
      ['/cost/x', { 'X-Tenant-ID': t, 'X-Cost': ['1', '100'] }, 'x-cost'],
      ['/jwt/x', { Authorization: [`Bearer ${signHs256({ tenant: t })}`, 'Bearer x.y.z'] }, 'authorization'],
    ] as Array<[string, Record<string, string | string[]>, string]>) {
      const res = await kong.request({ path, headers });
      expect([path, header, res.status, res.headers.get('content-type')]).toEqual([path, header, 400, 'application/problem+json']);
      expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'ambiguous-request-header', header });
    }
    expect(upstream.requests.length).toBe(before);
    // one value is fine
    expect((await kong.request({ path: '/cost/x', headers: { 'X-Tenant-ID': t, 'X-Cost': '2' } })).status).toBe(200);
  });

  it('shadow mode counts and sends headers but never blocks', async () => {
    const t = tenant('shadow');
    for (let i = 0; i < 5; i++) {
      const res = await get('/shadow/x', { 'X-Tenant-ID': t });
      expect(res.status).toBe(200);
      if (i >= 3) expect(parseRateLimitList(res.headers.get('ratelimit') as string).burst.r).toBe(0);
    }
  });

  it('cost from a header within bounds; out of bounds is 400; a cost too big for what is left is denied whole', async () => {
    const t = tenant('cost');
    const send = (cost?: string) => get('/cost/x', cost === undefined ? { 'X-Tenant-ID': t } : { 'X-Tenant-ID': t, 'X-Cost': cost });
    expect((await send('9')).status).toBe(400);
    expect((await send('0')).status).toBe(400);
    expect((await send('abc')).status).toBe(400);
    const r1 = await send('3');
    expect(parseRateLimitList(r1.headers.get('ratelimit') as string).units.r).toBe(2);
    expect((await send('3')).status).toBe(429);
    const r2 = await send();
    expect(r2.status).toBe(200);
    expect(parseRateLimitList(r2.headers.get('ratelimit') as string).units.r).toBe(1);
  });

  it('refund: requests ending in 5xx give their units back (log phase)', async () => {
    const t = tenant('refund');
    for (let i = 0; i < 5; i++) {
      const res = await get('/refund/fail', { 'X-Tenant-ID': t });
      expect(res.status).toBe(502);
    }
    const ok = await get('/refund/x', { 'X-Tenant-ID': t });
    expect(ok.status).toBe(200);
    expect(parseRateLimitList(ok.headers.get('ratelimit') as string).burst.r).toBe(2);
    expect(parseRateLimitList(ok.headers.get('ratelimit') as string).daily.r).toBe(999);
  });

  it('consumer scope within a tenant, and the tenant total over all its consumers', async () => {
    const t = tenant('scoped');
    const as = (c: string) => get('/scoped/x', { 'X-Tenant-ID': t, 'X-Consumer': c });
    expect((await as('u1')).status).toBe(200);
    expect((await as('u1')).status).toBe(200);
    const third = await as('u1');
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body.toString())['violated-policies']).toEqual(['per-user']);
    expect((await as('u2')).status).toBe(200);
    const over = await as('u3');
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body.toString())['violated-policies']).toEqual(['all']);
  });
});

describe('tenant-quota calendar quota across a month end, through the plugin server (clock test hook)', () => {
  let kong: KongEmulator;
  let upstream: TestUpstream;
  // The plugin server's clock starts 5 s before February 2025 in Europe/Berlin (23:00Z on Jan 31); the test then
  // waits for the reset its own RateLimit header announces, so a slow start cannot move January's requests.
  const target = Date.parse('2025-01-31T22:59:55.000Z');

  beforeAll(async () => {
    upstream = await startUpstream();
    kong = await startKong({
      kind: 'ours',
      pluginsDir: tenantQuotaPluginDir(),
      env: { TENANT_QUOTA_CLOCK_OFFSET_MS: String(target - Date.now()) },
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: upstream.url,
            routes: [
              {
                name: 'monthly',
                paths: ['/monthly'],
                plugins: [
                  {
                    name: 'tenant-quota',
                    config: {
                      identity: { source: 'header', trust_header: true },
                      plans: [{ name: 'p', limits: [{ name: 'monthly', scope: 'tenant', algorithm: 'calendar', limit: 2, period: 'month' }] }],
                      default_plan: 'p',
                      key_prefix: `tqm${RUN}`,
                      calendar: { time_zone: 'Europe/Berlin' },
                      on_redis_failure: 'fail_closed',
                      redis: { command_timeout_ms: 1000 },
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
  });

  it('January\'s quota runs out, and February (a calendar month, in Berlin time) starts afresh', async () => {
    const t = `month-${RUN}`;
    const send = () => kong.request({ path: '/monthly/x', headers: { 'X-Tenant-ID': t } });
    const january = [await send(), await send(), await send()];
    expect(january.map((r) => r.status)).toEqual([200, 200, 429]);
    const rl = parseRateLimitList(january[2].headers.get('ratelimit') as string);
    expect(rl.monthly.t).toBeLessThanOrEqual(5);
    expect(parseRateLimitList(january[0].headers.get('ratelimit-policy') as string).monthly.w).toBe(31 * 86400);
    await new Promise((r) => setTimeout(r, (Number(rl.monthly.t) + 1) * 1000));
    const february = await send();
    expect(february.status).toBe(200);
    expect(parseRateLimitList(february.headers.get('ratelimit-policy') as string).monthly.w).toBe(28 * 86400);
    expect(parseRateLimitList(february.headers.get('ratelimit') as string).monthly.r).toBe(1);
  });
});

describe('kong.yml demo through the dev gateway, and the tenant-usage CLI', () => {
  // kong.yml as shipped but its Redis re-aimed at a private redis-server: the demo's tenants are fixed names under
  // the demo's prefix (tqdemo), and a dev gateway on 127.0.0.1:6379 must keep its counters while the tests run
  let gateway: RunningGateway;
  let redis: RedisServer;
  let dir: string;
  const log = childLogger({ component: 'tenant-quota-demo-test' });
  log.level = 'silent';
  const cli = async (...args: string[]) => {
    const chunks: string[] = [];
    const out = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
    const code = await usageCli(['node', 'tenant-usage', '--port', String(redis.port), '--prefix', 'tqdemo', ...args], out);
    return { code, text: chunks.join('') };
  };
  const send = (port: number, tenant: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/quota/anything', headers: { 'X-Tenant-ID': tenant }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      }).on('error', reject);
    });

  beforeAll(async () => {
    redis = await startRedisServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tq-demo-'));
    const options = parseOptions(['--port', '0', '--config', configWithRedis(redis.port, dir), '--plugins-dir', tenantQuotaPluginDir(), '--server', 'ours', '--ephemeral-upstreams'], {});
    gateway = await startGateway(options, log);
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves two tenants on different plans; the CLI shows and resets their usage', async () => {
    const port = gateway.summary.port;
    const acme = await send(port, 'acme');
    expect(acme.status).toBe(200);
    expect(parseRateLimitList(acme.headers['ratelimit-policy'] as string)).toEqual({ minute: { q: 10, w: 60 }, daily: { q: 1000, w: expect.any(Number) } });
    const globex = [await send(port, 'globex'), await send(port, 'globex'), await send(port, 'globex'), await send(port, 'globex')];
    expect(globex.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(parseRateLimitList(globex[0].headers['ratelimit-policy'] as string).minute.q).toBe(3);

    const shown = await cli('show', 'globex', '--json');
    expect(shown.code).toBe(0);
    const rows = JSON.parse(shown.text) as Array<{ limit: string; kind: string; value: number; ttl_ms: number }>;
    expect(rows.find((r) => r.limit === 'monthly')).toMatchObject({ kind: 'calendar', value: 3 });
    expect(rows.find((r) => r.limit === 'minute')?.kind).toBe('gcra');
    expect((await cli('show', 'globex')).text).toContain('monthly');

    const reset = await cli('reset', 'globex', '--limit', 'minute');
    expect(reset.text).toContain('deleted 1 key(s)');
    expect((await send(port, 'globex')).status).toBe(200);
  }, 30_000);
});
