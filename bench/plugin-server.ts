import { rootLogger } from '../shared/observability/log';
import type { RunResult } from './harness/load-driver';
import {
  driveInProcess,
  learnScript,
  nullServer,
  ourCodecCost,
  ourServerInProcess,
  stockCodecCost,
  stockServerInProcess,
  type CodecCost,
  type InProcessServer,
} from './harness/in-process';
import { type BenchReport, type BenchTable, median, progress, ratio, runWhenMain } from './harness/report';
import {
  FIXTURE_PLUGINS,
  cpuAffinity,
  hasTaskset,
  pin,
  processCpuUs,
  processSyscalls,
  processWakeups,
  startBenchServer,
  type BenchServer,
  type DriverKind,
} from './harness/server-process';

/**
 * Our plugin server against kong-pdk 0.6.0's stock kong-js-pluginserver, in one run: the same fixture plugin
 * (access phase, two PDK calls), the same driver, 64 events in flight. On two cores a Node driver saturates before
 * the server does, so the figure of merit is the server process's own CPU time per event (/proc/<pid>/stat),
 * measured in alternating rounds (median), next to events/s. Then where that time goes: codec, per-event machinery
 * (both servers' userland driven in-process through fake sockets) and the remainder (syscalls, libuv, GC threads).
 */
export interface PluginServerBenchOptions {
  plugin?: string;
  inFlight?: number;
  rounds?: number;
  roundMs?: number;
  warmupMs?: number;
  inProcessEvents?: number;
  latencyMs?: number;
}

const DEFAULTS: Required<PluginServerBenchOptions> = {
  plugin: 'two-calls',
  inFlight: 64,
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  roundMs: Number(process.env.BENCH_ROUND_MS ?? 2000),
  warmupMs: 700,
  inProcessEvents: 20_000,
  latencyMs: 1200,
};

interface RoundSample {
  eventsPerSec: number;
  serverCpuUsPerEvent: number;
  driverCpuUsPerEvent: number;
  /** read/write syscalls of the server per RPC message (/proc/<pid>/io). */
  readsPerMessage: number;
  writesPerMessage: number;
  /** Voluntary context switches of the server per RPC message: wake-ups from epoll_wait. */
  wakeupsPerMessage: number;
  events: number;
  errors: number;
}

interface Contender {
  server: BenchServer;
  instanceId: number;
  samples: RoundSample[];
}

async function measureRound(contender: Contender, durationMs: number, inFlight: number): Promise<RoundSample> {
  const pid = contender.server.pid;
  const [cpu0, io0, wake0] = [processCpuUs(pid), processSyscalls(pid), processWakeups(pid)];
  const run: RunResult = await contender.server.driver.run({ instanceId: contender.instanceId, durationMs, inFlight });
  const [cpu1, io1, wake1] = [processCpuUs(pid), processSyscalls(pid), processWakeups(pid)];
  if (run.errors) throw new Error(`${contender.server.label}: ${run.errors} events failed`);
  return {
    eventsPerSec: (run.events * 1000) / run.elapsedMs,
    serverCpuUsPerEvent: (cpu1 - cpu0) / run.events,
    driverCpuUsPerEvent: run.driverCpuUs / run.events,
    readsPerMessage: (io1.reads - io0.reads) / run.messages,
    writesPerMessage: (io1.writes - io0.writes) / run.messages,
    wakeupsPerMessage: (wake1 - wake0) / run.messages,
    events: run.events,
    errors: run.errors,
  };
}

function summarise(samples: RoundSample[]) {
  return {
    eventsPerSec: median(samples.map((s) => s.eventsPerSec)),
    serverCpuUsPerEvent: median(samples.map((s) => s.serverCpuUsPerEvent)),
    driverCpuUsPerEvent: median(samples.map((s) => s.driverCpuUsPerEvent)),
    readsPerMessage: median(samples.map((s) => s.readsPerMessage)),
    writesPerMessage: median(samples.map((s) => s.writesPerMessage)),
    wakeupsPerMessage: median(samples.map((s) => s.wakeupsPerMessage)),
    rounds: samples,
  };
}

