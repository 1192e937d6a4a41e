import path from 'node:path';
import { PluginServerProcess, serverDefinition } from '../../devkit/emulator/plugin-server-process';
import { RpcClient } from '../../devkit/emulator/rpc-client';
import { driveEvents, gcOnSignalEnv, liveAnonBytes } from '../helpers/event-driver';
import { holdMachine } from '../helpers/machine-lock';
import fs from 'node:fs';
import os from 'node:os';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'plugins');
/** CI runs a smaller count than the 1,000,000 of the issue; the assertion (bounded growth) is the same. */
const EVENTS = Number(process.env.LEAK_TEST_EVENTS ?? 150_000);
/**
 * Flat: the live set (anonymous memory right after a full GC) may grow while the heap settles (code, pools), then
 * not. The events run in two equal halves after a warm-up; the second half may add at most MAX_SECOND_HALF: a leak
 * of 56 bytes per event adds 4 MB over 75k events, kong-pdk 0.6.0 keeps ~1 KB per event (~75 MB). Measured (3 runs):
 * second half -2.0 to +0.1 MB (exit), +0.1 to +0.5 MB (no call); first half +15 to +18 MB on exit (the heap
 * growing to its working size; V8 keeps those pages committed after a GC), which MAX_GROWTH bounds. Plain RSS read at
 * arbitrary points was flaky: between two major GCs no-call events pile up ~15 MB of garbage, and a half could end
 * on either side of that sawtooth.
 */
const MAX_SECOND_HALF = 4 * 1024 * 1024;
const MAX_GROWTH = 32 * 1024 * 1024;
/** What kong-pdk 0.6.0 must exceed over 100k exit events for the assertion to have teeth (it keeps every event). */
const STOCK_GROWTH = 48 * 1024 * 1024;
/**
 * Without V8 coverage even under `.ci/run`'s c8: its per-block counters make a server 3-5x slower (these 340k events
 * outran the test timeout) and its coverage records weigh in its memory; other specs cover the same code.
 */
const UNCOVERED = { NODE_V8_COVERAGE: undefined };

// a fixed event count against a timeout: never beside the CPU burners of the exactness spec
let releaseMachine: () => void = () => {};
beforeAll(async () => {
  releaseMachine = await holdMachine();
}, 610_000);
afterAll(() => releaseMachine());

describe('our plugin server keeps memory flat', () => {
  let server: PluginServerProcess;
  let rpc: RpcClient;
  let gcDone: string;
  const live = () => liveAnonBytes(server.pid!, gcDone);

  beforeAll(async () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'leak-'));
    gcDone = path.join(prefix, 'gc-done');
    server = new PluginServerProcess(serverDefinition('ours', FIXTURES, prefix), { env: { KONG_PLUGINS_LOG_LEVEL: 'warn', ...UNCOVERED, ...gcOnSignalEnv(gcDone) } });
    await server.start();
    rpc = new RpcClient(server.definition.socket);
  });
  afterAll(async () => {
    rpc.close();
    await server.stop();
  });

  it.each([
    ['exit', 'exits'],
    ['no PDK call', 'noop'],
  ])(`over ${EVENTS} events that end in %s`, async (_label, plugin) => {
    const { Id } = (await rpc.call('plugin.StartInstance', { Name: plugin, Config: '{}' })) as { Id: number };
    await driveEvents(rpc, Id, 20_000); // warm up: JIT, pools, heap growth to steady state
    const before = await live();
    const calls = await driveEvents(rpc, Id, EVENTS / 2);
    const middle = await live();
    const more = await driveEvents(rpc, Id, EVENTS / 2);
    const after = await live();
    expect(calls + more).toBe(plugin === 'exits' ? EVENTS * 2 : 0);
    expect(after - middle).toBeLessThan(MAX_SECOND_HALF);
    expect(after - before).toBeLessThan(MAX_GROWTH);
  }, 240_000);
});

describe('the leak assertion has teeth', () => {
  it('measures the stock server growing on events that end in exit (kong-pdk 0.6.0 keeps every one)', async () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'leak-stock-'));
    const gcDone = path.join(prefix, 'gc-done');
    const server = new PluginServerProcess(serverDefinition('stock', FIXTURES, prefix), { env: { ...UNCOVERED, ...gcOnSignalEnv(gcDone) } });
    await server.start();
    const rpc = new RpcClient(server.definition.socket);
    try {
      const { Id } = (await rpc.call('plugin.StartInstance', { Name: 'exits', Config: '{}' })) as { Id: number };
      await driveEvents(rpc, Id, 10_000);
      const before = await liveAnonBytes(server.pid!, gcDone);
      await driveEvents(rpc, Id, 100_000);
      expect((await liveAnonBytes(server.pid!, gcDone)) - before).toBeGreaterThan(STOCK_GROWTH);
    } finally {
      rpc.close();
      await server.stop();
    }
  }, 120_000);
});
