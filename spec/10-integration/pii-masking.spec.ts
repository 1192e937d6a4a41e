import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { serialize } from '../../devkit/emulator/pdk';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';

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
};

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function pluginsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-plugins-'));
  tempDirs.push(dir);
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'pii-masking'), path.join(dir, 'pii-masking'));
  return dir;
}

function config(upstreamUrl: string): Record<string, unknown> {
  const route = (name: string, prefix: string, pluginConfig: Record<string, unknown>) => ({
    name,
    paths: [prefix],
    strip_path: true,
    plugins: [{ name: 'pii-masking', config: { token_key: 'integration-test-key-0123456789', ...pluginConfig } }],
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
          route('size-pass', '/size-pass', { max_body_size: 1024 }),
          route('identity', '/identity', { compressed_output: 'identity' }),
          route('json-only', '/json-only', { content_types: ['application/json'] }),
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
      response.writeHead(200, { 'Content-Type': route.type, 'Content-Length': String(route.body.length), ...route.extra });
      response.end(route.body);
    });
    kong = await startKong({ kind, pluginsDir: pluginsDir(), config: config(upstream.url) });
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
    // access: get_headers + get_raw_query; response: service get_headers + get_raw_body, response get_status + exit
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

  it('content-type allow-list: disallowed types pass untouched', async () => {
    const png = await kong.request({ path: '/default/png' });
    expect(png.body.equals(PNG_BODY)).toBe(true);
    const xml = await kong.request({ path: '/json-only/xml' });
    expect(xml.body.toString()).toBe(XML_BODY);
  });

  it('max body size: pass, block (413-free problem), or scan as text', async () => {
    const pass = await kong.request({ path: '/size-pass/big' });
    expect(pass.body.toString()).toContain('"a@b.com"');
    const blocked = await kong.request({ path: '/size-block/big' });
    expect(blocked.status).toBe(502);
    expect(JSON.parse(blocked.body.toString())).toMatchObject({ reason: 'size' });
    const text = await kong.request({ path: '/size-text/big' });
    expect(text.body.toString()).toContain('"[EMAIL]"');
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
});
