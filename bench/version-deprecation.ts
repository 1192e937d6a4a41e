import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KongEmulator } from '../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT } from '../devkit/emulator/plugin-server-process';
import type { ClientRequest } from '../devkit/emulator/request-context';
import { startFixedUpstream } from './harness/upstream';
import { driveEmulator } from './harness/emulator-drive';
import { runWhenMain } from './harness/report';

/**
 * version-deprecation against an empty access plugin, in the same run, through the Kong emulator and our plugin
 * server (one process per plugin, as Kong >= 3.9 deploys them): events/s with 64 requests in flight and PDK calls
 * per request. Run alone: `npm run build && node dist/bench/version-deprecation.js`.
 */
export interface BenchRow {
  scenario: string;
  requests: number;
  eventsPerSecond: number;
  /** Relative to the empty plugin measured in the same run. */
  ratio: number;
  pdkCallsPerRequest: number;
  status: number;
}

export interface BenchResult {
  name: string;
  concurrency: number;
  rows: BenchRow[];
  table: string;
}

export interface BenchOptions {
  /** Measuring time per scenario and round. */
  durationMs?: number;
  /** Upper bound of requests per scenario and round. */
  maxRequests?: number;
  concurrency?: number;
  rounds?: number;
}

const DAY = 86_400_000;

function pluginConfig() {
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    sources: ['header', 'path'],
    path_segment: 2,
    default_version: 'v2',
    versions: [
      {
        name: 'v1',
        deprecated_at: iso(now - 30 * DAY),
        sunset_at: iso(now + 365 * DAY),
        successor: 'v2',
        documentation_url: 'https://docs.example.com/v1',
        sunset_url: 'https://docs.example.com/sunset',
        brownouts: [{ start: iso(now + 10 * DAY), end: iso(now + 10 * DAY + 3_600_000) }],
      },
      { name: 'v2', documentation_url: 'https://docs.example.com/v2' },
      { name: 'v3', documentation_url: 'https://docs.example.com/v3', upstream_path_prefix: '/api/3' },
      { name: 'v0', deprecated_at: iso(now - 400 * DAY), sunset_at: iso(now - DAY), successor: 'v2' },
    ],
  };
}

interface Scenario {
  name: string;
  request: ClientRequest;
}

const consumer = { id: 'c0ffee00-0000-4000-8000-000000000001', username: 'bench-consumer' };

const SCENARIOS: Scenario[] = [
  { name: 'no plugin (emulator + upstream only)', request: { path: '/plain/things' } },
  { name: 'empty access plugin (baseline)', request: { path: '/empty/things' } },
  { name: 'current version v2 (header)', request: { path: '/vd/things', headers: { 'X-API-Version': 'v2' } } },
  { name: 'v3 with path rewrite (path segment)', request: { path: '/vd/v3/things', headers: {} } },
  { name: 'deprecated v1: headers + consumer', request: { path: '/vd/things', headers: { 'X-API-Version': 'v1' }, consumer } },
  { name: 'sunset v0: 410 problem', request: { path: '/vd/things', headers: { 'X-API-Version': 'v0' }, consumer } },
  { name: 'unknown v9: 400 problem', request: { path: '/vd/things', headers: { 'X-API-Version': 'v9' } } },
];

export async function benchVersionDeprecation(options: BenchOptions = {}): Promise<BenchResult> {
  const durationMs = options.durationMs ?? 1500;
  const maxRequests = options.maxRequests ?? 50_000;
  const concurrency = options.concurrency ?? 64;
  const rounds = options.rounds ?? 2;
  const upstream = await startFixedUpstream();
  const pluginsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vd-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'version-deprecation'), path.join(pluginsDir, 'version-deprecation'));
  const kong = new KongEmulator({ workers: 4 });
  try {
    await kong.addServer({ kind: 'ours', pluginsDir, plugin: 'version-deprecation' });
    await kong.addServer({ kind: 'ours', pluginsDir: path.join(ROOT, 'bench', 'fixtures', 'plugins'), plugin: 'empty' });
    kong.configure({
      _format_version: '3.0',
      services: [
        {
          name: 'bench',
          url: upstream.url,
          routes: [
            { name: 'plain', paths: ['/plain'] },
            { name: 'empty', paths: ['/empty'], plugins: [{ name: 'empty' }] },
            { name: 'vd', paths: ['/vd'], plugins: [{ name: 'version-deprecation', config: pluginConfig() }] },
          ],
        },
      ],
    });
    const best = new Map<string, Awaited<ReturnType<typeof driveEmulator>>>();
    for (const scenario of SCENARIOS) await driveEmulator(kong, scenario.request, 300, concurrency, 2000); // warm-up: instances, JIT, sockets
    for (let round = 0; round < rounds; round++) {
      for (const scenario of SCENARIOS) {
        const result = await driveEmulator(kong, scenario.request, durationMs, concurrency, maxRequests);
        const previous = best.get(scenario.name);
        if (!previous || result.eventsPerSecond > previous.eventsPerSecond) best.set(scenario.name, result);
      }
    }
    const baseline = best.get(SCENARIOS[1].name)?.eventsPerSecond ?? 1;
    const rows: BenchRow[] = SCENARIOS.map((s) => {
      const r = best.get(s.name) as Awaited<ReturnType<typeof driveEmulator>>;
      return { scenario: s.name, requests: r.requests, eventsPerSecond: Math.round(r.eventsPerSecond), ratio: r.eventsPerSecond / baseline, pdkCallsPerRequest: r.pdkCalls, status: r.status };
    });
    return { name: 'version-deprecation', concurrency, rows, table: formatRows(rows, concurrency) };
  } finally {
    await kong.close();
    await upstream.close();
    fs.rmSync(pluginsDir, { recursive: true, force: true });
  }
}

function formatRows(rows: BenchRow[], concurrency: number): string {
  const header = ['scenario', 'status', 'req/s', 'vs empty', 'PDK calls/req'];
  const body = rows.map((r) => [r.scenario, String(r.status), String(r.eventsPerSecond), r.ratio.toFixed(2), r.pdkCallsPerRequest.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |\n';
  const rule = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|\n';
  return `version-deprecation bench: Kong emulator, our plugin server, ${concurrency} in flight, Node ${process.version}, ${os.cpus().length} CPUs\n` + line(header) + rule + body.map(line).join('');
}

runWhenMain(module, () => benchVersionDeprecation());
