import path from 'node:path';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'plugins');

function config(upstream: string) {
  return {
    _format_version: '3.0',
    services: [
      {
        name: 'svc',
        url: `${upstream}/base`,
        routes: [
          { name: 'echo', paths: ['/echo'], plugins: [{ name: 'echo-headers', config: { tag: 'route' } }] },
          { name: 'blocked', paths: ['/blocked'], plugins: [{ name: 'exits' }, { name: 'noop' }] },
          { name: 'thrown', paths: ['/thrown'], plugins: [{ name: 'thrower' }] },
          { name: 'concurrent', paths: ['/concurrent'], plugins: [{ name: 'concurrent' }] },
          { name: 'violate', paths: ['/violate'], plugins: [{ name: 'phase-violator' }] },
          { name: 'ctx', paths: ['/ctx'], plugins: [{ name: 'shared-ctx' }] },
          { name: 'typed', paths: ['/typed'], plugins: [{ name: 'typed', config: { greeting: 'hello', times: 3 } }] },
          { name: 'plain', paths: ['/plain'] },
        ],
      },
    ],
    plugins: [{ name: 'key-auth' }],
  };
}

describe.each(SERVER_KINDS)('plugin server %s through the Kong emulator', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;

  beforeAll(async () => {
    upstream = await startUpstream();
    kong = await startKong({ kind, pluginsDir: FIXTURES, workers: 2, config: config(upstream.url) });
  });
  afterAll(async () => {
    await kong.close();
    await upstream.close();
  });

  it('reads every plugin schema through the query command', () => {
    expect(kong.pluginNames().sort()).toEqual(['concurrent', 'echo-headers', 'exits', 'hangs', 'noop', 'phase-violator', 'shared-ctx', 'step-error', 'thrower', 'typed']);
    const typed = kong.infoFor('typed');
    expect(typed).toMatchObject({ Version: '1.2.3', Priority: 800, Phases: ['access'] });
    expect(typed?.Schema.fields[0].config.fields).toContainEqual({ times: { type: 'integer', default: 1, between: [1, 10], description: 'how many times to say it' } });
  });

  it('reports bundled plugins as running in Kong only', () => {
    expect(kong.skippedPlugins).toEqual([{ name: 'key-auth', reason: expect.stringContaining('runs in Kong only') }]);
  });

  it('proxies with access headers set and the response body replaced in the response phase', async () => {
    const res = await kong.request({ path: '/echo/x?q=1', headers: { 'X-A': ['one', 'two'] } });
    expect(res.status).toBe(200);
    expect(res.headers.getAll('x-seen-a')).toEqual(['one', 'two']);
    expect(res.headers.get('x-config-tag')).toBe('route');
    const body = res.body.toString();
    expect(body.startsWith('wrapped:')).toBe(true);
    const echoed = JSON.parse(body.slice('wrapped:'.length));
    expect(echoed.url).toBe('/base/x?q=1');
    expect(echoed.headers['x-forwarded-path']).toBe('/echo/x');
    expect(res.headers.get('x-body-bytes')).toBe(String(body.length - 'wrapped:'.length));
  });

  it('ends the request on exit: later plugins and the upstream are skipped, earlier headers kept', async () => {
    const before = upstream.requests.length;
    const res = await kong.request({ path: '/blocked' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toEqual({ message: 'blocked by exits' });
    expect(res.headers.get('x-exit')).toBe('1');
    expect(res.headers.get('x-before-exit')).toBe('yes');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(upstream.requests.length).toBe(before);
  });

  it('queues PDK calls a plugin makes concurrently', async () => {
    const res = await kong.request({ method: 'PATCH', path: '/concurrent/a' });
    expect(res.headers.get('x-method-path')).toBe('PATCH /concurrent/a');
  });

  it('serves ctx.shared and saved log data in the log phase', async () => {
    const res = await kong.request({ path: '/ctx/p', headers: { Authorization: 'Bearer secret' } });
    expect(res.status).toBe(200);
    const line = kong.env.logLines.filter((l) => l.plugin === 'shared-ctx').pop();
    expect(JSON.parse(line!.message)).toEqual({ seen: { path: '/ctx/p' }, status: 200, authorization: '[REDACTED]' });
  });

  it('answers 500 like Kong when a PDK call is not allowed in the phase', async () => {
    const res = await kong.request({ path: '/violate', headers: { 'x-violate': '1' } });
    expect(res.status).toBe(500);
    // kong.response.error(500) from the access iterator's catch: the JSON template carries the request id
    expect(JSON.parse(res.body.toString())).toEqual({ message: 'An unexpected error occurred', request_id: res.headers.get('x-kong-request-id') });
    expect(kong.errors.pop()).toMatch(/kong.service.response.get_raw_body: function cannot be called in access phase/);
  });

  it('validates typed plugin config and runs its handler', async () => {
    const res = await kong.request({ path: '/typed' });
    expect(res.headers.get('x-greeting')).toBe('hello x3');
  });

  it('runs many concurrent requests across workers without mixing events', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => kong.request({ path: `/echo/${i}`, headers: { 'x-a': `v${i}` } })),
    );
    results.forEach((res, i) => expect(res.headers.get('x-seen-a')).toBe(`v${i}`));
  });
});

describe('failure policies', () => {
  it.each(SERVER_KINDS)('%s: a throwing phase fails closed on ours and open on stock', async (kind) => {
    const upstream = await startUpstream();
    const kong = await startKong({ kind, pluginsDir: FIXTURES, config: config(upstream.url) });
    try {
      const res = await kong.request({ path: '/thrown' });
      if (kind === 'ours') {
        expect(res.status).toBe(500);
        expect(upstream.requests).toHaveLength(0);
      } else {
        expect(res.status).toBe(200); // kong-pdk logs the exception and lets the request through
        expect(upstream.requests).toHaveLength(1);
      }
      const typed = await kong.request({ path: '/typed', headers: { 'x-boom': 'yes' } });
      expect(typed.status).toBe(500); // definePlugin's fail_closed policy holds under both servers
    } finally {
      await kong.close();
      await upstream.close();
    }
  });

  it('rejects a bad typed config at StartInstance with the field named', async () => {
    const upstream = await startUpstream();
    const bad = config(upstream.url);
    (bad.services[0].routes[6].plugins as any)[0].config = { greeting: 'forbidden', times: 3 };
    const kong = await startKong({ kind: 'ours', pluginsDir: FIXTURES, config: bad });
    try {
      const res = await kong.request({ path: '/typed' });
      expect(res.status).toBe(500);
      expect(kong.errors.pop()).toMatch(/config\.greeting: must not be "forbidden"/);
      const server = kong.servers[0];
      expect(await server.waitForStderr(/instance start rejected/)).toMatch(/instance start rejected/);
    } finally {
      await kong.close();
      await upstream.close();
    }
  });
});
