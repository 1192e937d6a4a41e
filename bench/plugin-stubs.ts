import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KongEmulator } from '../devkit/emulator/kong';
import { BUILT_PLUGINS } from '../devkit/emulator/plugin-server-process';
import type { ClientRequest } from '../devkit/emulator/request-context';
import { apiBody } from './pii-masking';
import { type BenchReport, median, progress, ratio, runWhenMain } from './harness/report';
import { startFixedUpstream, type BenchUpstream } from './harness/upstream';

/**
 * A plugin's cost beyond its PDK calls. For each plugin and scenario, one request's PDK calls are recorded from the
 * wire (method, arguments, per phase), and a stub plugin is generated that makes exactly those calls, with the same
 * arguments, in the same phases, and nothing else: the emulator answers it as it answers the plugin, so argument and
 * result sizes are the same. Plugin and stub run side by side in one our-server process each (per-plugin mode),
 * 64 requests in flight through the Kong emulator, alternating rounds, median. Target: plugin >= 0.9x the stub's
 * events/s. `npm run build && node dist/bench/plugin-stubs.js`.
 */
export interface StubBenchOptions {
  durationMs?: number;
  inFlight?: number;
  rounds?: number;
}

type Calls = Record<string, Array<[string, unknown[]]>>;

interface Scenario {
  plugin: string;
  name: string;
  config: Record<string, unknown>;
  request: (i: number) => ClientRequest;
  /** Upstream body (pii-masking reads it). */
  body?: Buffer;
}

const DAY = 86_400_000;
const RUN = crypto.randomBytes(3).toString('hex');

function versionConfig() {
  const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
  return {
    sources: ['header', 'path'],
    path_segment: 2,
    default_version: 'v2',
    versions: [
      { name: 'v1', deprecated_at: iso(-30 * DAY), sunset_at: iso(365 * DAY), successor: 'v2', documentation_url: 'https://docs.example.com/v1', sunset_url: 'https://docs.example.com/sunset' },
      { name: 'v2', documentation_url: 'https://docs.example.com/v2' },
      { name: 'v3', documentation_url: 'https://docs.example.com/v3', upstream_path_prefix: '/api/3' },
    ],
  };
}

const consumer = { id: 'c0ffee00-0000-4000-8000-000000000001', username: 'bench-consumer' };
const quota = (limits: unknown[], extra: Record<string, unknown> = {}) => ({
  identity: { source: 'header', trust_header: true },
  plans: [{ name: 'p', limits }],
  default_plan: 'p',
  key_prefix: `bstub${RUN}`,
  ...extra,
});
const gcra = { name: 'm', scope: 'tenant', algorithm: 'gcra', limit: 1e9, window_seconds: 60 };

const SCENARIOS: Scenario[] = [
  { plugin: 'version-deprecation', name: 'current v2 (header)', config: versionConfig(), request: () => ({ path: '/r/things', headers: { 'X-API-Version': 'v2' } }) },
  { plugin: 'version-deprecation', name: 'deprecated v1: headers + consumer', config: versionConfig(), request: () => ({ path: '/r/things', headers: { 'X-API-Version': 'v1' }, consumer }) },
  { plugin: 'version-deprecation', name: 'v3 path rewrite', config: versionConfig(), request: () => ({ path: '/r/v3/things' }) },
  { plugin: 'tenant-quota', name: '1 GCRA limit, headers off', config: quota([gcra], { headers: 'none' }), request: (i) => ({ path: '/r/x', headers: { 'X-Tenant-ID': `t${i % 16}` } }) },
  {
    plugin: 'tenant-quota',
    name: '3 limits (GCRA + sliding + month)',
    config: quota([gcra, { name: 's', scope: 'tenant', algorithm: 'sliding_window', limit: 1e9, window_seconds: 60 }, { name: 'c', scope: 'tenant', algorithm: 'calendar', limit: 1e9, period: 'month' }]),
    request: (i) => ({ path: '/r/x', headers: { 'X-Tenant-ID': `t${i % 16}` } }),
  },
  { plugin: 'pii-masking', name: '4 KB JSON with PII, masked', config: {}, request: () => ({ path: '/r/x' }), body: apiBody(4 * 1024) },
];

/** `kong.response.set_header` -> ['response', 'setHeader']: the kong-pdk property path that sends that method. */
function jsPath(method: string): string[] {
  return method
    .split('.')
    .slice(1)
    .map((part) => part.replace(/_([a-zA-Z])/g, (_m, c: string) => c.toUpperCase()));
}

/** The stub plugin's module text: one method per phase of the plugin, each replaying the recorded calls. */
function stubModule(name: string, phases: readonly string[], priority: number): string {
  const methods = phases
    .map(
      (phase) => `  async ${phase}(kong) {
    for (const [path, args] of this.calls[${JSON.stringify(phase)}] || []) {
      let target = kong;
      for (const key of path.slice(0, -1)) target = target[key];
      await target[path[path.length - 1]](...args);
    }
  }`,
    )
    .join('\n');
  return `'use strict';
class Stub {
  constructor(config) {
    // bytes (bodies) travel as {"$bin": base64} and are sent as bytes again, the same MessagePack bin the plugin sends
    this.calls = JSON.parse(config.script, (_k, v) => (v && typeof v === 'object' && typeof v.$bin === 'string' ? Buffer.from(v.$bin, 'base64') : v));
  }
${methods}
}
module.exports = { Plugin: Stub, Name: ${JSON.stringify(name)}, Version: '1.0.0', Priority: ${priority}, Schema: [{ script: { type: 'string', required: true } }] };
`;
}

