import type { ServerKind } from '../devkit/emulator/plugin-server-process';
import { type BenchReport, progress, runWhenMain } from './harness/report';
import { processRssKb, startBenchServer, type BenchServer } from './harness/server-process';

/**
 * Memory per event of a plugin-server process: events that end in kong.response.exit (Kong never Steps them
 * again) and events that make no PDK call, the two cases kong-pdk 0.6.0 never removes from its events map.
 * RSS (VmRSS) is sampled after a warm-up and after the measured events; growth is reported per 100k events.
 */
export interface LeakOptions {
  kind: ServerKind;
  /** Fixture plugin names, e.g. ['exits', 'empty'] (bench/fixtures/plugins). */
  plugins: string[];
  events: number;
  /** Time bound per plugin: fewer events are driven if it runs out. */
  maxMs?: number;
  warmupEvents?: number;
  inFlight?: number;
  pluginsDir?: string;
}

export interface LeakResult {
  kind: ServerKind;
  plugin: string;
  events: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  growthMbPer100k: number;
  eventsPerSec: number;
}

async function measurePlugin(server: BenchServer, plugin: string, options: LeakOptions): Promise<LeakResult> {
  const instanceId = await server.driver.startInstance(plugin);
  await server.driver.run({ instanceId, maxEvents: options.warmupEvents ?? 20_000, durationMs: 5_000 });
  await settle();
  const before = processRssKb(server.pid);
  const run = await server.driver.run({ instanceId, maxEvents: options.events, durationMs: options.maxMs ?? 3_000 });
  if (run.errors) throw new Error(`${options.kind}/${plugin}: ${run.errors} events failed`);
  await settle();
  const after = processRssKb(server.pid);
  return {
    kind: options.kind,
    plugin,
    events: run.events,
    rssBeforeMb: before / 1024,
    rssAfterMb: after / 1024,
    growthMbPer100k: ((after - before) / 1024) * (100_000 / run.events),
    eventsPerSec: (run.events * 1000) / run.elapsedMs,
  };
}

/** Gives the server's idle-time GC a moment, so RSS reflects retained memory rather than garbage. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 300));
}

/** Starts one server of `kind` and measures RSS growth for each plugin in turn. Reusable from tests. */
export async function measureLeak(options: LeakOptions): Promise<LeakResult[]> {
  const server = await startBenchServer({ kind: options.kind, lanes: options.inFlight ?? 64, pluginsDir: options.pluginsDir });
  try {
    const results: LeakResult[] = [];
    for (const plugin of options.plugins) {
      progress(`leak: ${options.kind} ${plugin}`);
      results.push(await measurePlugin(server, plugin, options));
    }
    return results;
  } finally {
    await server.stop();
  }
}

/** A growth under this per 100k events is read as flat (allocator and heap sizing noise). */
export const FLAT_MB_PER_100K = 5;

export async function benchLeak(options: { events?: number; maxMs?: number } = {}): Promise<BenchReport> {
  const events = options.events ?? Number(process.env.BENCH_LEAK_EVENTS ?? 200_000);
  const maxMs = options.maxMs ?? Number(process.env.BENCH_LEAK_MS ?? 3_000);
  const results: LeakResult[] = [];
  for (const kind of ['ours', 'stock'] as const) {
    results.push(...(await measureLeak({ kind, plugins: ['exits', 'empty'], events, maxMs })));
  }
  return {
    name: 'leak',
    tables: [
      {
        title: `plugin-server memory: RSS growth per 100k events (up to ${events} events or ${maxMs} ms per row, after a 20k-event warm-up)`,
        columns: ['server', 'plugin', 'events', 'events/s', 'RSS before MB', 'RSS after MB', 'MB per 100k events', 'verdict'],
        rows: results.map((r) => [
          r.kind,
          r.plugin === 'exits' ? 'exits (kong.response.exit)' : `${r.plugin} (no PDK call)`,
          r.events,
          r.eventsPerSec,
          r.rssBeforeMb,
          r.rssAfterMb,
          r.growthMbPer100k,
          r.growthMbPer100k < FLAT_MB_PER_100K ? 'flat' : 'GROWS',
        ]),
        notes: [`"flat": under ${FLAT_MB_PER_100K} MB per 100k events; RSS = VmRSS from /proc/<pid>/status`],
      },
    ],
    data: { results },
  };
}

runWhenMain(module, () => benchLeak());
