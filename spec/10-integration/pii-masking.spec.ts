import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { serialize } from '../../devkit/emulator/pdk';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { runGuard } from '../02-unit/pii-masking/guard-harness';

/**
 * pii-masking end to end: a real plugin server (ours and kong-pdk's stock one) driven by the emulator's buffered
 * response phase, in front of a real HTTP upstream. Only this plugin is loaded (a plugins dir linking to its build).
 */
const JSON_BODY = '{"id": 12345678901234567890, "score": 1.10e+10, "email": "jane.doe@example.com", "ssn": "219456789", "order_id": "219456789", "card": "4111 1111 1111 1111"}';
const CLEAN_BODY = '{ "id": 12345678901234567890,\n  "score": 1.10e+10, "name": "Alice" }';
const XML_BODY = '<?xml version="1.0"?><user email="jane@example.com"><ssn>219-45-6789</ssn><name>Jane</name></user>';
const TEXT_BODY = 'Call +44 20 7946 0958 or write to jane@example.com.\n';
const PNG_BODY = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from(' jane@example.com ')]);

function serve(type: string, body: string | Buffer, extra: Record<string, string> = {}) {
  return { type, body: Buffer.isBuffer(body) ? body : Buffer.from(body), extra };
}

const ROUTES: Record<string, ReturnType<typeof serve>> = {
  '/json': serve('application/json', JSON_BODY),
  '/clean': serve('application/json; charset=utf-8', CLEAN_BODY),
  '/xml': serve('application/xml', XML_BODY),
  '/dtd': serve('application/xml', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'),
  '/text': serve('text/plain', TEXT_BODY),
  '/png': serve('image/png', PNG_BODY),
  '/gzip': serve('application/json', zlib.gzipSync(JSON_BODY), { 'Content-Encoding': 'gzip' }),
  '/br': serve('application/json', zlib.brotliCompressSync(JSON_BODY), { 'Content-Encoding': 'br' }),
  '/big': serve('application/json', `{"pad": "${'x'.repeat(4096)}", "email": "a@b.com"}`),
  '/cookie': serve('application/json', '{"ok": true}', { 'Set-Cookie': 'session=s3cr3t; Path=/; HttpOnly' }),
  '/etag': serve('application/json', JSON_BODY, { ETag: '"v1-unmasked"', 'Content-MD5': 'bWQ1LW9mLXVubWFza2VkLWJvZHk=', 'Content-Digest': 'sha-256=:dW5tYXNrZWQ=:', 'Cache-Control': 'max-age=60' }),
  '/clean-etag': serve('application/json', CLEAN_BODY, { ETag: '"v1-clean"', 'Content-MD5': 'Y2xlYW4tYm9keS1tZDU=' }),
  '/zstd': serve('application/json', JSON_BODY, { 'Content-Encoding': 'zstd' }),
  '/double-gzip': serve('application/json', zlib.gzipSync(zlib.gzipSync(JSON_BODY)), { 'Content-Encoding': 'gzip, gzip' }),
  '/truncated': serve('application/json', zlib.gzipSync(JSON_BODY).subarray(0, 40), { 'Content-Encoding': 'gzip' }),
  '/ndjson': serve('application/x-ndjson', '{"email":"jane@example.com"}\n{"email":"joe@example.com"}\n'),
  '/sse': serve('text/event-stream', 'data: {"email":"jane@example.com"}\n\n'),
  '/form': serve('application/x-www-form-urlencoded', 'email=jane@example.com&n=1'),
  '/untyped': serve('', '{"email":"jane@example.com"}'),
  '/utf16': serve('application/json; charset=utf-16le', Buffer.from('{"email":"jane@example.com"}', 'utf16le')),
  '/octet': serve('application/octet-stream', 'jane@example.com'),
  '/headers': serve('application/json', CLEAN_BODY, { Location: '/users/jane@example.com', 'X-User-Email': 'jane@example.com', Link: '<mailto:jane@example.com>; rel="author"' }),
  '/range': serve('application/json', JSON_BODY),
  '/a-run-16k': serve('application/json', `{"note": "${'a'.repeat(16 * 1024)}"}`),
  '/a-run-512': serve('application/json', `{"note": "${'a'.repeat(512)}"}`),
};

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function pluginsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-plugins-'));
  tempDirs.push(dir);
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'pii-masking'), path.join(dir, 'pii-masking'));
  fs.copyFileSync(path.join(__dirname, '../fixtures/pii-guard-standin/pii-guard-standin.js'), path.join(dir, 'pii-guard-standin.js'));
  return dir;
}

