import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { firstIdForThisProcess } from '../../../shared/server/instances';
import { loadPluginDirectory } from '../../../shared/server/plugin-module';
import { PluginServer } from '../../../shared/server/plugin-server';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'plugins');

/** Stands in for a Kong connection: records every reply the server writes. */
class FakeSocket {
  destroyed = false;
  readonly replies: Array<[number, number, string | null, any]> = [];
  write(data: Uint8Array): boolean {
    this.replies.push(decode(data) as [number, number, string | null, any]);
    return true;
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('PluginServer (in process, no socket)', () => {
  const { plugins } = loadPluginDirectory(FIXTURES);
  let server: PluginServer;
  let socket: FakeSocket;
  let msgid = 0;

  async function rpc(method: string, arg: unknown): Promise<[number, number, string | null, any]> {
    const id = ++msgid;
    server.dispatch(method, [arg], { socket, msgid: id });
    await flush();
    const reply = socket.replies.find((r) => r[1] === id);
    if (!reply) throw new Error(`no reply to ${method}`);
    return reply;
  }

  async function start(name: string, config: Record<string, unknown> = {}): Promise<number> {
    const [, , error, status] = await rpc('plugin.StartInstance', { Name: name, Config: JSON.stringify({ ...config, __seq__: 1 }) });
    expect(error).toBeNull();
    return status.Id;
  }

  beforeEach(() => {
    server = new PluginServer(plugins, { eventTimeoutMs: 1000, instanceIdleMs: 60_000 });
    socket = new FakeSocket();
  });
  afterEach(() => server.close());

  it('keeps nothing for events that make no PDK call', async () => {
    const id = await start('noop');
    for (let i = 0; i < 1000; i++) {
      const [, , error, result] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
      expect(error).toBeNull();
      expect(result.Data).toBe('ret');
    }
    expect(server.eventsWaiting).toBe(0);
    expect(server.activeEvents).toBe(0);
  });

  it('forgets an event once it sends kong.response.exit; Kong never steps it again', async () => {
    const id = await start('exits');
    for (let i = 0; i < 200; i++) {
      const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
      expect(first.Data).toEqual({ Method: 'kong.response.set_header', Args: ['X-Before-Exit', 'yes'] });
      const [, , , second] = await rpc('plugin.Step', { EventId: first.EventId });
      expect(second.Data.Method).toBe('kong.response.exit');
      expect(second.Data.Args[0]).toBe(403);
    }
    await flush();
    expect(server.eventsWaiting).toBe(0);
    expect(server.activeEvents).toBe(0);
    const handler = [...server.instances.all()][0].handler as { after: number };
    expect(handler.after).toBe(200); // code after exit ran, as under kong-pdk
  });

  it('sends concurrent PDK calls one at a time, in order', async () => {
    const id = await start('concurrent');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    expect(first.Data.Method).toBe('kong.request.get_method');
    const [, , , second] = await rpc('plugin.Step', { EventId: first.EventId, Data: 'GET' });
    expect(second.Data.Method).toBe('kong.request.get_path');
    const [, , , third] = await rpc('plugin.StepMultiMap', { EventId: first.EventId, Data: '/p' });
    expect(third.Data).toEqual({ Method: 'kong.response.set_header', Args: ['X-Method-Path', 'GET /p'] });
    const [, , , done] = await rpc('plugin.Step', { EventId: first.EventId });
    expect(done.Data).toBe('ret');
  });

  it('sweeps an event Kong abandoned (a Lua error inside a PDK call) and releases the handler', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const violator = require(path.join(FIXTURES, 'phase-violator.js')) as { finished(): number };
    const before = violator.finished();
    const id = await start('phase-violator');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    const [, , , second] = await rpc('plugin.Step', { EventId: first.EventId, Data: '1' });
    expect(second.Data.Method).toBe('kong.service.response.get_raw_body');
    expect(server.eventsWaiting).toBe(1);
    server.sweep(Date.now() + 500);
    expect(server.eventsWaiting).toBe(1); // not yet past the timeout
    server.sweep(Date.now() + 1500);
    await flush();
    expect(server.eventsWaiting).toBe(0);
    expect(server.activeEvents).toBe(0);
    expect(server.counters.abandonedEvents).toBe(1);
    expect(violator.finished()).toBe(before + 1); // its finally block ran
    const [, , error] = await rpc('plugin.Step', { EventId: first.EventId, Data: 'late' });
    expect(error).toBe(`event id ${first.EventId} not found`);
  });

  it('drops a handler that never answers once the event timeout has passed', async () => {
    const id = await start('hangs');
    server.dispatch('plugin.HandleEvent', [{ InstanceId: id, EventName: 'access' }], { socket, msgid: ++msgid });
    await flush();
    expect(server.activeEvents).toBe(1);
    server.sweep(Date.now() + 500);
    expect(server.activeEvents).toBe(1);
    server.sweep(Date.now() + 1500);
    expect(server.activeEvents).toBe(0);
    expect(server.counters.stuckHandlers).toBe(1);
    expect(server.counters.abandonedEvents).toBe(0);
  });

  it('drops a handler that hangs after a Step, too', async () => {
    const id = await start('hangs');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'rewrite' });
    expect(first.Data.Method).toBe('kong.request.get_method');
    server.dispatch('plugin.Step', [{ EventId: first.EventId, Data: 'GET' }], { socket, msgid: ++msgid });
    await flush();
    expect(server.activeEvents).toBe(1);
    server.sweep(Date.now() + 1500);
    expect(server.activeEvents).toBe(0);
    expect(server.counters.stuckHandlers).toBe(1);
  });

