import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { loadKongYaml } from '../../../devkit/emulator/declarative';
import { formatBanner } from '../../../devkit/gateway/banner';
import { reportPlugins } from '../../../devkit/gateway/plugin-report';
import { narrowAcceptEncoding } from '../../../plugins/pii-masking/guard';
import { runGuard } from './guard-harness';

/**
 * The Kong-side guard (plugins/pii-masking/kong/guard-*.lua) run by Debian's luajit against a small stand-in for
 * `kong` and `ngx` (devkit/emulator/lua/pii-guard-host.lua, which the emulator also runs them with): what Kong 3.9 would hold goes in, what the chunks did comes out.
 * The stand-in models only the calls the chunks make; what they mean in Kong (phases, sandbox, ctx.shared across
 * phases, ngx.header = nil clears) was read in Kong 3.9.3's Lua, see the README's Guard section.
 */
const UNMASKED = '{"email": "alice@example.com"}';
const proxied = {
  var: { scheme: 'https', host: 'api.example.com', server_port: '8443', upstream_uri: '/users?token=abc&page=2' },
  status: 200,
  response_headers: { 'Content-Type': 'application/json', 'Content-Length': String(UNMASKED.length), Location: '/users/alice@example.com', ETag: '"v1"', Date: 'Mon, 01 Jan 2024 00:00:00 GMT' },
  chunks: [UNMASKED.slice(0, 10), UNMASKED.slice(10), ''],
  phases: { header_filter: true, body_filter: true },
};

describe('pii-masking guard (Lua, run by luajit)', () => {
  it('luajit is installed (Debian package luajit; .ci/run installs it)', () => {
    expect(execFileSync('luajit', ['-v'], { encoding: 'utf8' })).toMatch(/LuaJIT 2\./);
  });

  it('a proxied response without the plugin result (plugin server down) becomes a 502 problem, upstream headers and body dropped', () => {
    const out = runGuard({ ...proxied, shared: {} });
    expect(out.status).toBe(502);
    expect(out.headers['content-type']).toBe('application/problem+json');
    expect(out.headers.location).toBeUndefined();
    expect(out.headers.etag).toBeUndefined();
    expect(out.headers.date).toBeDefined();
    const problem = JSON.parse(out.body!) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 502, code: 'response-unscannable', reason: 'plugin_unavailable', type: 'urn:kong-plugins:pii-masking:response-unscannable' });
    expect(out.headers['content-length']).toBe(String(out.body!.length));
    expect(out.body).not.toContain('alice');
    expect(out.errors.join()).toContain('answered 502');
  });

  it('a malformed result (body not base64) also fails closed', () => {
    const out = runGuard({ ...proxied, shared: { pii_masking: { ok: true, body: '%%%' } } });
    expect(out.status).toBe(502);
    expect(out.body).not.toContain('alice');
  });

  it('responses Kong or another plugin produced (exit, error) pass without a result', () => {
    for (const source of ['exit', 'error']) {
      const out = runGuard({ ...proxied, source, shared: {}, chunks: ['{"message":"Unauthorized"}'] });
      expect(out.status).toBe(200);
      expect(out.body).toBe('{"message":"Unauthorized"}');
    }
  });

  it('applies a result: status, headers set and cleared, masked body swapped in with its length, log overrides', () => {
    const masked = '{"email": "[EMAIL]"}';
    const out = runGuard({
      ...proxied,
      shared: {
        pii_masking: {
          ok: true,
          headers: { location: ['/users/[EMAIL]'], etag: false },
          body: Buffer.from(masked).toString('base64'),
          logs: [{ path: 'request.headers.cookie', value: 'sid=[REDACTED]' }, { path: 'upstream_uri', clear: true }],
          uri: '/users?token=%5BREDACTED%5D&page=2',
        },
      },
    });
    expect(out.status).toBe(200);
    expect(out.body).toBe(masked);
    expect(out.headers['content-length']).toBe(String(masked.length));
    expect(out.headers.location).toEqual(['/users/[EMAIL]']);
    expect(out.headers.etag).toBeUndefined();
    expect(out.serialize).toEqual([
      { key: 'request.headers.cookie', value: 'sid=[REDACTED]' },
      { key: 'upstream_uri', value: '<nil>' },
      { key: 'request.uri', value: '/users?token=%5BREDACTED%5D&page=2' },
      { key: 'request.url', value: 'https://api.example.com:8443/users?token=%5BREDACTED%5D&page=2' },
      { key: 'upstream_uri', value: '/users?token=%5BREDACTED%5D&page=2' },
    ]);
  });

  it('a clean result changes nothing', () => {
    const out = runGuard({ ...proxied, shared: { pii_masking: { ok: true } } });
    expect(out.status).toBe(200);
    expect(out.body).toBe(UNMASKED);
    expect(out.headers.etag).toBe('"v1"');
    expect(Object.keys(out.serialize)).toHaveLength(0);
  });

  it('access: strips Range / If-Range, narrows Accept-Encoding like the plugin, stores the request snapshot', () => {
    const cases: Array<[string | string[] | undefined, string | undefined]> = [
      ['gzip, deflate, br, zstd', 'gzip, deflate, br'],
      ['zstd', 'identity'],
      ['gzip;q=1.0, *;q=0.5', 'gzip;q=1.0'],
      ['gzip, br', undefined],
      [['gzip', 'compress'], 'gzip'],
      [undefined, undefined],
      [`gzip,${' '.repeat(8000)}zstd`, 'gzip'],
    ];
    for (const [accept, expected] of cases) {
      const headers: Record<string, unknown> = { host: 'api', range: 'bytes=0-10', 'if-range': '"v1"' };
      if (accept !== undefined) headers['accept-encoding'] = accept;
      const started = Date.now();
      const out = runGuard({ request_headers: headers, var: { request_uri: '/a?token=abc' }, phases: { access: true } });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(out.service_request.Range).toBe(false);
      expect(out.service_request['If-Range']).toBe(false);
      expect(out.service_request['Accept-Encoding']).toBe(expected);
      expect(narrowAcceptEncoding(Array.isArray(accept) ? accept.join(', ') : accept)).toBe(expected);
      expect(out.shared_request).toMatchObject({ uri: '/a?token=abc' });
    }
  });
});

