import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';

/**
 * request-guard end to end: the emulator (Kong 3.9 semantics: normalized get_path, get_raw_body over 8 KiB only with
 * max_allowed_file_size) driving our plugin server and kong-pdk's stock one, with a split multi-file OpenAPI 3.1
 * document, an inline 3.0 document, an inline JSON Schema and a log-only route, in front of a real echo upstream.
 */
const ORDERS = path.join(__dirname, '../fixtures/request-guard/openapi/split/orders.yaml');

const INLINE_30 = `
openapi: 3.0.3
info: { title: inline, version: 1.0.0 }
paths:
  /items:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: { type: string, nullable: true }
                price: { type: number, minimum: 0, exclusiveMinimum: true }
      responses: { '201': { description: created } }
`;

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function pluginsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'request-guard-plugins-'));
  tempDirs.push(dir);
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'request-guard'), path.join(dir, 'request-guard'));
  return dir;
}

function config(upstreamUrl: string): Record<string, unknown> {
  const route = (name: string, prefix: string, pluginConfig: Record<string, unknown>) => ({
    name,
    paths: [prefix],
    strip_path: true,
    plugins: [{ name: 'request-guard', config: pluginConfig }],
  });
  return {
    _format_version: '3.0',
    services: [
      {
        name: 'upstream',
        url: upstreamUrl,
        routes: [
          route('orders', '/guarded', { openapi_file: ORDERS, base_path: '/guarded/shop', free_text: ['body/snippet'], limits: { max_body_bytes: 65536 } }),
          route('inline', '/inline', { openapi_spec: INLINE_30, base_path: '/inline', error_detail: 'debug' }),
          route('schema', '/schema', { json_schema: JSON.stringify({ type: 'object', required: ['q'], properties: { q: { type: 'string', maxLength: 20 } } }), limits: { max_body_bytes: 4096 } }),
          route('log-only', '/log-only', { injection: { sql: 'log', xss: 'log' } }),
          route('passthrough', '/pass', { openapi_file: ORDERS, base_path: '/pass/shop', unknown_operation: 'pass' }),
        ],
      },
    ],
  };
}

function problem(body: Buffer): Record<string, any> {
  return JSON.parse(body.toString('utf8')) as Record<string, any>;
}

const ORDER = { customer: { name: "Siobhán O'Brien", email: 'siobhan@example.com' }, items: [{ sku: 'ABC-1234', quantity: 2, price: 9.5 }], note: 'Please select the blue one; or drop it at the door.' };

