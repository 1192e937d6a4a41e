import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { encode } from '@msgpack/msgpack';
import { KongEmulator, type EmulatorOptions } from '../../devkit/emulator/kong';
import { PluginServerProcess, serverDefinition } from '../../devkit/emulator/plugin-server-process';
import { StreamDecoder } from '../../shared/server/codec';
import { SERVER_KINDS, startUpstream, type TestUpstream } from '../helpers/kong-harness';

/** Each fact of ../shared/kong-plugin-server.md, checked through the emulator against both plugin servers. */
const FACTS = path.join(__dirname, '..', 'fixtures', 'facts-plugins');

/** An emulator on the facts plugins, one service at `upstreamUrl` with these routes. */
async function factsKong(kind: 'ours' | 'stock', upstreamUrl: string, routes: Array<Record<string, unknown>>, options: EmulatorOptions = {}): Promise<KongEmulator> {
  const kong = new KongEmulator(options);
  await kong.addServer({ kind, pluginsDir: FACTS });
  kong.configure({ _format_version: '3.0', services: [{ name: 'svc', url: upstreamUrl, routes }] });
  return kong;
}

describe.each(SERVER_KINDS)('protocol facts under the %s server', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;
  const transcript: Array<[string, unknown]> = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    kong = await factsKong(
      kind,
      upstream.url,
      [
        { name: 'p', paths: ['/p'], plugins: [{ name: 'p', config: { message: 'hi' } }] },
        { name: 'facts', paths: ['/facts'], plugins: [{ name: 'facts', config: { count: 3 } }] },
        { name: 'log-timer', paths: ['/log-timer'], plugins: [{ name: 'log-timer' }] },
      ],
      { trace: (direction, message) => transcript.push([direction, message]) },
    );
  });
  afterAll(async () => {
    await kong.close();
    await upstream.close();
  });

  it('matches the transcript of one access event (StartInstance, HandleEvent, Steps, nil as an absent Data key)', async () => {
    transcript.length = 0;
    const res = await kong.request({ path: '/p', headers: { 'x-a': 'header-value' } });
    expect(res.headers.get('x-b')).toBe('1');
    const shapes = transcript.map(([direction, m]) => {
      const message = m as unknown[];
      return direction === 'K->P' ? [direction, message[2], message[3]] : [direction, message[2], message[3]];
    });
    const config = JSON.parse((shapes[0][2] as Array<{ Config: string }>)[0].Config);
    expect(config).toMatchObject({ message: 'hi', __seq__: 1, __key__: expect.stringContaining('plugins:p:'), route_id: expect.any(String), __plugin_id: expect.any(String) });
    const eventId = (shapes[3][2] as { EventId: number }).EventId;
    expect(shapes.slice(2)).toEqual([
      ['K->P', 'plugin.HandleEvent', [{ InstanceId: (shapes[1][2] as { Id: number }).Id, EventName: 'access' }]],
      ['P->K', null, { Data: { Method: 'kong.request.get_header', Args: ['x-a'] }, EventId: eventId }],
      ['K->P', 'plugin.Step', [{ EventId: eventId, Data: 'header-value' }]],
      ['P->K', null, { Data: { Method: 'kong.response.set_header', Args: ['x-b', '1'] }, EventId: eventId }],
      ['K->P', 'plugin.Step', [{ EventId: eventId }]],
      ['P->K', null, { Data: 'ret', EventId: eventId }],
    ]);
    // msgids are a per-worker counter and every response carries its request's msgid
    const ids = transcript.map(([, m]) => (m as unknown[])[1] as number);
    for (let i = 0; i < ids.length; i += 2) expect(ids[i + 1]).toBe(ids[i]);
  });

  it('sends headers and query as multimaps, a bare flag as [], raw bodies as bytes, nil as undefined; getIP becomes get_iP', async () => {
    const res = await kong.request({
      method: 'POST',
      path: '/facts?flag&a=1&a=2',
      headers: { 'x-fact': 'shapes', 'x-multi': ['1', '2'], 'x-one': 'only' },
      body: 'hello',
      clientIp: '10.1.2.3',
    });
    expect(JSON.parse(res.body.toString())).toEqual({
      headers: { type: 'object', xMulti: ['1', '2'], xOne: ['only'] },
      query: { type: 'object', flag: [], a: ['1', '2'] },
      body: { type: 'bytes', length: 5 },
      missing: 'undefined',
      camel: 'undefined',
      ip: '10.1.2.3',
    });
    expect(kong.env.logLines).toContainEqual(expect.objectContaining({ level: 'err', message: 'could not find pdk method: kong.client.get_iP' }));
  });

  it('sends an empty multimap as an empty map', async () => {
    const res = await kong.request({ path: '/facts', headers: { 'x-fact': 'empty-query' } });
    expect(JSON.parse(res.body.toString())).toEqual({ type: 'object', keys: 0 });
  });

  it('carries a 2 MiB body as one bin value, whole', async () => {
    const body = crypto.randomBytes(2 * 1024 * 1024);
    let sum = 0;
    for (const b of body) sum = (sum + b) % 65521;
    const res = await kong.request({ method: 'POST', path: '/facts', headers: { 'x-fact': 'big-body' }, body });
    expect(JSON.parse(res.body.toString())).toEqual({ length: body.length, sum });
  });

  it('fills schema defaults, null for unset fields, records recursively, plus Kong\'s extra fields', async () => {
    const res = await kong.request({ path: '/facts', headers: { 'x-fact': 'config' } });
    const config = JSON.parse(res.body.toString());
    // handle_missing_field: an optional record without a default is stored as null; only required records are expanded
    expect(config).toMatchObject({ text: 'hi', count: 3, nested: null, __seq__: 1 });
    expect(Object.keys(config).sort()).toEqual(['__key__', '__plugin_id', '__seq__', '__ws_id', 'count', 'nested', 'route_id', 'service_id', 'text'].filter((k) => k !== 'service_id'));
  });

  it('aborts the handler with 500 on a PDK call not allowed in the phase or with bad arguments', async () => {
    for (const fact of ['log-in-access', 'set-header-bad']) {
      const res = await kong.request({ path: '/facts', headers: { 'x-fact': fact } });
      expect(res.status).toBe(500);
    }
    expect(kong.errors.filter((e) => e.startsWith('[facts:access]')).slice(-2)).toEqual([
      expect.stringContaining('kong.log.serialize: function cannot be called in access phase'),
      expect.stringContaining('invalid header value in array "x-bad"'),
    ]);
  });

  it('serves the log phase from saved data: status, headers, serialize as a JSON string; forbids response writes', async () => {
    kong.errors.length = 0;
    const res = await kong.request({ path: '/facts' });
    expect(res.status).toBe(200);
    const notice = kong.env.logLines.filter((l) => l.level === 'notice').pop();
    expect(JSON.parse(notice!.message)).toEqual({ status: 200, headersType: 'object', serializedType: 'string' });
    expect(kong.errors.pop()).toMatch(/kong.response.set_header: function cannot be called in log phase/);
  });

  it('runs the log phase in a timer: saved data and ngx.ctx work, ngx.var/ngx.req readers fail', async () => {
    kong.errors.length = 0;
    await kong.request({ path: '/log-timer', headers: { 'x-saved': 'kept' }, consumer: { id: 'c1', username: 'ada' } });
    const notices = kong.env.logLines.filter((l) => l.plugin === 'log-timer' && l.level === 'notice').map((l) => l.message);
    expect(notices).toEqual([JSON.stringify({ header: 'kept', consumer: 'ada' })]);
    expect(kong.errors.pop()).toMatch(/\[log-timer:log\] kong.request.get_path: API disabled in the context of ngx.timer/);
  });

  it('restarts instances on a new __seq__ and closes the old one', async () => {
    transcript.length = 0;
    kong.configure({
      _format_version: '3.0',
      services: [{ name: 'svc', url: upstream.url, routes: [{ name: 'p', paths: ['/p'], plugins: [{ name: 'p', config: { message: 'changed' } }] }] }],
    });
    await kong.request({ path: '/p' });
    const methods = transcript.filter(([d]) => d === 'K->P').map(([, m]) => (m as unknown[])[2]);
    expect(methods.slice(0, 2)).toEqual(['plugin.StartInstance', 'plugin.CloseInstance']);
    const start = transcript.find(([, m]) => (m as unknown[])[2] === 'plugin.StartInstance')![1] as unknown[];
    expect(JSON.parse((start[3] as Array<{ Config: string }>)[0].Config)).toMatchObject({ message: 'changed', __seq__: 2 });
  });
});