async function throughput(opts: Required<PluginServerBenchOptions>, driver: DriverKind = 'lean') {
  const servers = [
    await startBenchServer({ kind: 'ours', lanes: opts.inFlight, driver }),
    await startBenchServer({ kind: 'stock', lanes: opts.inFlight, driver }),
    await startBenchServer({ kind: 'ours', label: 'ours --plugin', plugin: opts.plugin, lanes: opts.inFlight, driver }),
  ];
  try {
    const contenders: Contender[] = [];
    for (const server of servers) {
      contenders.push({ server, instanceId: await server.driver.startInstance(opts.plugin), samples: [] });
    }
    for (const contender of contenders) {
      await contender.server.driver.run({ instanceId: contender.instanceId, durationMs: opts.warmupMs });
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (const contender of contenders) {
        progress(`${driver} driver, round ${round + 1}/${opts.rounds}: ${contender.server.label}`);
        contender.samples.push(await measureRound(contender, opts.roundMs, opts.inFlight));
      }
    }
    const latency = hasTaskset() && driver === 'lean' ? await pinnedLatency(contenders.slice(0, 2), opts.latencyMs) : undefined;
    return {
      ours: summarise(contenders[0].samples),
      stock: summarise(contenders[1].samples),
      perPlugin: summarise(contenders[2].samples),
      latency,
    };
  } finally {
    for (const server of servers) await server.stop();
  }
}

/** One event in flight, server and driver pinned to the same core: the per-round-trip latency without wake-ups. */
async function pinnedLatency(contenders: Contender[], durationMs: number) {
  const original = cpuAffinity(process.pid);
  const results: Record<string, { usPerEvent: number; usPerRoundTrip: number; eventsPerSec: number }> = {};
  try {
    pin(process.pid, '0');
    for (const contender of contenders) {
      const pid = contender.server.pid;
      const serverAffinity = cpuAffinity(pid);
      pin(pid, '0');
      try {
        progress(`pinned latency: ${contender.server.label}`);
        await contender.server.driver.run({ instanceId: contender.instanceId, durationMs: 200, inFlight: 1 });
        const run = await contender.server.driver.run({ instanceId: contender.instanceId, durationMs, inFlight: 1 });
        const usPerEvent = (run.elapsedMs * 1000) / run.events;
        results[contender.server.label] = {
          usPerEvent,
          usPerRoundTrip: (run.elapsedMs * 1000) / run.messages,
          eventsPerSec: (run.events * 1000) / run.elapsedMs,
        };
      } finally {
        pin(pid, serverAffinity);
      }
    }
  } finally {
    pin(process.pid, original);
  }
  return results;
}

interface Breakdown {
  userlandUsPerEvent: number;
  harnessUsPerEvent: number;
  codec: CodecCost;
  methods: string[];
}