  it('answers a throwing phase with kong.response.error(500) when failing closed', async () => {
    const id = await start('thrower');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    const [, , , second] = await rpc('plugin.Step', { EventId: first.EventId, Data: 'GET' });
    expect(second.Data).toEqual({ Method: 'kong.response.error', Args: [500] });
    expect(server.counters.phaseErrors).toBe(1);
    expect(server.activeEvents).toBe(0);
  });

  it('lets a throwing phase through when configured to fail open', async () => {
    server.close();
    server = new PluginServer(plugins, { onPluginError: 'fail-open' });
    const id = await start('thrower');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    const [, , , second] = await rpc('plugin.Step', { EventId: first.EventId, Data: 'GET' });
    expect(second.Data).toBe('ret');
  });

  it('rejects an outstanding call on StepError and lets the handler go on', async () => {
    const id = await start('step-error');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    expect(first.Data).toEqual({ Method: 'kong.request.get_header', Args: ['x-anything'] });
    const [, , , second] = await rpc('plugin.StepError', { EventId: first.EventId, Data: 'bad thing' });
    // the call rejected with Kong's error text, and the handler's next call went out on the same event
    expect(second).toEqual({ EventId: first.EventId, Data: { Method: 'kong.response.set_header', Args: ['X-Outcome', 'rejected: PDK method kong.request.get_header failed: bad thing'] } });
    const [, , , done] = await rpc('plugin.Step', { EventId: first.EventId });
    expect(done).toEqual({ EventId: first.EventId, Data: 'ret' });
    expect(server.activeEvents).toBe(0);
  });

  it('a handler that throws after its call fails closed with kong.response.error(500)', async () => {
    const id = await start('thrower');
    const [, , , first] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    const [, , , second] = await rpc('plugin.Step', { EventId: first.EventId, Data: 'GET' });
    expect(second.Data).toEqual({ Method: 'kong.response.error', Args: [500] });
  });

  it('never reuses instance ids across restarts: a stale id gets "no plugin instance"', async () => {
    const oldId = await start('noop');
    const restarted = new PluginServer(plugins, { firstInstanceId: firstIdForThisProcess(Date.now() + 1000) });
    try {
      const reply = await new Promise<[number, number, string | null, any]>((resolve) => {
        restarted.dispatch('plugin.HandleEvent', [{ InstanceId: oldId, EventName: 'access' }], {
          socket: { destroyed: false, write: (d: Uint8Array) => (resolve(decode(d) as any), true) },
          msgid: 1,
        });
      });
      expect(reply[2]).toBe(`no plugin instance #${oldId}`);
    } finally {
      restarted.close();
    }
  });

  it('expires idle instances', async () => {
    const id = await start('noop');
    server.sweep(Date.now() + 120_000);
    const [, , error] = await rpc('plugin.HandleEvent', { InstanceId: id, EventName: 'access' });
    expect(error).toBe(`no plugin instance #${id}`);
    expect(server.counters.expiredInstances).toBe(1);
  });

  it('answers the control methods Kong and tools use', async () => {
    const id = await start('echo-headers', { tag: 't' });
    const [, , , info] = await rpc('plugin.GetPluginInfo', 'echo-headers');
    expect(info).toMatchObject({ Name: 'echo-headers', Version: '1.0.0', Priority: 1000, Phases: ['access', 'response'] });
    const [, , , status] = await rpc('plugin.InstanceStatus', id);
    expect(status).toMatchObject({ Name: 'echo-headers', Id: id, Config: { tag: 't' } });
    const [, , , overall] = await rpc('plugin.GetStatus', undefined);
    expect(overall.Plugins['echo-headers'].Instances).toHaveLength(1);
    const [, , , closed] = await rpc('plugin.CloseInstance', id);
    expect(closed).toMatchObject({ Name: 'echo-headers', Id: id });
    const [, , error] = await rpc('plugin.CloseInstance', id);
    expect(error).toBe(`no plugin instance #${id}`);
    const [, , unknown] = await rpc('plugin.Nope', 1);
    expect(unknown).toBe('method Nope not implemented');
    const [, , notStarted] = await rpc('plugin.StartInstance', { Name: 'missing', Config: '{}' });
    expect(notStarted).toBe('missing not initialized');
  });
});

describe('plugin discovery', () => {
  it('loads files and directories, reports broken entries instead of crashing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugins-'));
    fs.mkdirSync(path.join(dir, 'no-index'));
    fs.writeFileSync(path.join(dir, 'throws.js'), 'throw new Error("load failure")');
    fs.writeFileSync(path.join(dir, 'no-class.js'), 'module.exports = {}');
    fs.writeFileSync(path.join(dir, '.hidden.js'), 'throw new Error("never loaded")');
    fs.mkdirSync(path.join(dir, 'folder-plugin'));
    fs.writeFileSync(path.join(dir, 'folder-plugin', 'index.js'), 'module.exports = { Plugin: class { access() {} } }');
    fs.writeFileSync(path.join(dir, 'Named.js'), 'module.exports = { Name: "Custom-Name", Priority: 5, Plugin: class { log() {} } }');
    const { plugins, problems } = loadPluginDirectory(dir);
    expect([...plugins.keys()].sort()).toEqual(['custom-name', 'folder-plugin']);
    expect(plugins.get('custom-name')?.phases).toEqual(['log']);
    expect(problems.map((p) => path.basename(p.file)).sort()).toEqual(['no-class.js', 'no-index', 'throws.js']);
  });
});