describe.each(SERVER_KINDS)('headers set before proxying, under the %s server', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;

  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'X-Dup': 'upstream', 'Content-Type': 'application/json' });
      res.end('{}');
    });
    kong = await factsKong(kind, upstream.url, [
      { name: 'streamed', paths: ['/streamed'], plugins: [{ name: 'dup-header' }] },
      { name: 'buffered', paths: ['/buffered'], plugins: [{ name: 'dup-header' }, { name: 'buffering' }] },
    ]);
  });
  afterAll(async () => {
    await kong.close();
    await upstream.close();
  });

  it('streaming: nginx sends both values of a generic header (lua-nginx-module#2386); upstream wins Content-Type and status', async () => {
    const res = await kong.request({ path: '/streamed' });
    expect(res.status).toBe(200);
    expect(res.headers.getAll('x-dup')).toEqual(['plugin', 'upstream']);
    expect(res.headers.get('content-type')).toBe('application/json');
  });

  it('buffered: Kong.response() sets the upstream headers over those set in access', async () => {
    const res = await kong.request({ path: '/buffered' });
    expect(res.status).toBe(200);
    expect(res.headers.getAll('x-dup')).toEqual(['upstream']);
  });
});

describe('instances, workers and plugin-server entries', () => {
  it.each(SERVER_KINDS)('%s: N nginx workers start N instances of one config, all in the one server process', async (kind) => {
    const upstream = await startUpstream();
    const starts: unknown[] = [];
    const kong = await factsKong(kind, upstream.url, [{ name: 'p', paths: ['/p'], plugins: [{ name: 'p' }] }], {
      workers: 3,
      trace: (direction, message) => {
        if (direction === 'K->P' && (message as unknown[])[2] === 'plugin.StartInstance') starts.push(message);
      },
    });
    try {
      for (let i = 0; i < 6; i++) expect((await kong.request({ path: '/p' })).headers.get('x-b')).toBe('1');
      expect(starts).toHaveLength(3);
    } finally {
      await kong.close();
      await upstream.close();
    }
  });

  // Kong 3.9.3 kong/runloop/plugin_servers/process.lua, query_external_plugin_info: `local info = (dump.Plugins or
  // dump)[1]`: one plugin per plugin-server entry, the first its query command prints (Kong/kong#14701). What must
  // hold for the suite's deployment (one entry per plugin, `--plugin <name>`) is that this first plugin is the named
  // one, for every plugin, even where the directory's own first plugin is another.
  it('ours with --plugin <name> reports that plugin first (and only), so Kong >= 3.9 serves the one named', () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'first-'));
    try {
      const all = new PluginServerProcess(serverDefinition('ours', FACTS, prefix)).query().map((info) => info.Name);
      expect(all.length).toBeGreaterThan(1);
      for (const name of all) {
        expect(new PluginServerProcess(serverDefinition('ours', FACTS, prefix, name)).query().map((info) => info.Name)).toEqual([name]);
      }
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('the emulator serves, per entry, the plugin Kong >= 3.9 keeps: the first of the query\'s dump', async () => {
    const kong = new KongEmulator({ onlyFirstPluginPerServer: true });
    try {
      const server = await kong.addServer({ kind: 'ours', pluginsDir: FACTS });
      expect(kong.pluginNames()).toEqual([server.query()[0].Name]);
    } finally {
      await kong.close();
    }
  });

  it('refuses a plugin whose Priority is not an integer, as Kong does; ours does not load it at all', async () => {
    const bad = path.join(__dirname, '..', 'fixtures', 'bad-plugins');
    await expect(new KongEmulator().addServer({ kind: 'stock', pluginsDir: bad })).rejects.toThrow('Plugin "fractional" cannot be loaded because its PRIORITY field is not a valid integer number');
    const ours = new KongEmulator();
    try {
      await ours.addServer({ kind: 'ours', pluginsDir: bad });
      expect(ours.pluginNames()).toEqual([]);
      expect(await ours.servers[0].waitForStderr(/Priority must be an integer/)).toMatch(/Priority must be an integer/);
    } finally {
      await ours.close();
    }
  });
});