async function inProcessBreakdown(opts: Required<PluginServerBenchOptions>): Promise<{ ours: Breakdown; stock: Breakdown }> {
  const level = rootLogger.level;
  rootLogger.level = 'warn'; // our server logs instance starts at info
  const servers: InProcessServer[] = [];
  try {
    servers.push(await ourServerInProcess(FIXTURE_PLUGINS, opts.plugin));
    servers.push(await stockServerInProcess(FIXTURE_PLUGINS, opts.plugin));
    const scripts = [await learnScript(servers[0]), await learnScript(servers[1])];
    if (scripts[0].methods.join() !== scripts[1].methods.join()) {
      throw new Error(`servers disagree on the event flow: ${scripts[0].methods.join()} vs ${scripts[1].methods.join()}`);
    }
    const harness = nullServer();
    const warm = Math.round(opts.inProcessEvents / 4);
    for (let i = 0; i < servers.length; i++) await driveInProcess(servers[i], scripts[i], opts.inFlight, warm);
    await driveInProcess(harness, scripts[0], opts.inFlight, warm);
    const userland: number[][] = [[], []];
    const harnessCost: number[] = [];
    for (let round = 0; round < 3; round++) {
      progress(`in-process round ${round + 1}/3`);
      for (let i = 0; i < servers.length; i++) {
        userland[i].push((await driveInProcess(servers[i], scripts[i], opts.inFlight, opts.inProcessEvents)).cpuUsPerEvent);
      }
      harnessCost.push((await driveInProcess(harness, scripts[0], opts.inFlight, opts.inProcessEvents)).cpuUsPerEvent);
    }
    // The replay decodes nothing: check afterwards that both servers still answer the learned flow.
    for (let i = 0; i < servers.length; i++) {
      const after = await learnScript(servers[i]);
      if (after.methods.join() !== scripts[i].methods.join()) throw new Error(`${servers[i].label}: event flow changed during the replay`);
    }
    const harnessUs = median(harnessCost);
    const codecIterations = 100_000;
    return {
      ours: {
        userlandUsPerEvent: Math.max(0, median(userland[0]) - harnessUs),
        harnessUsPerEvent: harnessUs,
        codec: ourCodecCost(scripts[0], codecIterations),
        methods: scripts[0].methods,
      },
      stock: {
        userlandUsPerEvent: Math.max(0, median(userland[1]) - harnessUs),
        harnessUsPerEvent: harnessUs,
        codec: stockCodecCost(scripts[1], codecIterations),
        methods: scripts[1].methods,
      },
    };
  } finally {
    for (const server of servers) server.close();
    rootLogger.level = level;
  }
}