/** Kong's bundled pre-function holding the shipped guard chunks, as kong.yml configures it: the emulator runs them. */
const GUARD_DIR = path.join(__dirname, '../../plugins/pii-masking/kong');
const preFunctionGuard = {
  name: 'pre-function',
  config: Object.fromEntries(
    [['access', 'guard-access.lua'], ['header_filter', 'guard-header-filter.lua'], ['body_filter', 'guard-body-filter.lua']].map(([phase, file]) => [phase, [fs.readFileSync(path.join(GUARD_DIR, file), 'utf8')]]),
  ),
};

function config(upstreamUrl: string): Record<string, unknown> {
  const route = (name: string, prefix: string, pluginConfig: Record<string, unknown>, guard: boolean | 'lua' = false) => ({
    name,
    paths: [prefix],
    strip_path: true,
    plugins: [
      { name: 'pii-masking', config: { token_key: 'integration-test-key-0123456789', ...pluginConfig } },
      ...(guard === true ? [{ name: 'pii-guard-standin' }] : guard === 'lua' ? [preFunctionGuard] : []),
    ],
  });
  return {
    _format_version: '3.0',
    services: [
      {
        name: 'upstream',
        url: upstreamUrl,
        routes: [
          route('default', '/default', {}),
          route('tokens', '/tokens', { modes: { email: 'token', card: 'partial' } }),
          route('block', '/block', { modes: { card: 'block' }, block_status: 451 }),
          route('size-block', '/size-block', { max_body_size: 1024, oversize_action: 'block' }),
          route('size-text', '/size-text', { max_body_size: 1024, oversize_action: 'scan_text' }),
          route('size-pass', '/size-pass', { max_body_size: 1024, oversize_action: 'pass' }),
          route('open', '/open', { pass_unreadable: ['encoding', 'media_type'] }),
          route('guarded', '/guarded', { guard: true }, true),
          route('lua-guarded', '/lua-guarded', { guard: true }, 'lua'),
          route('identity', '/identity', { compressed_output: 'identity' }),
          route('pdf-ok', '/pdf-ok', { pass_content_types: ['application/octet-stream'] }),
          // an operator pattern slow on runs of "a": bodies from 1 KB go to the worker pool, where the budget holds
          route('custom-slow', '/custom-slow', { custom_detectors: [{ name: 'slow_a', pattern: 'a*b|a' }], time_budget_ms: 10 }),
          route('vault', '/vault', { token_key: '{vault://env/pii-test-token-key}', modes: { email: 'token', card: 'partial' } }),
        ],
      },
    ],
  };
}