describe.each(SERVER_KINDS)('request-guard through the %s plugin server', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;

  beforeAll(async () => {
    upstream = await startUpstream();
    kong = await startKong({ kind, pluginsDir: pluginsDir(), config: config(upstream.url) });
  });
  afterAll(async () => {
    await kong?.close();
    await upstream?.close();
  });

  const post = (p: string, body: string | Buffer, contentType = 'application/json') => kong.request({ method: 'POST', path: p, headers: { 'Content-Type': contentType }, body });

  it('passes a valid request untouched, in 4 PDK calls without a body and 5 with one', async () => {
    const get = await kong.request({ path: '/guarded/shop/orders?status=open&limit=5&ids=1,2&filter[min_total]=10', headers: { Cookie: 'session=abcdefgh1' } });
    expect(get.status).toBe(200);
    expect(get.source).toBe('service');
    expect(get.context.pdkCalls).toBe(4); // get_method, get_path, get_raw_query, get_headers
    const created = await post('/guarded/shop/orders', JSON.stringify(ORDER));
    expect(created.status).toBe(200);
    expect(JSON.parse(upstream.requests[upstream.requests.length - 1].body.toString())).toEqual(ORDER);
    expect(created.context.pdkCalls).toBe(5); // + get_raw_body(max_body_bytes)
    expect(kong.errors).toEqual([]);
  });

  it('lists every violation with its location as problem+json (production detail: no schema internals)', async () => {
    const bad = { id: 7, customer: { name: 'x', email: 'not-an-email' }, items: [ORDER.items[0], ORDER.items[0], ORDER.items[0], { sku: 'bad', quantity: 0, price: 0 }] };
    const res = await post('/guarded/shop/orders', JSON.stringify(bad));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = problem(res.body);
    expect(body).toMatchObject({ code: 'request-validation-failed', status: 400, operation: 'createOrder' });
    expect(body.errors.map((e: { location: string }) => e.location).sort()).toEqual(['body/customer/email', 'body/id', 'body/items/3/price', 'body/items/3/quantity', 'body/items/3/sku']);
    expect(res.body.toString()).not.toContain('^[A-Z]{3}'); // the pattern stays private
    expect(res.body.toString()).not.toContain('schema_path');
    expect(res.context.pdkCalls).toBe(6); // 5 reads + exit
    expect(upstream.requests.some((r) => r.url === '/orders' && r.body.toString().includes('not-an-email'))).toBe(false);
  });

  it('validates path, query (form explode false, deepObject), header and cookie parameters', async () => {
    const res = await kong.request({ path: '/guarded/shop/orders?status=lost&ids=1,x&filter[zzz]=1&extra=1', headers: { 'X-Request-Id': 'nope', Cookie: 'session=short' } });
    expect(res.status).toBe(400);
    expect(problem(res.body).errors.map((e: { location: string }) => e.location).sort()).toEqual(['cookie/session', 'header/x-request-id', 'query/extra', 'query/filter/zzz', 'query/ids/1', 'query/status']);
    const path400 = await kong.request({ path: '/guarded/shop/orders/0' });
    expect(problem(path400.body).errors).toEqual([{ location: 'path/orderId', message: 'must be >= 1' }]);
    expect((await kong.request({ path: '/guarded/shop/files/report-2026.pdf' })).status).toBe(200);
    expect((await kong.request({ path: '/guarded/shop/files/report.doc' })).status).toBe(400);
  });

  it('unknown operations: 404, 405 with Allow, or passed when configured', async () => {
    const missing = await kong.request({ path: '/guarded/shop/nothing' });
    expect(missing.status).toBe(404);
    expect(problem(missing.body)).toMatchObject({ code: 'operation-not-found', method: 'GET', path: '/guarded/shop/nothing' });
    const method = await kong.request({ method: 'DELETE', path: '/guarded/shop/orders/3' });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET, PUT');
    expect((await kong.request({ path: '/pass/shop/nothing' })).status).toBe(200);
  });

  it('matches the path Kong routed (normalized get_path), so dot segments cannot dodge the contract', async () => {
    const res = await kong.request({ path: '/guarded/shop/files/../orders/0' });
    expect(res.status).toBe(400);
    expect(problem(res.body).errors[0].location).toBe('path/orderId');
  });

  it('content type: 415 for an undeclared one, multipart refused explicitly, urlencoded validated', async () => {
    const text = await post('/guarded/shop/orders', 'hello', 'text/plain');
    expect(text.status).toBe(415);
    expect(problem(text.body).supported).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect((await post('/guarded/shop/orders', '--b\r\n\r\n--b--', 'multipart/form-data; boundary=b')).status).toBe(415);
    expect((await post('/guarded/shop/orders', 'customer_name=Bob&sku=ABC-1234&quantity=2', 'application/x-www-form-urlencoded')).status).toBe(200);
    const form = await post('/guarded/shop/orders', 'customer_name=Bob&quantity=zero', 'application/x-www-form-urlencoded');
    expect(problem(form.body).errors.map((e: { location: string }) => e.location)).toEqual(['body/sku', 'body/quantity']);
    const missing = await kong.request({ method: 'POST', path: '/guarded/shop/orders' });
    expect(problem(missing.body).errors).toEqual([{ location: 'body', message: 'is required' }]);
  });

  it('reads bodies over Kong 3.9\'s 8 KiB buffer (getRawBody with max_allowed_file_size) and refuses oversize ones before reading', async () => {
    const big = { ...ORDER, items: Array.from({ length: 50 }, () => ({ sku: 'ABC-1234', quantity: 1, price: 1.25, })), note: 'n'.repeat(400) };
    const body = JSON.stringify({ ...big, customer: { ...big.customer, name: 'x'.repeat(190) } }) + ' '.repeat(9000);
    expect(Buffer.byteLength(body)).toBeGreaterThan(8192);
    const res = await post('/guarded/shop/orders', body);
    expect(res.status).toBe(200);
    expect(kong.errors).toEqual([]);
    const huge = await kong.request({ method: 'POST', path: '/guarded/shop/orders', headers: { 'Content-Type': 'application/json', 'Content-Length': '70000' }, body: 'x'.repeat(70000) });
    expect(huge.status).toBe(413);
    expect(huge.context.pdkCalls).toBe(5); // 4 reads + exit: Content-Length was enough, the body is never read
    // No Content-Length (HTTP/2 may omit it): the body is read with the limit. Verified in Kong 3.9.3's Lua:
    // get_raw_body(max) returns nil, "request body file too big" for a temp file over max (pdk/request.lua), and
    // mp_rpc.lua's fix_raw cannot pack nil as bin, so Kong answers 500: still refused, not with 413
    const unknown = await post('/guarded/shop/orders', 'x'.repeat(70000));
    expect(unknown.status).toBe(500);
    expect(upstream.requests.some((r) => r.body.length === 70000)).toBe(false);
    // under the 8 KiB buffer Kong returns the body whatever max says: the guard applies the limit itself
    const small = await kong.request({ method: 'POST', path: '/schema/x', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ q: 'x'.repeat(5000) }) });
    expect(small.status).toBe(413);
    expect(problem(small.body).code).toBe('request-too-large');
  });

  it('blocks injection on decoded values with the category and location, never the value; free text and prose pass', async () => {
    const sqli = await kong.request({ path: `/guarded/shop/orders?status=open&limit=1%2520or%25201%253D1` });
    expect(sqli.status).toBe(400); // limit must be an integer: validation answers first
    const note = await post('/guarded/shop/orders/7/notes', JSON.stringify({ text: "x'; DROP TABLE orders; --" }));
    expect(note.status).toBe(403);
    expect(problem(note.body)).toMatchObject({ code: 'injection-detected', violations: [{ category: 'sql', location: 'body/text' }] });
    expect(note.body.toString()).not.toContain('DROP');
    const nosql = await post('/guarded/shop/orders/7/notes', JSON.stringify({ text: 'hi', filter: { $where: 'sleep(100)' } }));
    expect(problem(nosql.body).violations).toContainEqual({ category: 'nosql', location: 'body/filter/$where' });
    const free = await post('/guarded/shop/orders/7/notes', JSON.stringify({ text: 'Use a join, then select the rows you need.', snippet: "SELECT * FROM users WHERE name = '' OR 1=1; -- <script>alert(1)</script>" }));
    expect(free.status).toBe(200);
    const crlf = await kong.request({ path: '/log-only/x?next=%0d%0aSet-Cookie:%20a=b' });
    expect(crlf.status).toBe(403);
    expect(problem(crlf.body).violations).toEqual([{ category: 'crlf', location: 'query/next' }]);
    const traversal = await kong.request({ path: '/log-only/download?file=..%252f..%252fetc%252fpasswd' });
    expect(problem(traversal.body).violations).toContainEqual({ category: 'path_traversal', location: 'query/file' });
  });

  it('log-only categories let the request through', async () => {
    const res = await kong.request({ path: "/log-only/search?q=%27%20OR%20%271%27%3D%271&t=%3Cscript%3Ealert(1)%3C/script%3E" });
    expect(res.status).toBe(200);
    expect(res.source).toBe('service');
  });

  it('enforces JSON limits before parsing', async () => {
    const deep = await post('/log-only/x', '['.repeat(40) + ']'.repeat(40));
    expect(deep.status).toBe(400);
    expect(problem(deep.body)).toMatchObject({ code: 'request-limit-exceeded', limit: 'max_json_depth', max: 32 });
    const wide = await post('/log-only/x', JSON.stringify(Array.from({ length: 10001 }, () => 1)));
    expect(problem(wide.body)).toMatchObject({ limit: 'max_array_length' });
  });

  it('sees a Content-Type sent after 150 other header lines (Kong\'s get_headers() default, 100 lines, drops it) and refuses 1000 lines or more', async () => {
    const filler = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-Filler-${i}`, 'x']));
    const late = await kong.request({ method: 'POST', path: '/schema/x', headers: { ...filler(150), 'Content-Type': 'application/json' }, body: '{"r": 1}' });
    expect([late.status, problem(late.body).code]).toEqual([400, 'request-validation-failed']);
    const flood = await kong.request({ method: 'POST', path: '/schema/x', headers: { ...filler(1000), 'Content-Type': 'application/json' }, body: '{"q": "ok"}' });
    expect([flood.status, problem(flood.body)]).toEqual([400, expect.objectContaining({ code: 'request-limit-exceeded', limit: 'max_header_lines', max: 1000, location: 'headers' })]);
    expect(upstream.requests.some((r) => r.headers['x-filler-999'] !== undefined)).toBe(false);
  });

  it('converts OpenAPI 3.0 schemas (nullable, boolean exclusiveMinimum) and shows schema internals only in debug detail', async () => {
    expect((await post('/inline/items', JSON.stringify({ name: null, price: 1 }))).status).toBe(200);
    const res = await post('/inline/items', JSON.stringify({ name: 'a', price: 0 }));
    expect(res.status).toBe(400);
    expect(problem(res.body).errors).toEqual([{ location: 'body/price', message: 'must be > 0', keyword: 'exclusiveMinimum', schema_path: expect.stringContaining('exclusiveMinimum'), params: { comparison: '>', limit: 0 } }]);
  });

  it('validates JSON bodies against an inline JSON Schema', async () => {
    expect((await post('/schema/anything', JSON.stringify({ q: 'ok' }))).status).toBe(200);
    const res = await post('/schema/anything', JSON.stringify({ q: 'x'.repeat(21) }));
    expect(problem(res.body).errors).toEqual([{ location: 'body/q', message: 'must NOT have more than 20 characters' }]);
  });
});

describe('request-guard config refused at start (naming the field)', () => {
  it('a remote $ref, a missing file and two sources are refused by checkConfig', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const plugin = require(path.join(BUILT_PLUGINS, 'request-guard')) as { checkConfig(c: unknown): string[]; Schema: unknown };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { fillDefaults } = require('../../devkit/emulator/kong-schema') as typeof import('../../devkit/emulator/kong-schema');
    const check = (c: Record<string, unknown>) => plugin.checkConfig(fillDefaults(plugin.Schema as never, c));
    const remote = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[{"$ref":"https://example.com/p.json"}]}}}}`;
    expect(check({ openapi_spec: remote }).join()).toMatch(/openapi_spec: .*not a local file/);
    expect(check({ openapi_file: '/nonexistent/openapi.yaml' }).join()).toMatch(/openapi_file: file .* does not exist/);
    expect(check({ openapi_file: ORDERS, json_schema: '{}' }).join()).toMatch(/json_schema: only one of/);
    expect(check({ openapi_file: ORDERS })).toEqual([]);
  });
});
