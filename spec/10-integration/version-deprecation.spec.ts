import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKongYaml } from '../../devkit/emulator/declarative';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT } from '../../devkit/emulator/plugin-server-process';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { parseDeprecation, parseImfFixdate, parseLinks } from '../helpers/http-header-checks';
import { freePort } from '../helpers/ports';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Whole seconds: the Deprecation and Sunset headers carry second precision. */
const NOW = Math.floor(Date.now() / 1000) * 1000;

const DOCS = 'https://docs.example.com';

/** Only this plugin, so the test does not depend on the other plugins being built. */
function pluginDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-plugins-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'version-deprecation'), path.join(dir, 'version-deprecation'));
  return dir;
}

function versions(overrides: { v1?: Record<string, unknown> } = {}) {
  return [
    {
      name: 'v0',
      deprecated_at: iso(NOW - 400 * DAY),
      sunset_at: iso(NOW - 30 * DAY),
      successor: 'v2',
      documentation_url: `${DOCS}/v0`,
    },
    {
      name: 'v1',
      aliases: ['1'],
      deprecated_at: iso(NOW - 30 * DAY),
      sunset_at: iso(NOW + 365 * DAY),
      successor: 'v2',
      documentation_url: `${DOCS}/v1`,
      deprecation_url: `${DOCS}/deprecations/v1`,
      sunset_url: `${DOCS}/sunset-policy`,
      brownouts: [{ start: iso(NOW + 10 * DAY), end: iso(NOW + 10 * DAY + HOUR) }],
      upstream_path_prefix: '/',
      ...overrides.v1,
    },
    { name: 'v2', aliases: ['2', '2.0'], documentation_url: `${DOCS}/v2`, upstream_path_prefix: '/api/2.0' },
  ];
}

function plugin(config: Record<string, unknown>) {
  return [{ name: 'version-deprecation', config }];
}

function kongConfig(upstream: string) {
  const common = { path_segment: 2, upstream_header: 'X-Resolved-Version', accept_media_type: 'application/vnd.acme+json' };
  return {
    _format_version: '3.0',
    services: [
      {
        name: 'api',
        url: upstream,
        routes: [
          { name: 'versioned', paths: ['/versioned'], plugins: plugin({ ...common, versions: versions(), default_version: 'v2' }) },
          { name: 'precedence', paths: ['/precedence'], plugins: plugin({ ...common, versions: versions(), default_version: 'v2', on_conflict: 'first' }) },
          {
            // the version in the first segment, the route at "/": every raw path below reaches the plugin
            name: 'root',
            hosts: ['root.test'],
            paths: ['/'],
            plugins: plugin({ versions: versions({ v1: { upstream_path_prefix: '/api/1/' } }), default_version: 'v2', upstream_header: 'X-Resolved-Version' }),
          },
          {
            name: 'brownout',
            paths: ['/brownout'],
            plugins: plugin({ ...common, versions: versions({ v1: { brownouts: [{ start: iso(NOW - HOUR), end: iso(NOW + HOUR) }] } }), default_version: 'v2' }),
          },
          { name: 'serving', paths: ['/serving'], plugins: plugin({ ...common, versions: versions(), after_sunset: 'serve', default_version: 'v2' }) },
          {
            name: 'strict',
            paths: ['/strict'],
            plugins: plugin({ versions: versions(), sources: ['path', 'header'], path_segment: 2, problem_type_base: 'https://problems.example.com/', consumer_metrics: 'none' }),
          },
        ],
      },
    ],
  };
}

function json(body: Buffer): Record<string, any> {
  return JSON.parse(body.toString('utf8')) as Record<string, any>;
}

const alice = { id: '8a1e7c1e-0000-4000-8000-000000000001', username: 'alice' };
const bob = { id: '8a1e7c1e-0000-4000-8000-000000000002', username: 'bob' };