describe('the guard in kong.yml', () => {
  it('the pii demo route runs pii-masking with guard: true and the pre-function chunks byte for byte as in plugins/pii-masking/kong', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const yaml = require('yaml') as { parse(text: string): any };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require('node:fs') as typeof import('node:fs');
    const root = `${__dirname}/../../..`;
    const config = yaml.parse(fs.readFileSync(`${root}/kong.yml`, 'utf8'));
    const route = config.services.flatMap((s: any) => s.routes ?? []).find((r: any) => r.name === 'pii-samples');
    const plugins = new Map<string, any>(route.plugins.map((p: any) => [p.name, p.config]));
    expect(plugins.get('pii-masking').guard).toBe(true);
    const guard = plugins.get('pre-function');
    for (const [phase, file] of [['access', 'guard-access.lua'], ['header_filter', 'guard-header-filter.lua'], ['body_filter', 'guard-body-filter.lua']]) {
      expect(guard[phase]).toEqual([fs.readFileSync(`${root}/plugins/pii-masking/kong/${file}`, 'utf8')]);
    }
  });
});

describe('the pii-masking guard in the dev gateway', () => {
  it("kong.yml's guard pre-function is reported as emulated (its shipped Lua runs), other bundled plugins as Kong only", () => {
    const config = loadKongYaml(path.join(__dirname, '../../../kong.yml'));
    const plugins = reportPlugins(config, new Set(['pii-masking']));
    expect(plugins).toContainEqual(expect.objectContaining({ name: 'pre-function', scope: 'route pii-samples', status: 'emulated' }));
    expect(plugins.filter((p) => p.status === 'emulated')).toHaveLength(1);
    const banner = formatBanner({ url: 'http://127.0.0.1:8000', port: 8000, config: 'kong.yml', server: 'ours', perPlugin: false, pluginServerProcesses: 1, pluginsServed: ['pii-masking'], plugins, routes: [], upstreams: [], redis: [] });
    expect(banner).toContain('Kong bundled plugins emulated:\n  pre-function (route pii-samples): the pii-masking Kong-side guard: its shipped Lua (plugins/pii-masking/kong) runs here with luajit');
    // an edited chunk is not the shipped guard: Kong only again
    const edited = { ...config, plugins: config.plugins.map((p) => (p.name === 'pre-function' ? { ...p, config: { ...p.config, access: ['return function() end'] } } : p)) };
    expect(reportPlugins(edited, new Set(['pii-masking'])).find((p) => p.name === 'pre-function')).toMatchObject({ status: 'kong-only' });
  });
});