describe.each(SERVER_KINDS)('pii-masking through the %s plugin server', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;

  beforeAll(async () => {
    upstream = await startUpstream((request, response) => {
      const route = ROUTES[request.url.split('?')[0]];
      if (!route) {
        response.writeHead(404);
        response.end();
        return;
      }
      if (request.url === '/range') {
        response.writeHead(200, { 'Content-Type': 'application/json', 'X-Saw-Range': String(request.headers.range ?? 'none'), 'X-Saw-Accept-Encoding': String(request.headers['accept-encoding'] ?? 'none') });
        response.end(route.body);
        return;
      }
      response.writeHead(200, { ...(route.type ? { 'Content-Type': route.type } : {}), 'Content-Length': String(route.body.length), ...route.extra });
      response.end(route.body);
    });
    kong = await startKong({ kind, pluginsDir: pluginsDir(), config: config(upstream.url), vaultEnv: { PII_TEST_TOKEN_KEY: 'integration-test-key-0123456789' } });
  });

  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
  });

  it('masks a JSON body in place: same bytes elsewhere, key context respected, valid JSON', async () => {
    const response = await kong.request({ path: '/default/json' });
    const expected = JSON_BODY.replace('jane.doe@example.com', '[EMAIL]').replace('"ssn": "219456789"', '"ssn": "[SSN]"').replace('4111 1111 1111 1111', '[CARD]');
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe(expected);
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(expected)));
    expect(response.source).toBe('exit');
    // access: get_headers + get_raw_query; response: get_headers (downstream) + service get_raw_body, get_status + exit
    expect(response.context.pdkCalls).toBe(6);
    expect(kong.errors).toEqual([]);
  });

  it('a rewritten body drops the validators of the unmasked bytes (ETag, Content-MD5, Content-Digest); a clean one keeps them', async () => {
    const masked = await kong.request({ path: '/default/etag' });
    expect(masked.body.toString()).toContain('"email": "[EMAIL]"');
    expect(masked.headers.get('etag')).toBeUndefined();
    expect(masked.headers.get('content-md5')).toBeUndefined();
    expect(masked.headers.get('content-digest')).toBeUndefined();
    expect(masked.headers.get('cache-control')).toBe('max-age=60');
    // one clear_header per stale validator present, on top of the 6 calls of a masked response
    expect(masked.context.pdkCalls).toBe(9);
    const blocked = await kong.request({ path: '/block/etag' });
    expect(blocked.status).toBe(451);
    expect(blocked.headers.get('etag')).toBeUndefined();
    const clean = await kong.request({ path: '/default/clean-etag' });
    expect(clean.body.toString()).toBe(CLEAN_BODY);
    expect(clean.headers.get('etag')).toBe('"v1-clean"');
    expect(clean.headers.get('content-md5')).toBe('Y2xlYW4tYm9keS1tZDU=');
    expect(clean.context.pdkCalls).toBe(4);
  });

  it('takes token_key from a vault reference: Kong resolves it and adds "$refs" to the config, and the instance still starts', async () => {
    const fromVault = JSON.parse((await kong.request({ path: '/vault/json' })).body.toString()) as Record<string, string>;
    const literal = JSON.parse((await kong.request({ path: '/tokens/json' })).body.toString()) as Record<string, string>;
    expect(literal.email).not.toContain('jane.doe');
    expect(fromVault.email).toBe(literal.email); // same key, so the same token
    expect(kong.errors).toEqual([]);
  });

  it('tokens are deterministic across responses; partial keeps the last 4', async () => {
    const a = JSON.parse((await kong.request({ path: '/tokens/json' })).body.toString()) as Record<string, string>;
    const b = JSON.parse((await kong.request({ path: '/tokens/json' })).body.toString()) as Record<string, string>;
    expect(a.email).toMatch(/^tok_email_[a-z2-7]{16}$/);
    expect(b.email).toBe(a.email);
    expect(a.card).toBe('**** **** **** 1111');
  });

  it('leaves a response without PII untouched byte for byte, with no write at all', async () => {
    const response = await kong.request({ path: '/default/clean' });
    expect(response.body.toString()).toBe(CLEAN_BODY);
    expect(response.source).toBe('service');
    // access: get_headers + get_raw_query; response: get_headers + get_raw_body
    expect(response.context.pdkCalls).toBe(4);
  });

  it('masks XML attributes and text, and blocks XML with a DTD', async () => {
    const xml = await kong.request({ path: '/default/xml' });
    expect(xml.body.toString()).toBe(XML_BODY.replace('jane@example.com', '[EMAIL]').replace('219-45-6789', '[SSN]'));
    const dtd = await kong.request({ path: '/default/dtd' });
    expect(dtd.status).toBe(502);
    expect(dtd.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(dtd.body.toString())).toMatchObject({ status: 502, reason: 'dtd' });
  });

  it('masks text bodies', async () => {
    const response = await kong.request({ path: '/default/text' });
    expect(response.body.toString()).toBe('Call [PHONE] or write to [EMAIL].\n');
  });

  it('decodes gzip and brotli, masks, and re-encodes with a correct Content-Length', async () => {
    for (const coding of ['gzip', 'br']) {
      const response = await kong.request({ path: `/default/${coding}` });
      expect(response.headers.get('content-encoding')).toBe(coding);
      expect(response.headers.get('content-length')).toBe(String(response.body.length));
      const plain = coding === 'gzip' ? zlib.gunzipSync(response.body) : zlib.brotliDecompressSync(response.body);
      expect(plain.toString()).toContain('"email": "[EMAIL]"');
      expect(plain.toString()).toContain('12345678901234567890');
    }
  });

  it('can drop Content-Encoding and serve the masked body decoded', async () => {
    const response = await kong.request({ path: '/identity/gzip' });
    expect(response.headers.get('content-encoding')).toBeUndefined();
    expect(response.headers.get('content-length')).toBe(String(response.body.length));
    expect(response.body.toString()).toContain('"email": "[EMAIL]"');
  });

  it('block mode replaces the response with problem+json naming the type, never the value', async () => {
    const response = await kong.request({ path: '/block/json' });
    expect(response.status).toBe(451);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = JSON.parse(response.body.toString()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 451, reason: 'pii', types: ['card'], title: 'Response blocked' });
    expect(response.body.toString()).not.toContain('4111');
    const gz = await kong.request({ path: '/block/gzip' });
    expect(gz.status).toBe(451);
    expect(gz.headers.get('content-encoding')).toBeUndefined();
  });

  it('binary media pass by the default list; unknown media types are blocked unless the operator passes them', async () => {
    const png = await kong.request({ path: '/default/png' });
    expect(png.body.equals(PNG_BODY)).toBe(true);
    const octet = await kong.request({ path: '/default/octet' });
    expect(octet.status).toBe(502);
    expect(JSON.parse(octet.body.toString())).toMatchObject({ code: 'response-unscannable', reason: 'media_type' });
    expect(octet.body.toString()).not.toContain('jane');
    expect((await kong.request({ path: '/pdf-ok/octet' })).body.toString()).toBe('jane@example.com');
    expect((await kong.request({ path: '/open/octet' })).body.toString()).toBe('jane@example.com');
  });

  it('fails closed on what it cannot read: zstd, gzip twice, truncated gzip (problem+json, no body byte leaks)', async () => {
    for (const [route, reason] of [['zstd', 'encoding'], ['double-gzip', 'encoding'], ['truncated', 'corrupt']]) {
      const response = await kong.request({ path: `/default/${route}` });
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('content-encoding')).toBeUndefined();
      expect(JSON.parse(response.body.toString())).toMatchObject({ code: 'response-unscannable', reason });
    }
    const open = await kong.request({ path: '/open/zstd' });
    expect(open.status).toBe(200);
  });

  it('scans text-like bodies outside the parsers: ndjson, SSE, form-urlencoded, no Content-Type; decodes UTF-16', async () => {
    for (const route of ['ndjson', 'sse', 'form', 'untyped']) {
      const response = await kong.request({ path: `/default/${route}` });
      expect(response.status).toBe(200);
      expect(response.body.toString()).toContain('[EMAIL]');
      expect(response.body.toString()).not.toContain('jane@example.com');
    }
    const utf16 = await kong.request({ path: '/default/utf16' });
    expect(utf16.body.toString('utf16le')).toBe('{"email":"[EMAIL]"}');
  });

  it('masks response headers the client receives (Location, X-User-Email, Link mailto:)', async () => {
    const response = await kong.request({ path: '/default/headers' });
    expect(response.body.toString()).toBe(CLEAN_BODY);
    expect(response.headers.get('location')).toBe('/users/[EMAIL]');
    expect(response.headers.get('x-user-email')).toBe('[EMAIL]');
    expect(response.headers.get('link')).toBe('<mailto:[EMAIL]>; rel="author"');
    // access 2 reads; response: get_headers, get_raw_body, one set_headers
    expect(response.context.pdkCalls).toBe(5);
  });

  it('strips Range and narrows Accept-Encoding upstream', async () => {
    const response = await kong.request({ path: '/default/range', headers: { Range: 'bytes=0-20', 'Accept-Encoding': 'gzip, deflate, br, zstd' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-saw-range')).toBe('none');
    expect(response.headers.get('x-saw-accept-encoding')).toBe('gzip, deflate, br');
  });

  it('PDK calls per request, counted on the wire (issue target: at most 6 masked, 4 clean)', async () => {
    const pii = (trace: string[]) => trace.filter((call) => !call.startsWith('rewrite:')); // rewrite: the stand-in only
    const measured: Record<string, string[]> = {};
    for (const [name, path] of [
      ['masked JSON', '/default/json'],
      ['clean JSON', '/default/clean'],
      ['not scanned (image/png)', '/default/png'],
      ['blocked unreadable, not read (zstd)', '/default/zstd'],
      ['blocked unreadable, read (truncated gzip)', '/default/truncated'],
    ]) {
      measured[name] = (await kong.request({ path })).context.pdkTrace;
    }
    for (const [name, path] of [
      ['guard, masked JSON', '/guarded/json'],
      ['guard, clean JSON', '/guarded/clean'],
    ]) {
      // the stand-in's 3 calls (access: get_headers, get_path_with_query, ctx.shared.set) are in-process Lua in Kong
      const trace = (await kong.request({ path })).context.pdkTrace;
      measured[name] = trace.slice(3);
      expect(trace.slice(0, 3)).toEqual(['access:kong.request.get_headers', 'access:kong.request.get_path_with_query', 'access:kong.ctx.shared.set']);
    }
    const access = ['access:kong.request.get_headers', 'access:kong.request.get_raw_query'];
    const reads = ['response:kong.response.get_headers', 'response:kong.service.response.get_raw_body'];
    expect(Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, pii(v)]))).toEqual({
      'masked JSON': [...access, ...reads, 'response:kong.response.get_status', 'response:kong.response.exit'],
      'clean JSON': [...access, ...reads],
      'not scanned (image/png)': [...access, 'response:kong.response.get_headers'],
      'blocked unreadable, not read (zstd)': [...access, 'response:kong.response.get_headers', 'response:kong.response.clear_header', 'response:kong.response.exit'],
      'blocked unreadable, read (truncated gzip)': [...access, ...reads, 'response:kong.response.clear_header', 'response:kong.response.exit'],
      'guard, masked JSON': ['response:kong.ctx.shared.get', ...reads, 'response:kong.ctx.shared.set'],
      'guard, clean JSON': ['response:kong.ctx.shared.get', ...reads, 'response:kong.ctx.shared.set'],
    });
  });

  it('guard mode: 4 PDK calls for a masked or a clean response; the result, applied by the Lua guard, is what the client gets', async () => {
    for (const [route, expected] of [
      ['json', JSON_BODY.replace('jane.doe@example.com', '[EMAIL]').replace('"ssn": "219456789"', '"ssn": "[SSN]"').replace('4111 1111 1111 1111', '[CARD]')],
      ['clean', CLEAN_BODY],
    ]) {
      const response = await kong.request({ path: `/guarded/${route}?access_token=abc123` });
      const pii = response.context.pdkCalls - 3; // the stand-in's 3 calls (get_headers, get_path_with_query, ctx.shared.set) are in-process Lua in Kong
      expect(pii).toBe(4);
      const result = response.context.sharedCtx.get('pii_masking') as Record<string, unknown>;
      expect(result).toMatchObject({ ok: true, uri: '/guarded/' + route + '?access_token=%5BREDACTED%5D' });
      const client = runGuard({
        var: { scheme: 'http', host: 'localhost', server_port: '8000', upstream_uri: `/${route}?access_token=abc123` },
        status: response.status,
        response_headers: Object.fromEntries(response.headers.rawEntries()),
        shared: { pii_masking: result },
        chunks: [response.body.toString('latin1')],
        phases: { header_filter: true, body_filter: true },
      });
      expect(client.status).toBe(200);
      expect(client.body).toBe(expected);
      expect([client.headers['content-length']].flat()[0]).toBe(String(Buffer.byteLength(expected)));
      expect(JSON.stringify(client.serialize)).not.toContain('abc123');
    }
  });

  it('max body size: pass, block (413-free problem), or scan as text', async () => {
    expect((await kong.request({ path: '/default/big' })).status).toBe(200);
    const pass = await kong.request({ path: '/size-pass/big' });
    expect(pass.body.toString()).toContain('"a@b.com"');
    const blocked = await kong.request({ path: '/size-block/big' });
    expect(blocked.status).toBe(502);
    expect(JSON.parse(blocked.body.toString())).toMatchObject({ reason: 'size' });
    const text = await kong.request({ path: '/size-text/big' });
    expect(text.body.toString()).toContain('"[EMAIL]"');
  });

  it('with custom detectors every body from 1 KB is masked in the worker pool, within time_budget_ms (off the event loop)', async () => {
    // 16 KB of "a" under `a*b|a` takes tens of ms: inline it would be masked (no budget applies there), in the pool
    // the 10 ms budget blocks it; below 1 KB the body is still masked inline
    const slow = await kong.request({ path: '/custom-slow/a-run-16k' });
    expect(slow.status).toBe(502);
    expect(JSON.parse(slow.body.toString())).toMatchObject({ reason: 'time_budget' });
    const small = await kong.request({ path: '/custom-slow/a-run-512' });
    expect(small.status).toBe(200);
    expect(small.body.toString()).not.toContain('aaaa');
  });

  it("masks headers and query parameters for Kong's log serializer", async () => {
    const response = await kong.request({
      path: '/default/cookie?access_token=abc123&page=2&contact=jane%40example.com',
      headers: { Authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', Cookie: 'sid=xyz', 'X-Request-Id': '42' },
    });
    expect(response.status).toBe(200);
    const record = serialize(response.context) as { request: Record<string, any>; response: Record<string, any>; upstream_uri?: string };
    expect(record.request.headers.authorization).toBe('Bearer [REDACTED]');
    expect(record.request.headers.cookie).toBe('sid=[REDACTED]');
    expect(record.request.headers['x-request-id']).toBe('42');
    expect(record.request.querystring).toEqual({ access_token: '[REDACTED]', page: '2', contact: '[EMAIL]' });
    expect(record.request.uri).toBe('/default/cookie?access_token=%5BREDACTED%5D&page=2&contact=%5BEMAIL%5D');
    expect(record.request.url).toContain('?access_token=%5BREDACTED%5D');
    expect(record.upstream_uri).toBeUndefined();
    expect(record.response.headers['set-cookie']).toBe('session=[REDACTED]; Path=/; HttpOnly');
    const serialized = JSON.stringify(record);
    for (const secret of ['abc123', 'xyz', 's3cr3t', 'jane@example.com', 'c2lnbmF0dXJl']) expect(serialized).not.toContain(secret);
  });

  it('plugin-server log lines never contain masked values', async () => {
    await kong.request({ path: '/block/json' });
    const stderr = await kong.servers[0].waitForStderr('response blocked');
    expect(stderr).toContain('response blocked');
    for (const value of ['4111', 'jane.doe@example.com', '219456789']) expect(stderr).not.toContain(value);
  });
  it('the emulator runs the shipped guard Lua where pre-function holds it: masked, clean and binary bodies reach the client as in Kong', async () => {
    const masked = await kong.request({ path: '/lua-guarded/json?access_token=abc123', headers: { Range: 'bytes=0-9', 'Accept-Encoding': 'zstd, gzip' } });
    const expected = JSON_BODY.replace('jane.doe@example.com', '[EMAIL]').replace('"ssn": "219456789"', '"ssn": "[SSN]"').replace('4111 1111 1111 1111', '[CARD]');
    expect([masked.status, kong.errors]).toEqual([200, []]);
    expect(masked.body.toString()).toBe(expected);
    expect(masked.headers.get('content-length')).toBe(String(Buffer.byteLength(expected)));
    // pii-masking's own calls only: the guard is Lua in Kong (no RPC)
    expect(masked.context.pdkTrace).toEqual(['response:kong.ctx.shared.get', 'response:kong.response.get_headers', 'response:kong.service.response.get_raw_body', 'response:kong.ctx.shared.set']);
    expect(JSON.stringify(serialize(masked.context))).not.toContain('abc123');
    const clean = await kong.request({ path: '/lua-guarded/clean' });
    expect(clean.body.toString()).toBe(CLEAN_BODY);
    const gz = await kong.request({ path: '/lua-guarded/gzip' });
    expect(zlib.gunzipSync(gz.body).toString()).toContain('"email": "[EMAIL]"');
    const png = await kong.request({ path: '/lua-guarded/png' });
    expect(png.body.equals(PNG_BODY)).toBe(true);
    expect(kong.errors).toEqual([]);
  });

  it('guard mode: a killed plugin server leaves the response unmasked in Kong (it continues), and the guard answers 502 instead', async () => {
    const server = kong.servers[0];
    server.kill();
    const response = await kong.request({ path: '/guarded/json' });
    // what Kong does on its own: the upstream body goes out unmasked
    expect(response.body.toString()).toContain('jane.doe@example.com');
    expect(response.context.sharedCtx.get('pii_masking')).toBeUndefined();
    const client = runGuard({
      var: { scheme: 'http', host: 'localhost', server_port: '8000', upstream_uri: '/json' },
      status: response.status,
      source: response.source,
      response_headers: Object.fromEntries(response.headers.rawEntries()),
      shared: Object.fromEntries(response.context.sharedCtx),
      chunks: [response.body.toString('latin1')],
      phases: { header_filter: true, body_filter: true },
    });
    expect(client.status).toBe(502);
    expect(client.body).not.toContain('jane');
    expect(client.body).not.toContain('4111');
    expect(JSON.parse(client.body!)).toMatchObject({ reason: 'plugin_unavailable' });
    // the same through the emulator, which runs the shipped guard where kong.yml-style pre-function holds it
    const guarded = await kong.request({ path: '/lua-guarded/json' });
    expect(guarded.status).toBe(502);
    expect(guarded.headers.get('content-type')).toBe('application/problem+json');
    expect(guarded.body.toString()).not.toContain('jane');
    expect(JSON.parse(guarded.body.toString())).toMatchObject({ code: 'response-unscannable', reason: 'plugin_unavailable' });
    expect(guarded.headers.get('content-length')).toBe(String(guarded.body.length));
  });
});