export async function benchPluginServer(options: PluginServerBenchOptions = {}): Promise<BenchReport> {
  const opts = { ...DEFAULTS, ...options };
  const measured = await throughput(opts, 'lean');
  const kongLike = await throughput(opts, 'kong-like');
  const breakdown = await inProcessBreakdown(opts);
  const { ours, stock, perPlugin } = measured;

  const tables: BenchTable[] = [];
  tables.push({
    title: `plugin server: ${opts.plugin} (access, ${breakdown.ours.methods.length} PDK calls), ${opts.inFlight} events in flight, median of ${opts.rounds} alternating rounds of ${opts.roundMs} ms`,
    columns: ['server', 'events/s', 'server CPU us/event', 'driver CPU us/event', 'events/s vs stock', 'CPU/event vs stock'],
    rows: [
      ['stock kong-js-pluginserver', stock.eventsPerSec, stock.serverCpuUsPerEvent, stock.driverCpuUsPerEvent, '1.00x', '1.00x'],
      ['ours', ours.eventsPerSec, ours.serverCpuUsPerEvent, ours.driverCpuUsPerEvent, ratio(ours.eventsPerSec, stock.eventsPerSec), ratio(ours.serverCpuUsPerEvent, stock.serverCpuUsPerEvent)],
      ['ours --plugin (per-plugin mode)', perPlugin.eventsPerSec, perPlugin.serverCpuUsPerEvent, perPlugin.driverCpuUsPerEvent, ratio(perPlugin.eventsPerSec, stock.eventsPerSec), ratio(perPlugin.serverCpuUsPerEvent, stock.serverCpuUsPerEvent)],
    ],
    notes: [
      `target: ours <= 0.70x stock CPU/event (>= 1.4x capacity); capacity of one server core ~ 1e6 / CPU us/event events/s:` +
        ` stock ${Math.round(1e6 / stock.serverCpuUsPerEvent)}, ours ${Math.round(1e6 / ours.serverCpuUsPerEvent)}`,
      'server CPU = utime+stime of the server process (all threads) from /proc/<pid>/stat; events/s is bounded by the driver on 2 cores',
    ],
  });

  tables.push({
    title: `the same servers under the second, Kong-like driver (@msgpack/msgpack, pooled connections, async per call; ${opts.inFlight} in flight)`,
    columns: ['server', 'events/s', 'server CPU us/event', 'driver CPU us/event', 'CPU/event vs stock'],
    rows: [
      ['stock kong-js-pluginserver', kongLike.stock.eventsPerSec, kongLike.stock.serverCpuUsPerEvent, kongLike.stock.driverCpuUsPerEvent, '1.00x'],
      ['ours', kongLike.ours.eventsPerSec, kongLike.ours.serverCpuUsPerEvent, kongLike.ours.driverCpuUsPerEvent, ratio(kongLike.ours.serverCpuUsPerEvent, kongLike.stock.serverCpuUsPerEvent)],
      ['ours --plugin', kongLike.perPlugin.eventsPerSec, kongLike.perPlugin.serverCpuUsPerEvent, kongLike.perPlugin.driverCpuUsPerEvent, ratio(kongLike.perPlugin.serverCpuUsPerEvent, kongLike.stock.serverCpuUsPerEvent)],
    ],
  });
  const perMessage = (driver: string, label: string, s: typeof ours) => [driver, label, s.readsPerMessage, s.writesPerMessage, s.wakeupsPerMessage, s.serverCpuUsPerEvent];
  tables.push({
    title: 'server syscalls and wake-ups per RPC message, by driver (/proc/<pid>/io syscr/syscw, voluntary_ctxt_switches)',
    columns: ['driver', 'server', 'reads/msg', 'writes/msg', 'wake-ups/msg', 'CPU us/event'],
    rows: [
      perMessage('lean', 'stock', stock), perMessage('lean', 'ours', ours),
      perMessage('kong-like', 'stock', kongLike.stock), perMessage('kong-like', 'ours', kongLike.ours),
    ],
    notes: [
      'a wake-up is an epoll_wait that blocked: the fewer messages wait per loop turn, the more each one pays for the turn',
      '(epoll_wait, the libuv loop turn and the timers it runs are a fixed cost per wake-up, shared by the messages ready then)',
    ],
  });

  const rowFor = (label: string, total: number, b: Breakdown) => {
    const codec = b.codec.decodeUs + b.codec.encodeUs;
    return [label, total, b.userlandUsPerEvent, b.codec.decodeUs, b.codec.encodeUs, Math.max(0, b.userlandUsPerEvent - codec), Math.max(0, total - b.userlandUsPerEvent)];
  };
  const oursRow = rowFor('ours', ours.serverCpuUsPerEvent, breakdown.ours);
  const stockRow = rowFor('stock', stock.serverCpuUsPerEvent, breakdown.stock);
  tables.push({
    title: 'where the server CPU per event goes (us/event)',
    columns: ['server', 'total (process)', 'userland (in-process)', 'codec decode', 'codec encode', 'machinery', 'syscalls/net/loop'],
    rows: [stockRow, oursRow, ['ours/stock', ...oursRow.slice(1).map((v, i) => ratio(v as number, stockRow[i + 1] as number))]],
    notes: [
      'userland: each server\'s real connection handler, codec, dispatch and plugin, driven in-process through fake sockets',
      `  (no syscalls; the fake Kong side's own cost, ${breakdown.ours.harnessUsPerEvent.toFixed(2)} us/event, is subtracted)`,
      'codec: decode of the event\'s requests + encode of its replies, micro-loop; machinery = userland - codec;',
      'syscalls/net/loop = process CPU - userland (socket reads/writes, epoll, libuv, GC threads)',
    ],
  });

  if (measured.latency) {
    const l = measured.latency;
    tables.push({
      title: 'one event in flight, server and driver pinned to one core',
      columns: ['server', 'events/s', 'us/event', 'us/round trip', 'vs stock'],
      rows: Object.entries(l).map(([label, v]) => [label, v.eventsPerSec, v.usPerEvent, v.usPerRoundTrip, ratio(v.usPerEvent, l.stock.usPerEvent)]),
    });
  }
  return { name: 'plugin-server', tables, data: { options: opts, ...measured, kongLike, breakdown } };
}

runWhenMain(module, () => benchPluginServer());