describe.each(SERVER_KINDS)('version-deprecation through the Kong emulator (%s server)', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;
  let metricsPort: number;
  const dir = pluginDir();

  beforeAll(async () => {
    upstream = await startUpstream();
    metricsPort = await freePort();
    kong = await startKong({ kind, pluginsDir: dir, workers: 2, config: kongConfig(upstream.url), env: { KONG_PLUGINS_METRICS_PORT: String(metricsPort) } });
  });
  afterAll(async () => {
    await kong.close();
    await upstream.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const lastUpstream = () => upstream.requests[upstream.requests.length - 1];

  it('serves the default version when none is given, routing it to its upstream path', async () => {
    const res = await kong.request({ path: '/versioned/anything?x=1' });
    expect(res.status).toBe(200);
    expect(lastUpstream().url).toBe('/api/2.0/anything?x=1');
    expect(lastUpstream().headers['x-resolved-version']).toBe('v2');
    expect(res.headers.has('deprecation')).toBe(false);
    expect(res.headers.has('sunset')).toBe(false);
    // the version may come from request headers, so caches must key on them
    expect(res.headers.get('vary')).toBe('X-API-Version, Accept');
    expect(res.context.pdkCalls).toBe(6); // get_headers, get_path, get_raw_query (every source consulted), set_headers (Vary), set_path, set_header
  });

  it('reads the version from a header, a path segment, a query parameter and an Accept media-type parameter', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ 'X-API-Version': '2.0' }, '/versioned/things', '/api/2.0/things'],
      [{}, '/versioned/v2/things', '/api/2.0/things'],
      [{}, '/versioned/things?api-version=2', '/api/2.0/things?api-version=2'],
      [{ Accept: 'text/html;q=0.5, application/vnd.acme+json; version="2"' }, '/versioned/things', '/api/2.0/things'],
    ];
    for (const [headers, requestPath, upstreamUrl] of cases) {
      const res = await kong.request({ path: requestPath, headers });
      expect([requestPath, res.status, lastUpstream().url]).toEqual([requestPath, 200, upstreamUrl]);
    }
  });

  it('reads the path as Kong\'s router does (normalized get_path, not the raw request URI): dot segments and encodings never pick another version', async () => {
    // kong.request.get_path_with_query() is nginx's raw request_uri; the router and get_path() see the normalized
    // path (kong/tools/uri.lua normalize: dot segments resolved, slashes merged, unreserved %XX decoded)
    for (const [requestPath, upstreamUrl] of [
      ['/versioned/v1/../v2/things', '/api/2.0/things'],
      ['/versioned//v2/./things', '/api/2.0/things'],
      ['/versioned/%76%32/things', '/api/2.0/things'],
    ]) {
      const res = await kong.request({ path: requestPath });
      expect([requestPath, res.status, lastUpstream().headers['x-resolved-version'], lastUpstream().url]).toEqual([requestPath, 200, 'v2', upstreamUrl]);
    }
  });

  it('answers 400 api-version-conflict when two sources name different versions (the default), proxying nothing', async () => {
    const before = upstream.requests.length;
    const res = await kong.request({ path: '/versioned/v1/things', headers: { 'X-API-Version': '2' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(json(res.body)).toMatchObject({ code: 'api-version-conflict', status: 400, versions: [{ source: 'header', version: 'v2' }, { source: 'path', version: 'v1' }] });
    expect(res.headers.get('vary')).toBe('X-API-Version, Accept');
    // a query naming an unknown version next to a known one is a conflict too
    const unknown = await kong.request({ path: '/versioned/v2/things?api-version=9' });
    expect(json(unknown.body)).toMatchObject({ code: 'api-version-conflict', versions: [{ source: 'path', version: 'v2' }, { source: 'query', version: '9' }] });
    expect(upstream.requests.length).toBe(before);
    // the same version named twice (an alias counts as its version) is no conflict
    const same = await kong.request({ path: '/versioned/v2/things?api-version=2.0', headers: { 'X-API-Version': '2' } });
    expect(same.status).toBe(200);
    expect(lastUpstream().url).toBe('/api/2.0/things?api-version=2.0');
  });

  it('on_conflict first: the configured precedence decides (header before path before query before accept)', async () => {
    const res = await kong.request({ path: '/precedence/v1/things?api-version=2', headers: { 'X-API-Version': '2', Accept: 'application/vnd.acme+json;version=1' } });
    expect(res.status).toBe(200);
    expect(lastUpstream().url).toBe('/api/2.0/things?api-version=2'); // header said v2; the v1 path segment is replaced
    const byPath = await kong.request({ path: '/precedence/v1/things?api-version=2', headers: { Accept: 'application/vnd.acme+json;version=2' } });
    expect(byPath.status).toBe(200);
    expect(lastUpstream().headers['x-resolved-version']).toBe('v1');
    expect(lastUpstream().url).toBe('/things?api-version=2'); // v1 strips the version segment
  });

  it('never rewrites to a path with "..", "//" or outside the version\'s prefix, whatever the raw path', async () => {
    // raw request lines as a client sends them; Kong's get_path (emulated: kong/tools/uri.lua normalize) resolves
    // dot segments (never above "/"), merges slashes and decodes unreserved %XX before the plugin sees the path
    const cases: Array<[string, number, string | undefined, string | undefined]> = [
      ['/v2/../v1/x', 200, 'v1', '/api/1/x'],
      ['/%761/x', 200, 'v1', '/api/1/x'],
      ['/v2/../../admin', 200, 'v2', '/api/2.0/admin'], // no version left in the path: the default, under its prefix
      ['/v1//x/./y/', 200, 'v1', '/api/1/x/y/'],
      ['/v1/..%2Fadmin', 400, undefined, undefined], // an upstream decoding %2F would read "../admin"
      ['/v1/%2e%2e%5cadmin', 400, undefined, undefined],
    ];
    for (const [raw, status, version, upstreamUrl] of cases) {
      const before = upstream.requests.length;
      const res = await kong.request({ path: raw, host: 'root.test' });
      const seen = upstream.requests.length > before ? lastUpstream() : undefined;
      expect([raw, res.status, seen?.headers['x-resolved-version'], seen?.url]).toEqual([raw, status, version, upstreamUrl]);
      if (seen) {
        expect(seen.url).not.toMatch(/\/\.\.?(\/|$)|\/\//);
        expect(seen.url.startsWith(version === 'v1' ? '/api/1/' : '/api/2.0/')).toBe(true);
      } else expect(json(res.body)).toMatchObject({ code: 'invalid-version-path', status: 400 });
    }
  });

  it('answers 400 problem+json listing the supported versions for an unknown version', async () => {
    const before = upstream.requests.length;
    for (const [headers, p] of [
      [{ 'X-API-Version': 'v7' }, '/versioned/x'],
      [{}, '/versioned/v7/x'],
      [{ Accept: 'application/vnd.acme+json; version=7' }, '/versioned/x'],
    ] as Array<[Record<string, string>, string]>) {
      const res = await kong.request({ path: p, headers });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = json(res.body);
      expect(body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'unsupported-api-version', supported_versions: ['v1', 'v2'] });
      expect(body.requested_version).toMatch(/^v?7$/);
      expect(res.headers.get('vary')).toBe('X-API-Version, Accept');
      // the reads up to the source that names the version (header: 1; path: 2; accept, after path and query: 3), then exit
      expect(res.context.pdkCalls).toBeLessThanOrEqual(4);
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('answers 400 when no version is given and there is no default', async () => {
    const res = await kong.request({ path: '/strict/things' });
    expect(res.status).toBe(400);
    expect(json(res.body)).toMatchObject({
      type: 'https://problems.example.com/api-version-required',
      title: 'API version required',
      code: 'api-version-required',
      supported_versions: ['v1', 'v2'],
      detail: expect.stringContaining('path segment 2, or the X-API-Version header'),
    });
    expect(res.context.pdkCalls).toBe(3); // get_path, get_headers, exit
  });

  it('signals a deprecated version with Deprecation, Sunset and Link headers that independent parsers accept', async () => {
    const res = await kong.request({ path: '/versioned/v1/anything', consumer: alice });
    expect(res.status).toBe(200);
    expect(lastUpstream().url).toBe('/anything');
    expect(parseDeprecation(res.headers.get('deprecation') as string).getTime()).toBe(NOW - 30 * DAY);
    expect(parseImfFixdate(res.headers.get('sunset') as string).getTime()).toBe(NOW + 365 * DAY);
    expect(parseLinks(res.headers.getAll('link') as string[])).toEqual([
      { uri: `${DOCS}/deprecations/v1`, rel: 'deprecation', type: 'text/html' },
      { uri: `${DOCS}/sunset-policy`, rel: 'sunset', type: 'text/html' },
      { uri: `${DOCS}/v2`, rel: 'successor-version' },
    ]);
    // get_headers, get_path, get_raw_query (on_conflict reject reads every source), get_consumer, set_headers,
    // set_path, set_header
    expect(res.context.pdkCalls).toBe(7);
  });

  it('answers 410 during a brownout, with the successor, its link and Retry-After', async () => {
    const before = upstream.requests.length;
    const res = await kong.request({ path: '/brownout/things', headers: { 'X-API-Version': '1' }, consumer: bob });
    expect(res.status).toBe(410);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(parseImfFixdate(res.headers.get('retry-after') as string).getTime()).toBe(NOW + HOUR);
    expect(parseDeprecation(res.headers.get('deprecation') as string).getTime()).toBe(NOW - 30 * DAY);
    expect(parseLinks(res.headers.getAll('link') as string[]).map((l) => l.rel)).toEqual(['deprecation', 'sunset', 'successor-version']);
    expect(json(res.body)).toMatchObject({ status: 410, code: 'api-version-brownout', version: 'v1', successor: 'v2', successor_link: `${DOCS}/v2` });
    expect(upstream.requests.length).toBe(before);
    expect(res.context.pdkCalls).toBe(5); // get_headers, get_path, get_raw_query (every source, for conflicts), get_consumer, exit
    // the successor is unaffected by the brownout
    expect((await kong.request({ path: '/brownout/things', headers: { 'X-API-Version': '2' } })).status).toBe(200);
  });

  it('answers 410 Gone after the sunset, or keeps serving with the headers when configured to', async () => {
    const gone = await kong.request({ path: '/versioned/v0/things' });
    expect(gone.status).toBe(410);
    const body = json(gone.body);
    expect(body).toMatchObject({ type: 'about:blank', title: 'Gone', code: 'api-version-sunset', version: 'v0', successor: 'v2', successor_link: `${DOCS}/v2` });
    expect(body.detail).toContain('Use v2 instead');
    expect(parseImfFixdate(gone.headers.get('sunset') as string).getTime()).toBe(NOW - 30 * DAY);
    // the sunset version is no longer listed as supported
    expect(json((await kong.request({ path: '/versioned/v9' })).body).supported_versions).toEqual(['v1', 'v2']);

    const served = await kong.request({ path: '/serving/v0/things' });
    expect(served.status).toBe(200);
    expect(parseImfFixdate(served.headers.get('sunset') as string).getTime()).toBe(NOW - 30 * DAY);
    expect(parseLinks(served.headers.getAll('link') as string[])).toEqual([
      { uri: `${DOCS}/v0`, rel: 'deprecation', type: 'text/html' },
      { uri: `${DOCS}/v2`, rel: 'successor-version' },
    ]);
  });

  it('logs the first deprecated call of a consumer once per interval', async () => {
    for (let i = 0; i < 3; i++) await kong.request({ path: '/serving/v1/x', consumer: alice });
    // alice's two first calls (two routes) are logged; stderr can lag behind the responses
    const logged = await kong.servers[0].waitForStderr(/deprecated_api_version_called[^\n]*"consumer":"alice"[\s\S]*deprecated_api_version_called[^\n]*"consumer":"alice"/);
    const events = logged
      .split('\n')
      .filter((line) => line.includes('deprecated_api_version_called'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.every((e) => e.level === 'warn' && e.msg === 'consumer called a deprecated API version')).toBe(true);
    // one event per (route, version, consumer) within the interval, although two workers ran the calls
    const keys = events.map((e) => `${e.route}|${e.version}|${e.consumer}`);
    expect(new Set(keys).size).toBe(keys.length);
    // alice called v1 on two routes: /versioned once (earlier test) and /serving three times
    const alices = events.filter((e) => e.consumer === 'alice' && e.version === 'v1');
    expect(alices).toHaveLength(2);
    expect(alices[1]).toMatchObject({ consumer_id: alice.id, state: 'deprecated', successor: 'v2', sunset: new Date(NOW + 365 * DAY).toUTCString() });
  });

  if (kind === 'ours') {
    it('reports the consumers still calling deprecated versions with the version-usage CLI, from the metrics endpoint', async () => {
      await kong.request({ path: '/versioned/v1/a', consumer: bob });
      await kong.request({ path: '/versioned/v1/b', consumer: bob });
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [path.join(ROOT, 'bin', 'version-usage.js'), ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
        });
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      const asJson = await run(['--url', url, '--json', '--version', 'v1']);
      expect(asJson.stderr).toBe('');
      const rows = JSON.parse(asJson.stdout) as Array<{ consumer: string; version: string; route: string; requests: number; states: Record<string, number> }>;
      expect(rows.every((r) => r.version === 'v1')).toBe(true);
      // bob: one brownout 410 on /brownout, two deprecated calls on /versioned; alice: 1 + 3 deprecated calls
      expect(rows.filter((r) => r.consumer === 'bob').map((r) => r.states)).toEqual(expect.arrayContaining([{ brownout: 1 }, { deprecated: 2 }]));
      expect(rows.filter((r) => r.consumer === 'alice').map((r) => r.requests).sort()).toEqual([1, 3]);
      expect(rows.some((r) => r.consumer === '(untracked)')).toBe(false);
      const table = await run(['--url', url, '--fail-if-any']);
      expect(table.code).toBe(3);
      expect(table.stdout.split('\n')[0]).toMatch(/^CONSUMER\s+VERSION\s+REQUESTS\s+STATES\s+ROUTE$/);
      expect(table.stdout).toMatch(/\nbob\s+v1\s+\d+\s+.*brownout=1/);
      const down = await run(['--url', 'http://127.0.0.1:1/metrics']);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain('version-usage: http://127.0.0.1:1/metrics');
    });
  }
});

describe('kong.yml demo route', () => {
  it('is accepted and answers with the deprecation headers for v1 and a problem for unknown versions', async () => {
    const dir = pluginDir();
    const kong = await startKong({ kind: 'ours', pluginsDir: dir });
    const demo = await startUpstream();
    try {
      // plugins other than this one are reported as skipped here; the demo services point at a test upstream (an
      // upstream that cannot be reached gets Kong's error page, without the headers set in access)
      const config = loadKongYaml(path.join(ROOT, 'kong.yml'));
      for (const service of config.services) service.port = demo.port;
      kong.configure(config);
      const unknown = await kong.request({ path: '/versioned/v9/anything' });
      expect(unknown.status).toBe(400);
      expect(json(unknown.body).supported_versions).toEqual(['v1', 'v2']);
      const v1 = await kong.request({ path: '/versioned/v1/anything' });
      expect(v1.status).toBe(200);
      expect(parseDeprecation(v1.headers.get('deprecation') as string).toISOString()).toBe('2026-06-01T00:00:00.000Z');
      expect(v1.headers.get('sunset')).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
      expect(parseLinks(v1.headers.getAll('link') as string[]).map((l) => l.rel)).toEqual(['deprecation', 'sunset', 'successor-version']);
    } finally {
      await demo.close();
      await kong.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(SERVER_KINDS)('version-deprecation across lifecycle boundaries with a shifted clock (%s server)', (kind) => {
  // absolute dates far from today; the plugin server's clock is moved next to each boundary
  const deprecatedAt = Date.parse('2031-01-01T00:00:00Z');
  const brownoutStart = Date.parse('2031-06-01T00:00:00Z');
  const sunsetAt = Date.parse('2032-01-01T00:00:00Z');
  let upstream: TestUpstream;
  const dir = pluginDir();
  const config = (url: string) => ({
    _format_version: '3.0',
    services: [
      {
        name: 'api',
        url,
        routes: [
          {
            name: 'lifecycle',
            paths: ['/'],
            plugins: plugin({
              sources: ['header'],
              versions: [
                { name: 'v1', deprecated_at: iso(deprecatedAt), sunset_at: iso(sunsetAt), successor: 'v2', brownouts: [{ start: iso(brownoutStart), end: iso(brownoutStart + HOUR) }] },
                { name: 'v2', documentation_url: `${DOCS}/v2` },
              ],
            }),
          },
        ],
      },
    ],
  });

  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await upstream.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['before the deprecation (announced ahead)', deprecatedAt - HOUR, 200],
    ['right after the deprecation', deprecatedAt + 60_000, 200],
    ['inside the brownout', brownoutStart + 60_000, 410],
    ['after the brownout', brownoutStart + 2 * HOUR, 200],
    ['after the sunset', sunsetAt + 60_000, 410],
  ])('%s', async (_label, at, status) => {
    const kong = await startKong({ kind, pluginsDir: dir, config: config(upstream.url), env: { VERSION_DEPRECATION_CLOCK_OFFSET_MS: String(at - Date.now()) } });
    try {
      const res = await kong.request({ path: '/x', headers: { 'X-API-Version': 'v1' } });
      expect(res.status).toBe(status);
      expect(parseDeprecation(res.headers.get('deprecation') as string).getTime()).toBe(deprecatedAt);
      expect(parseImfFixdate(res.headers.get('sunset') as string).getTime()).toBe(sunsetAt);
      if (status === 410) expect(json(res.body).code).toBe(at > sunsetAt ? 'api-version-sunset' : 'api-version-brownout');
      expect(await kong.servers[0].waitForStderr('VERSION_DEPRECATION_CLOCK_OFFSET_MS is set')).toContain('VERSION_DEPRECATION_CLOCK_OFFSET_MS is set');
    } finally {
      await kong.close();
    }
  });
});
