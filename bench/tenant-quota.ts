import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KongEmulator } from '../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT } from '../devkit/emulator/plugin-server-process';
import { closeAllRedis, getRedis, type RedisHandle } from '../shared/redis';
import { type BenchReport, progress, ratio, runWhenMain } from './harness/report';
import { startFixedUpstream } from './harness/upstream';

/**
 * tenant-quota through the Kong emulator and our plugin server, against an empty access plugin in the same run:
 * events/s with 64 requests in flight for ~3 s each, Redis round trips per request (INFO commandstats deltas of
 * EVALSHA/EVAL and every other command) and PDK calls per request (counted by the emulator). The emulator and the
 * upstream share the machine with the plugin server: compare ratios, not absolute numbers.
 */
export interface TenantQuotaBenchOptions {
  durationMs?: number;
  inFlight?: number;
  tenants?: number;
}

const FIXTURES = path.join(ROOT, 'bench', 'fixtures', 'plugins');

interface Sample {
  name: string;
  requests: number;
  elapsedMs: number;
  pdkCalls: number;
  statuses: Map<number, number>;
  redisCalls: number;
  scriptCalls: number;
}

async function commandStats(redis: RedisHandle): Promise<{ total: number; scripts: number }> {
  const info = String(await redis.command('info', 'commandstats'));
  let total = 0;
  let scripts = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    total += Number(m[2]);
    if (m[1] === 'evalsha' || m[1] === 'eval') scripts += Number(m[2]);
  }
  return { total, scripts };
}

async function drive(kong: KongEmulator, name: string, inFlight: number, durationMs: number, tenants: number, redis: RedisHandle): Promise<Sample> {
  const run = crypto.randomBytes(3).toString('hex');
  // warm-up: instances, connections, script cache
  await Promise.all(Array.from({ length: inFlight }, (_, i) => kong.request({ path: '/x', headers: { 'X-Tenant-ID': `bench-${run}-${i % tenants}` } })));
  const before = await commandStats(redis);
  const statuses = new Map<number, number>();
  let requests = 0;
  let pdkCalls = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      let i = lane;
      while (performance.now() < deadline) {
        const res = await kong.request({ path: '/x', headers: { 'X-Tenant-ID': `bench-${run}-${i++ % tenants}` } });
        requests++;
        pdkCalls += res.context.pdkCalls;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const after = await commandStats(redis);
  // the two INFO calls themselves are excluded by name
  return { name, requests, elapsedMs, pdkCalls, statuses, redisCalls: after.total - before.total, scriptCalls: after.scripts - before.scripts };
}

function route(upstream: string, plugin: Record<string, unknown>) {
  return { _format_version: '3.0', services: [{ name: 's', url: upstream, routes: [{ name: 'r', paths: ['/'], plugins: [plugin] }] }] };
}

export async function benchTenantQuota(options: TenantQuotaBenchOptions = {}): Promise<BenchReport> {
  const durationMs = options.durationMs ?? Number(process.env.BENCH_ROUND_MS ?? 3000);
  const inFlight = options.inFlight ?? 64;
  const tenants = options.tenants ?? 100;
  const upstream = await startFixedUpstream();
  const redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 2000 });
  await redis.ready(2000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tq-bench-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'tenant-quota'), path.join(dir, 'tenant-quota'));
  const quotaConfig = (extra: Record<string, unknown>) => ({
    name: 'tenant-quota',
    config: {
      identity: { source: 'header', trust_header: true },
      plans: [
        {
          name: 'bench',
          limits: [
            { name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 1_000_000_000, window_seconds: 1 },
            { name: 'window', scope: 'consumer', algorithm: 'sliding_window', limit: 1_000_000_000, window_seconds: 1 },
            { name: 'monthly', scope: 'tenant', algorithm: 'calendar', limit: 1_000_000_000, period: 'month' },
          ],
        },
      ],
      default_plan: 'bench',
      key_prefix: `tqbench`,
      redis: { command_timeout_ms: 1000 },
      ...extra,
    },
  });
  const cases: Array<{ name: string; pluginsDir: string; plugin: Record<string, unknown> }> = [
    { name: 'empty access plugin (baseline)', pluginsDir: FIXTURES, plugin: { name: 'bench-empty' } },
    { name: 'tenant-quota: 3 limits (gcra + sliding + month)', pluginsDir: dir, plugin: quotaConfig({}) },
    { name: 'tenant-quota: 1 gcra limit, IETF headers off', pluginsDir: dir, plugin: { name: 'tenant-quota', config: { ...quotaConfig({}).config, headers: 'none', plans: [{ name: 'bench', limits: [{ name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 1_000_000_000, window_seconds: 1 }] }] } } },
  ];
  const samples: Sample[] = [];
  try {
    for (const c of cases) {
      progress(`tenant-quota bench: ${c.name}`);
      const kong = new KongEmulator({ workers: 2 });
      try {
        await kong.addServer({ kind: 'ours', pluginsDir: c.pluginsDir });
        kong.configure(route(upstream.url, c.plugin));
        samples.push(await drive(kong, c.name, inFlight, durationMs, tenants, redis));
      } finally {
        await kong.close();
      }
    }
  } finally {
    await upstream.close();
    await closeAllRedis();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = samples[0];
  const rate = (s: Sample) => (s.requests / s.elapsedMs) * 1000;
  const rows = samples.map((s) => [
    s.name,
    rate(s),
    ratio(rate(s), rate(base)),
    s.pdkCalls / s.requests,
    s === base ? 0 : s.scriptCalls / s.requests,
    s === base ? 0 : s.redisCalls / s.requests,
    [...s.statuses].map(([k, v]) => `${k}:${v}`).join(' '),
  ]);
  return {
    name: 'tenant-quota',
    tables: [
      {
        title: `tenant-quota vs an empty access plugin (KongEmulator + our plugin server, 2 workers, ${inFlight} in flight, ${durationMs} ms each)`,
        columns: ['case', 'requests/s', 'vs empty', 'PDK calls/req', 'Redis round trips/req (EVALSHA)', 'Redis cmds run/req (inside the script)', 'statuses'],
        rows,
        notes: ['Redis counted with INFO commandstats deltas on 127.0.0.1:6379 (run alone: other clients would count too); commands inside the script cost no round trip.', 'PDK calls: getHeaders + setHeaders (1 with headers off); the log phase (refunds) is one more HandleEvent with no PDK call.'],
      },
    ],
    data: { samples: samples.map((s) => ({ ...s, statuses: Object.fromEntries(s.statuses) })) },
  };
}

runWhenMain(module, () => benchTenantQuota());
