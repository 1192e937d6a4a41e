import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Decoder, encode } from '@msgpack/msgpack';
import { KongEmulator } from '../../devkit/emulator/kong';
import { PluginServerProcess, serverDefinition, type ServerKind } from '../../devkit/emulator/plugin-server-process';
import { SERVER_KINDS, startUpstream, type TestUpstream } from '../helpers/kong-harness';

/**
 * The "Kong 3.9 behaviours" of ../shared/kong-plugin-server.md, each read in Kong's Lua at tag 3.9.3 (file and
 * function in the test's comment) and checked from the plugin's side under both plugin servers.
 */
const PLUGINS = path.join(__dirname, '..', 'fixtures', 'kong39-plugins');
const json = (body: Buffer) => JSON.parse(body.toString());

/** An upstream that echoes the request and, like a proxy in front of it, sends its own Via. */
function echoWithVia(): Promise<TestUpstream> {
  return startUpstream((request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'echo', Via: '1.0 upstream-proxy' });
    response.end(JSON.stringify({ url: request.url, method: request.method, headers: request.headers }));
  });
}

describe.each(SERVER_KINDS)('Kong 3.9.3 facts under the %s server', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;
  const fact = (name: string, extra: Record<string, string> = {}) => ({ 'x-fact': name, ...extra });

  beforeAll(async () => {
    upstream = await echoWithVia();
    kong = new KongEmulator();
    await kong.addServer({ kind, pluginsDir: PLUGINS });
    kong.configure({
      _format_version: '3.0',
      plugins: [{ name: 'k39' }],
      services: [
        {
          name: 'svc',
          url: upstream.url,
          routes: [
            { name: 'access', paths: ['/access'] },
            { name: 'kept', paths: ['/kept'], strip_path: false },
            { name: 'setter', paths: ['/setter'], plugins: [{ name: 'k39-setter' }] },
            { name: 'buffered', paths: ['/buffered'], plugins: [{ name: 'k39-response' }, { name: 'k39-log' }, { name: 'k39-log-slow' }] },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await kong.close();
    await upstream.close();
  });

  // pdk/service/response.lua get_headers -> attach_buffered_headers_mt returns an empty table with an __index hook;
  // mp_rpc.lua fix_mmap iterates it with pairs() and finds nothing. Kong's bug (Kong/kong#13827), reproduced.
  it('fact 1: kong.service.response.get_headers() is {} under buffered proxying (Kong bug #13827); get_header and kong.response.get_headers work', async () => {
    const res = await kong.request({ path: '/buffered', headers: fact('report') });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get('x-report')!)).toEqual({ serviceHeaderKeys: 0, serviceHeader: 'echo', responseHeader: ['echo'] });
  });

  // pdk/request.lua get_path_with_query (ngx.var.request_uri), get_raw_path, get_path (tools/uri.lua normalize with
  // merge_slashes); router/utils.lua strip_uri_args normalizes before matching; runloop/handler.lua escapes upstream_uri.
  it('fact 4: get_path_with_query is the raw request_uri, get_path and the router use uri.lua normalize, the upstream gets it escaped', async () => {
    const raw = '/acc%65ss/a/%2e%2e/b//c/%7Euser/%2fx%3Fy/%20s';
    const res = await kong.request({ path: `${raw}?q=%41`, headers: fact('paths') });
    expect(json(res.body)).toEqual({ path: '/access/b/c/~user/%2Fx%3Fy/ s', raw, withQuery: `${raw}?q=%41` });
    await kong.request({ path: `${raw}?q=%41` });
    expect(upstream.requests.at(-1)!.url).toBe('/b/c/~user/%2Fx%3Fy/%20s?q=%41');
  });

  // pdk/request.lua get_raw_body: a body nginx wrote to a file (over client_body_buffer_size, 8k) is nil, err
  // without max_allowed_file_size; mp_rpc.lua fix_raw then packs nil as bin, a Lua error: 500.
  it('fact 5: get_raw_body() over 8 KiB fails the handler with 500; with max_allowed_file_size it reads the body', async () => {
    const at = Buffer.alloc(8 * 1024, 'a');
    const over = Buffer.alloc(8 * 1024 + 1, 'a');
    expect(json((await kong.request({ method: 'POST', path: '/access', headers: fact('raw-body'), body: at })).body)).toEqual({ length: at.length });
    const failed = await kong.request({ method: 'POST', path: '/access', headers: fact('raw-body'), body: over });
    expect(failed.status).toBe(500);
    expect(kong.errors.at(-1)).toMatch(/kong.request.get_raw_body: .*bin of nil/);
    expect(json((await kong.request({ method: 'POST', path: '/access', headers: fact('raw-body-max'), body: over })).body)).toEqual({ length: over.length });
  });

  // mp_rpc.lua call_pdk_method: method(unpack(args)); the Lua array's border ends before the nil.
  it('fact 6: a nil argument ends the argument list: exit(403, nil, headers) loses the headers, exit(403, "", headers) keeps them', async () => {
    const lost = await kong.request({ path: '/access', headers: fact('nil-body-exit') });
    expect(lost.status).toBe(403);
    expect(lost.headers.get('x-lost')).toBeUndefined();
    const kept = await kong.request({ path: '/access', headers: fact('empty-body-exit') });
    expect(kept.headers.get('x-kept')).toBe('1');
  });

  // pdk/service/request.lua: set_header/clear_header -> ngx.req.set_header/clear_header, set_raw_query ->
  // ngx.req.set_uri_args, set_method -> ngx.req.set_method; set_path only writes ngx.var.upstream_uri.
  it('fact 7: kong.service.request setters change nginx\'s request for later plugins and kong.request; the path stays upstream-only', async () => {
    const res = await kong.request({ path: '/setter/x?a=1', headers: { ...fact('read-after-set'), 'x-removed': 'gone' } });
    const seen = json(res.body);
    expect(seen).toMatchObject({ header: 'v', query: 'a=2', method: 'POST', path: '/setter/x' });
    expect(seen.headers['x-added']).toEqual(['v']);
    expect(seen.headers['x-removed']).toBeUndefined();
    await kong.request({ path: '/setter/x?a=1', headers: { 'x-removed': 'gone' } });
    const sent = upstream.requests.at(-1)!;
    expect(sent).toMatchObject({ url: '/elsewhere?a=2', method: 'POST' });
    expect(sent.headers['x-added']).toBe('v');
    expect(sent.headers['x-removed']).toBeUndefined();
  });

  // pdk/response.lua error (get_http_error_message, caller "Content-Type" key), tools/http.lua get_response_type,
  // get_mime_type and get_error_template (no template: string.format of nil, a Lua error).
  it('fact 8: kong.response.error negotiates http.lua templates on Accept q-values, adds request_id, respects a caller Content-Type', async () => {
    const error = (args: unknown[], accept?: string) =>
      kong.request({ path: '/access', headers: { ...fact('error', { 'x-error': JSON.stringify(args) }), ...(accept ? { accept } : {}) } });
    const byDefault = await error([429]);
    expect(byDefault.status).toBe(429);
    expect(byDefault.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(byDefault.body.toString()).toBe(`{\n  "message":"Too many requests",\n  "request_id":"${byDefault.headers.get('x-kong-request-id')}"\n}`);
    const xml = await error([403, 'No'], 'text/html;q=0.5, application/xml;q=0.9, application/json;q=0.9');
    expect(xml.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    expect(xml.body.toString()).toContain('<message>No</message>');
    expect((await error([403], 'text/*')).body.toString()).toMatch(/^Forbidden\nrequest_id: [0-9a-f]{32}\n$/);
    expect((await error([403], 'image/png, text/html')).headers.get('content-type')).toBe('application/json; charset=utf-8');
    const typed = await error([400, 'Bad', { 'Content-Type': 'text/html' }], 'application/json');
    expect(typed.headers.get('content-type')).toBe('text/html');
    expect(typed.body.toString()).toContain('<p>Bad.</p>');
    const untemplated = await error([400, 'Bad', { 'Content-Type': 'application/problem+json' }]);
    expect(untemplated.status).toBe(500);
    expect(kong.errors.at(-1)).toMatch(/bad argument #1 to 'format'/);
  });

  // init.lua: a Lua error in rewrite escapes to nginx; Kong.handle_error -> error_handlers.lua picks the type from
  // Accept, else the request Content-Type, else error_default_type (text/plain).
  it('fact 9: an uncaught Lua error answers in the type of Accept, else of the request Content-Type, else text/plain', async () => {
    const failing = (headers: Record<string, string>) => kong.request({ path: '/access', headers: { ...fact('rewrite-error'), ...headers } });
    const html = await failing({ accept: 'text/html' });
    expect(html.status).toBe(500);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.body.toString()).toContain('<p>An unexpected error occurred.</p>');
    expect(html.headers.get('x-set-before-error')).toBeUndefined();
    expect((await failing({ 'content-type': 'application/xml' })).headers.get('content-type')).toBe('application/xml; charset=utf-8');
    const plain = await failing({});
    expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(plain.body.toString()).toBe(`An unexpected error occurred\nrequest_id: ${plain.headers.get('x-kong-request-id')}\n`);
  });

  // pdk/request.lua get_headers / get_query: max_headers, max_args must be numbers in 1..1000, else error().
  it('fact 10: max_headers / max_args must be numbers 1..1000, else a Lua error (500)', async () => {
    const call = (method: string, max: unknown) => kong.request({ path: '/access?a=1', headers: fact('max-args', { 'x-max': JSON.stringify([method, max]) }) });
    expect((await call('headers', 1000)).status).toBe(200);
    expect((await call('query', 1)).status).toBe(200);
    for (const [method, max] of [['headers', 0], ['headers', '5'], ['query', 1001], ['query', 0.5]]) {
      expect((await call(method as string, max)).status).toBe(500);
    }
    expect(kong.errors.at(-1)).toMatch(/max_args must be >= 1/);
  });

  // plugin_servers/plugin.lua build_phases: serialize_data = kong.log.serialize() before native_timer_at, one timer
  // per plugin; pdk/service/response.lua reads ctx.buffered_* (in the timer's ngx.ctx copy); request.lua
  // get_start_time reads ctx.KONG_PROCESSING_START.
  it('fact 11: log handlers run in their own timers on data saved before: set_serialize_value has no effect, service.response still answers', async () => {
    kong.env.logLines.length = 0;
    await kong.request({ path: '/buffered' });
    const notices = kong.env.logLines.filter((l) => l.level === 'notice').map((l) => l.message);
    expect(notices.slice(1)).toEqual(['fast', 'slow']);
    const report = JSON.parse(notices[0]);
    expect(report).toMatchObject({ addedInLog: false, serviceStatus: 200, serviceHeader: 'echo', startTime: expect.any(Number) });
    expect(report.serviceBodyLength).toBeGreaterThan(0);
  });

  // pdk/log.lua serialize (HTTP): request.id, tls, upstream_status, tries, authenticated_entity, source,
  // workspace; authorization and proxy-authorization headers REDACTED.
  it('fact 12: kong.log.serialize has Kong\'s fields, authorization headers REDACTED', async () => {
    kong.env.logLines.length = 0;
    const res = await kong.request({ path: '/buffered', headers: { authorization: 'Bearer secret', 'proxy-authorization': 'Basic x', 'x-other': 'kept' } });
    const { serialized } = JSON.parse(kong.env.logLines.find((l) => l.level === 'notice')!.message);
    expect(serialized.request).toMatchObject({ id: res.headers.get('x-kong-request-id'), uri: '/buffered', method: 'GET' });
    expect(serialized.request.headers).toMatchObject({ authorization: 'REDACTED', 'proxy-authorization': 'REDACTED', 'x-other': 'kept' });
    expect(serialized).toMatchObject({ upstream_status: 200, source: 'upstream', workspace: expect.any(String), workspace_name: 'default' });
    expect(serialized.tries).toHaveLength(1);
  });

  // pdk/response.lua send: has_content_type / has_content_length from the exit's headers only; init.lua
  // Kong.response prints the buffered body with the headers as they stand.
  it('fact 13: exit with a table sets JSON unless the exit\'s headers type it, a string adds no type; a captured body keeps the headers\' length', async () => {
    const exit = async (name: string) => (await kong.request({ path: '/access', headers: fact(name) })).headers.get('content-type');
    expect(await exit('exit-table')).toBe('application/json; charset=utf-8');
    expect(await exit('exit-table-own-type')).toBe('text/x-mine');
    expect(await exit('exit-table-set-type')).toBe('application/json; charset=utf-8');
    expect(await exit('exit-string')).toBeUndefined();
    const captured = await kong.request({ path: '/buffered', headers: fact('captured-length') });
    expect(captured.headers.get('content-length')).toBe('3');
    expect(captured.headers.get('content-encoding')).toBe('gzip');
    expect(captured.body.length).toBeGreaterThan(3);
  });

  // pdk/private/checks.lua validate_header (ipairs elements must be strings), normalize_multi_header ("" -> " ");
  // pdk/response.lua set_header ignores Transfer-Encoding; ngx.header turns `_` into `-` in response header names.
  it('fact 14: header arrays must hold strings, "" becomes " ", Transfer-Encoding is ignored, `_` in response names becomes `-`', async () => {
    const res = await kong.request({ path: '/access', headers: fact('header-values') });
    expect(res.headers.get('x-empty')).toBe(' ');
    expect(res.headers.get('transfer-encoding')).toBeUndefined();
    expect(res.headers.get('x-under')).toBe('1');
    expect(res.headers.getAll('x-added')).toEqual(['a', 'b']);
    expect((await kong.request({ path: '/access', headers: fact('header-array-number') })).status).toBe(500);
    expect(kong.errors.at(-1)).toMatch(/invalid header value in array "x-arr": got number, expected string/);
  });

  // runloop/handler.lua header_filter.after (Via, latency headers, X-Kong-Request-Id) and access.before
  // (upstream Via, X-Forwarded-Prefix = match_t.prefix unless "/"); templates/nginx_kong.lua proxy_set_header.
  it('fact 15: Via 1.1 kong/3.9.3 appended on proxied responses, latency headers, X-Kong-Request-Id; X-Forwarded-Prefix when strip_path removed a prefix', async () => {
    const proxied = await kong.request({ path: '/access/x' });
    expect(proxied.headers.get('via')).toBe('1.0 upstream-proxy, 1.1 kong/3.9.3');
    expect(proxied.headers.get('x-kong-upstream-latency')).toMatch(/^\d+$/);
    expect(proxied.headers.get('x-kong-proxy-latency')).toMatch(/^\d+$/);
    expect(proxied.headers.get('x-kong-response-latency')).toBeUndefined();
    expect(proxied.headers.get('x-kong-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const sent = upstream.requests.at(-1)!.headers;
    expect(sent).toMatchObject({ via: '1.1 kong/3.9.3', 'x-forwarded-prefix': '/access', 'x-kong-request-id': proxied.headers.get('x-kong-request-id') });
    await kong.request({ path: '/kept/x' });
    expect(upstream.requests.at(-1)!.headers['x-forwarded-prefix']).toBeUndefined();
    const exited = await kong.request({ path: '/access', headers: fact('exit-string') });
    expect(exited.headers.get('via')).toBeUndefined();
    expect(exited.headers.get('x-kong-response-latency')).toMatch(/^\d+$/);
    expect(exited.headers.get('server')).toBe('kong/3.9.3');
  });

  // pdk/client.lua: get_ip is realip_remote_addr (the peer), get_forwarded_ip remote_addr (what the realip module set
  // from real_ip_header for a peer in trusted_ips); request.lua get_http_version is ngx.req.http_version();
  // nginx_kong.lua: proxy_set_header X-Real-IP $remote_addr; runloop/handler.lua: X-Forwarded-For is the client's
  // own plus realip_remote_addr, else remote_addr.
  it('fact 21: behind a trusted load balancer get_ip is the peer and get_forwarded_ip the client; X-Real-IP and X-Forwarded-For follow; get_http_version is the request\'s', async () => {
    const through = { clientIp: '10.0.0.5', forwardedIp: '198.51.100.20', httpVersion: 2.0 };
    expect(json((await kong.request({ path: '/access', headers: fact('addresses'), ...through })).body)).toEqual({ ip: '10.0.0.5', forwarded: '198.51.100.20', http: 2 });
    await kong.request({ path: '/access/x', ...through });
    expect(upstream.requests.at(-1)!.headers).toMatchObject({ 'x-real-ip': '198.51.100.20', 'x-forwarded-for': '198.51.100.20' });
    await kong.request({ path: '/access/x', headers: { 'X-Forwarded-For': '203.0.113.7' }, ...through });
    expect(upstream.requests.at(-1)!.headers).toMatchObject({ 'x-real-ip': '198.51.100.20', 'x-forwarded-for': '203.0.113.7, 10.0.0.5' });
  });

  // lua-nginx-module ngx_http_lua_ffi_req_get_headers_count: header lines counted in arrival order, those past
  // max_headers (100 by default, request.lua) dropped; the PDK keeps only the table, not the "truncated" flag.
  it('fact 22: get_headers() drops a header sent after 100 other lines; get_headers(1000) has it', async () => {
    const filler = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-filler-${i}`, 'x']));
    expect(json((await kong.request({ path: '/access', headers: { ...fact('late-header'), ...filler, 'x-late': '1' } })).body)).toEqual({ byDefault: false, at1000: true });
  });

  // pdk/ip.lua: with no valid trusted_ips (default NONE) is_trusted is `function() return false end`.
  it('fact 16: kong.ip.is_trusted is false for every address with the default trusted_ips', async () => {
    expect(json((await kong.request({ path: '/access', headers: fact('trusted') })).body)).toEqual({ loopback: false, other: false });
  });

  // runloop/plugin_servers/rpc/mp_rpc.lua Rpc:call: assert(data[2] == msg_id) is a Lua error, caught by the access
  // iterator like any other: 500 (not logged and skipped like an RPC error string).
  it('fact 20: a msgid mismatch is a failed assert: the phase fails with 500', async () => {
    const { proxy, close } = await msgidCorruptingProxy(kind);
    const broken = new KongEmulator();
    try {
      await broken.connectServer(proxy, ['k39']);
      broken.configure({ _format_version: '3.0', services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'k39' }] }] }] });
      const res = await broken.request({ path: '/', headers: fact('trusted') });
      expect(res.status).toBe(500);
      expect(broken.errors.at(-1)).toMatch(/unexpected RPC response ID/);
    } finally {
      await broken.close();
      await close();
    }
  });
});

/**
 * A real plugin server behind a socket proxy that answers every HandleEvent with a msgid one off, as a buggy server
 * would; everything else passes through.
 */
async function msgidCorruptingProxy(kind: ServerKind): Promise<{ proxy: string; close(): Promise<void> }> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'k39-proxy-'));
  const server = new PluginServerProcess(serverDefinition(kind, PLUGINS, prefix));
  await server.start();
  const proxy = path.join(prefix, 'proxy.sock');
  const listener = net.createServer((client) => {
    const target = net.createConnection(server.definition.socket);
    const methods: string[] = [];
    (async () => {
      for await (const request of new Decoder().decodeStream(client)) {
        methods.push((request as unknown[])[2] as string);
        target.write(encode(request));
      }
    })().catch(() => target.destroy());
    (async () => {
      for await (const response of new Decoder().decodeStream(target)) {
        const message = response as unknown[];
        if (message[0] === 1 && methods.shift() === 'plugin.HandleEvent') message[1] = (message[1] as number) + 1;
        client.write(encode(message));
      }
    })().catch(() => client.destroy());
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => listener.listen(proxy, resolve));
  return {
    proxy,
    close: async () => {
      listener.close();
      await server.stop();
    },
  };
}