/** One request's PDK calls per phase, read off the wire (the emulator's trace of both directions). */
async function recordCalls(plugin: string, scenario: Scenario, upstream: BenchUpstream): Promise<{ calls: Calls; phases: string[]; priority: number }> {
  const handles = new Map<number, string>();
  const phaseOf = new Map<number, string>();
  const calls: Calls = {};
  let recording = false;
  const kong = new KongEmulator({
    trace: (direction, message) => {
      if (!recording) return;
      const m = message as unknown[];
      if (direction === 'K->P' && m[2] === 'plugin.HandleEvent') handles.set(m[1] as number, (m[3] as Array<{ EventName: string }>)[0].EventName);
      if (direction !== 'P->K' || m[0] !== 1) return;
      const result = m[3] as { EventId?: number; Data?: { Method?: string; Args?: unknown[] } } | null;
      if (!result || result.EventId === undefined) return;
      const handled = handles.get(m[1] as number);
      if (handled) phaseOf.set(result.EventId, handled);
      const phase = phaseOf.get(result.EventId);
      if (phase && result.Data && typeof result.Data.Method === 'string') (calls[phase] ??= []).push([result.Data.Method, result.Data.Args ?? []]);
    },
  });
  try {
    await kong.addServer({ kind: 'ours', pluginsDir: BUILT_PLUGINS, plugin });
    kong.configure({ _format_version: '3.0', services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/r'], plugins: [{ name: plugin, config: scenario.config }] }] }] });
    await kong.request(scenario.request(0)); // instance start, caches
    recording = true;
    await kong.request(scenario.request(0));
    const info = kong.infoFor(plugin)!;
    return { calls, phases: info.Phases, priority: info.Priority };
  } finally {
    await kong.close();
  }
}

async function drive(kong: KongEmulator, scenario: Scenario, inFlight: number, durationMs: number): Promise<number> {
  let done = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      for (let i = lane; performance.now() < deadline; i += inFlight) {
        const res = await kong.request(scenario.request(i));
        if (res.status >= 500) throw new Error(`${scenario.plugin}: ${res.status} ${res.body.toString().slice(0, 200)}`);
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - started);
}

export async function benchPluginStubs(options: StubBenchOptions = {}): Promise<BenchReport> {
  const { durationMs = 2000, inFlight = 64, rounds = 3 } = options;
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, unknown> = {};
  for (const scenario of SCENARIOS) {
    progress(`plugin-stubs: ${scenario.plugin}, ${scenario.name}`);
    const upstream = await startFixedUpstream(scenario.body);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stub-plugins-'));
    const kongs: KongEmulator[] = [];
    try {
      const recorded = await recordCalls(scenario.plugin, scenario, upstream);
      fs.mkdirSync(path.join(dir, 'stub'));
      fs.writeFileSync(path.join(dir, 'stub', 'index.js'), stubModule('stub', recorded.phases, recorded.priority));
      const script = JSON.stringify(
        Object.fromEntries(Object.entries(recorded.calls).map(([phase, list]) => [phase, list.map(([method, args]) => [jsPath(method), args])])),
        (_key, value: unknown) => {
          // a Buffer reaches the replacer as its toJSON() form, a plain Uint8Array as itself
          const bytes = value as { type?: unknown; data?: unknown };
          if (value instanceof Uint8Array) return { $bin: Buffer.from(value).toString('base64') };
          if (bytes && bytes.type === 'Buffer' && Array.isArray(bytes.data)) return { $bin: Buffer.from(bytes.data as number[]).toString('base64') };
          return value;
        },
      );
      const plugin = new KongEmulator();
      const stub = new KongEmulator();
      kongs.push(plugin, stub);
      await plugin.addServer({ kind: 'ours', pluginsDir: BUILT_PLUGINS, plugin: scenario.plugin });
      await stub.addServer({ kind: 'ours', pluginsDir: dir, plugin: 'stub' });
      const route = (name: string, config: Record<string, unknown>) => ({ _format_version: '3.0', services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/r'], plugins: [{ name, config }] }] }] });
      plugin.configure(route(scenario.plugin, scenario.config));
      stub.configure(route('stub', { script }));
      // the stub must make the plugin's calls: same count per phase on the wire
      for (const kong of [plugin, stub]) await drive(kong, scenario, inFlight, 300);
      const pluginRates: number[] = [];
      const stubRates: number[] = [];
      for (let round = 0; round < rounds; round++) {
        pluginRates.push(await drive(plugin, scenario, inFlight, durationMs));
        stubRates.push(await drive(stub, scenario, inFlight, durationMs));
      }
      const calls = Object.values(recorded.calls).reduce((n, list) => n + list.length, 0);
      const p = median(pluginRates);
      const s = median(stubRates);
      rows.push([scenario.plugin, scenario.name, calls, Object.keys(recorded.calls).join('+') || '-', p, s, ratio(p, s)]);
      data[`${scenario.plugin}: ${scenario.name}`] = { calls: recorded.calls, pluginEventsPerSec: p, stubEventsPerSec: s, ratio: p / s };
    } finally {
      for (const kong of kongs) await kong.close();
      await upstream.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    name: 'plugin-stubs',
    tables: [
      {
        title: `each plugin vs a stub making the same PDK calls (same arguments, same phases), ${inFlight} in flight, median of ${rounds} alternating rounds of ${durationMs} ms`,
        columns: ['plugin', 'scenario', 'PDK calls', 'phases with calls', 'plugin req/s', 'stub req/s', 'plugin vs stub'],
        rows,
        notes: ['target >= 0.90x: what the plugin costs beyond its PDK round trips (its own logic, Redis for tenant-quota, masking for pii-masking)'],
      },
    ],
    data,
  };
}

runWhenMain(module, () => benchPluginStubs());