describe('when the plugin server is down', () => {
  it('fails open: Kong logs the RPC error and the request continues', async () => {
    const upstream = await startUpstream();
    const kong = new KongEmulator();
    try {
      await kong.addServer({ kind: 'ours', pluginsDir: FACTS });
      kong.configure({
        _format_version: '3.0',
        services: [{ name: 's', url: upstream.url, routes: [{ name: 'p', paths: ['/p'], plugins: [{ name: 'p' }] }] }],
      });
      expect((await kong.request({ path: '/p' })).headers.get('x-b')).toBe('1');
      await kong.servers[0].stop();
      const res = await kong.request({ path: '/p' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-b')).toBeUndefined();
      expect(kong.env.logLines.some((l) => l.level === 'err' && /ENOENT|ECONNREFUSED|no data/.test(l.message))).toBe(true);
    } finally {
      await kong.close();
      await upstream.close();
    }
  });
});

describe('pipelined requests (two messages in one write)', () => {
  async function sendTwoAtOnce(kind: 'ours' | 'stock'): Promise<{ replies: unknown[]; alive: boolean }> {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'pipe-'));
    const server = new PluginServerProcess(serverDefinition(kind, FACTS, prefix));
    await server.start();
    const replies: unknown[] = [];
    try {
      await new Promise<void>((resolve) => {
        const socket = net.createConnection(server.definition.socket);
        const decoder = new StreamDecoder();
        socket.on('data', (chunk) => decoder.push(chunk, (v) => replies.push(v)));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.write(Buffer.concat([encode([0, 1, 'plugin.GetPluginInfo', ['p']]), encode([0, 2, 'plugin.GetPluginInfo', ['facts']])]));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 500);
      });
      await new Promise((r) => setTimeout(r, 100));
      const pid = server.pid;
      return { replies, alive: pid !== undefined };
    } finally {
      await server.stop();
    }
  }

  it('ours answers both', async () => {
    const { replies, alive } = await sendTwoAtOnce('ours');
    expect(replies.map((r) => (r as unknown[])[1])).toEqual([1, 2]);
    expect(alive).toBe(true);
  });

  it('stock crashes (RangeError: Extra bytes), which Kong never triggers since it never pipelines', async () => {
    const { replies, alive } = await sendTwoAtOnce('stock');
    expect(replies).toEqual([]);
    expect(alive).toBe(false);
  });
});
