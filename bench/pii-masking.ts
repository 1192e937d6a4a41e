import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KongEmulator } from '../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT, type ServerKind } from '../devkit/emulator/plugin-server-process';
import { KeyContexts } from '../plugins/pii-masking/detectors/key-context';
import { clearPhoneCache } from '../plugins/pii-masking/detectors/phone';
import { BUILTIN_TYPES, DetectorRegistry } from '../plugins/pii-masking/detectors/registry';
import { FieldRules } from '../plugins/pii-masking/field-rules';
import { maskJson, type JsonMaskDeps } from '../plugins/pii-masking/json-masker';
import { Masker } from '../plugins/pii-masking/modes';
import { DEFAULT_MASK_KEYS } from '../plugins/pii-masking/schema';
import { maskText } from '../plugins/pii-masking/text-masker';
import { MaskReport, ValueMasker } from '../plugins/pii-masking/value-masker';
import { type BenchReport, type BenchTable, median, progress, runWhenMain } from './harness/report';
import { startFixedUpstream } from './harness/upstream';
import { childLogger } from '../shared/observability/log';
import type { Pdk } from '../shared/pdk';
import { defineSchema, type ConfigCheck } from '../shared/schema/schema';
import type { PiiMaskingConfig } from '../plugins/pii-masking/config';
import { PiiMaskingHandler } from '../plugins/pii-masking/handler';
import { checks, fields } from '../plugins/pii-masking/schema';

/**
 * pii-masking throughput, every ratio against a baseline measured in the same run:
 * 1. In-process MB/s masking 64 KB and 1 MB JSON bodies (zero config: every detector, redact) against
 *    JSON.parse + JSON.stringify of the same bytes (what a re-serializing masker pays before it scans anything).
 * 2. Text MB/s (the same bytes scanned as text/plain).
 * 3. End to end through the Kong emulator and a real plugin server: events/s for a 4 KB JSON response through
 *    pii-masking against an empty response-phase plugin (both make Kong buffer the response).
 * Run alone: `npm run build && node dist/bench/pii-masking.js`.
 */
const FIRST = ['john', 'maria', 'li', 'ahmed', 'olga', 'sam', 'anna', 'raj'];

/** A typical API list response: ids, 64-bit numbers, timestamps, floats, text; PII in ~1 of 4 records. */
export function apiBody(bytes: number): Buffer {
  const items: string[] = [];
  let size = 12;
  for (let i = 0; size < bytes; i++) {
    const name = FIRST[i % FIRST.length];
    const record = {
      id: `9007199254${String(740993 + i)}`,
      uuid: `550e8400-e29b-41d4-a716-${String(446655440000 + i)}`,
      name: `${name} ${i}`,
      email: i % 4 === 0 ? `${name}.${i}@example.com` : null,
      phone: i % 8 === 0 ? `+44 20 7946 ${String(1000 + (i % 9000))}` : null,
      created_at: '2024-01-15T10:30:00Z',
      score: 1.5e10 + i,
      price: 19.99,
      tags: ['alpha', 'beta'],
      address: { street: `${i} Main Street`, city: 'Springfield', zip: '62704-1234' },
      note: i % 16 === 0 ? 'card 4111 1111 1111 1111 on file' : 'shipped via ground, version 2.14.1',
    };
    const text = JSON.stringify(record).replace(/"id":"(\d+)"/, '"id":$1');
    items.push(text);
    size += text.length + 1;
  }
  return Buffer.from(`{"items":[${items.join(',')}]}`);
}

function zeroConfigDeps(): JsonMaskDeps {
  const registry = new DetectorRegistry({ types: BUILTIN_TYPES, defaultRegion: 'US', custom: [] });
  const values = new ValueMasker(registry, new Masker(Buffer.from('bench-key-0123456789abcdef')), new Map(), 'redact', 'redact');
  return { values, keys: new KeyContexts(), rules: new FieldRules(DEFAULT_MASK_KEYS, []) };
}

function mbPerSecond(bytes: number, fn: () => void, minMs = 400): number {
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    let iterations = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      fn();
      iterations++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    } while (elapsed < minMs / 5);
    samples.push((bytes * iterations) / (elapsed / 1000) / 1e6);
  }
  return median(samples);
}

function inProcess(): { table: BenchTable; data: Record<string, unknown> } {
  const deps = zeroConfigDeps();
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, unknown> = {};
  for (const [label, bytes] of [['64 KB', 64 * 1024], ['1 MB', 1024 * 1024], ['8 MB', 8 * 1024 * 1024]] as const) {
    const body = apiBody(bytes);
    // what the plugin does with a body: latin1 view in, masked bytes out
    const maskOnce = () => {
      const out = maskJson(body.toString('latin1'), deps, new MaskReport()).output;
      if (out !== undefined) Buffer.from(out, 'latin1');
    };
    const parseStringifyOnce = () => Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
    // warm-up: both sides reach their optimized code before anything is measured
    mbPerSecond(body.length, maskOnce, 1000);
    mbPerSecond(body.length, parseStringifyOnce, 300);
    const mask = mbPerSecond(body.length, maskOnce);
    const cold = mbPerSecond(body.length, () => {
      clearPhoneCache();
      maskOnce();
    });
    const baseline = mbPerSecond(body.length, parseStringifyOnce);
    const text = mbPerSecond(body.length, () => {
      const out = maskText(body.toString('latin1'), deps.values, new MaskReport());
      if (out !== undefined) Buffer.from(out, 'latin1');
    });
    const report = new MaskReport();
    maskJson(body.toString('latin1'), deps, report);
    rows.push([label, body.length, report.total, mask, baseline, `${(baseline / mask).toFixed(2)}x`, cold, `${(baseline / cold).toFixed(2)}x`, text]);
    data[label] = { bytes: body.length, detections: report.total, maskMBps: mask, coldPhoneCacheMBps: cold, parseStringifyMBps: baseline, costRatio: baseline / mask, coldCostRatio: baseline / cold, textMBps: text };
  }
  return {
    table: {
      title: 'pii-masking in process: JSON masking vs JSON.parse + JSON.stringify (same bytes, same run)',
      columns: ['body', 'bytes', 'detections', 'mask MB/s', 'parse+stringify MB/s', 'mask cost / baseline', 'mask MB/s, cold phone cache', 'cold cost / baseline', 'text MB/s'],
      rows,
      notes: [
        'mask cost / baseline = time to mask / time to parse+stringify (target <= 2x); zero config, every detector',
        'phone verdicts are cached per process: "cold" clears the cache before every run, so every number is validated again (~1 us each with the compiled metadata)',
      ],
    },
    data,
  };
}

async function endToEnd(kind: ServerKind, plugin: string, pluginDir: string, upstreamUrl: string, durationMs: number, concurrency: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-bench-'));
  fs.symlinkSync(pluginDir, path.join(dir, plugin));
  const kong = new KongEmulator({ workers: 2 });
  try {
    await kong.addServer({ kind, pluginsDir: dir });
    kong.configure({
      _format_version: '3.0',
      services: [{ name: 's', url: upstreamUrl, routes: [{ name: 'r', paths: ['/'], plugins: [{ name: plugin, config: {} }] }] }],
    });
    for (let i = 0; i < 200; i++) await kong.request({ path: '/warm' });
    let done = 0;
    let calls = 0;
    let masked = 0;
    const deadline = Date.now() + durationMs;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline && done < 200_000) {
          const response = await kong.request({ path: '/items' });
          done++;
          calls += response.context.pdkCalls;
          if (response.source === 'exit') masked++;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { eventsPerSecond: done / seconds, pdkCalls: calls / done, maskedShare: masked / done };
  } finally {
    await kong.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** A stand-in PDK for one event: every call yields to the event loop first, as an IPC round trip does. */
function fakePdk(body: Buffer): Pdk {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const call = <T>(value: T) => async (): Promise<T> => {
    await turn();
    return value;
  };
  const none = async (): Promise<void> => {
    await turn();
  };
  const headers = { 'content-type': ['application/json'], 'content-length': [String(body.length)] };
  return {
    request: { getHeaders: call({ host: ['api'], accept: ['*/*'] }), getRawQuery: call('') },
    serviceRequest: { clearHeader: none, setHeader: none },
    response: { getHeaders: call(headers), getStatus: call(200), exit: none, setHeaders: none, clearHeader: none },
    serviceResponse: { getRawBody: call(body) },
    log: { setSerializeValue: none },
    ctx: { get: call(undefined), set: none },
  } as unknown as Pdk;
}

/**
 * Head-of-line blocking inside the plugin server: the handler (built code, so the worker pool is on) serves small
 * (4 KB) masked events one after another, alone and while 7.5 MB bodies are masked back to back in the same
 * process; every PDK call is a turn of the event loop as in the real server. `PII_MASKING_WORKERS=0` masks inline
 * (the before figure). Through the emulator the numbers would be the emulator's: it shares this process's loop.
 */
export async function headOfLine(durationMs: number): Promise<Record<string, number>> {
  const schema = defineSchema('pii-masking', fields, checks as Array<ConfigCheck<any>>) as unknown as { parse(raw: unknown): { config: PiiMaskingConfig } };
  const config = { ...schema.parse({ token_key: 'bench-key-0123456789abcdef' }).config, failure_policy: 'fail_closed' as const };
  const handler = new PiiMaskingHandler(config, { log: childLogger({ bench: 'pii-masking' }), plugin: 'pii-masking', meta: {} as never, clock: undefined as never });
  const small = apiBody(4 * 1024);
  const big = apiBody(7.5 * 1024 * 1024);
  const event = async (body: Buffer) => {
    const pdk = fakePdk(body);
    await handler.access(pdk);
    await handler.response(pdk);
  };
  for (let i = 0; i < 200; i++) await event(small);
  await event(big);
  const measure = async (): Promise<number[]> => {
    const times: number[] = [];
    for (const deadline = Date.now() + durationMs; Date.now() < deadline; ) {
      const start = process.hrtime.bigint();
      await event(small);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times.sort((x, y) => x - y);
  };
  const alone = await measure();
  let running = true;
  let bigDone = 0;
  const background = (async () => {
    while (running) {
      await event(big);
      bigDone++;
    }
  })();
  const during = await measure();
  running = false;
  await background;
  return { aloneP50: percentile(alone, 0.5), aloneP99: percentile(alone, 0.99), aloneMax: alone[alone.length - 1], duringP50: percentile(during, 0.5), duringP99: percentile(during, 0.99), duringP999: percentile(during, 0.999), duringMax: during[during.length - 1], bigDone };
}

export async function benchPiiMasking(options: { durationMs?: number; concurrency?: number } = {}): Promise<BenchReport> {
  const durationMs = options.durationMs ?? 4000;
  const concurrency = options.concurrency ?? 16;
  progress('pii-masking: in-process throughput');
  const local = inProcess();
  const body = apiBody(4 * 1024);
  const server = await startFixedUpstream(body);
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, unknown> = { inProcess: local.data };
  try {
    for (const kind of ['ours', 'stock'] as ServerKind[]) {
      progress(`pii-masking: end to end (${kind} server)`);
      const empty = await endToEnd(kind, 'empty-response', path.join(ROOT, 'bench', 'fixtures', 'plugins', 'empty-response'), server.url, durationMs, concurrency);
      const pii = await endToEnd(kind, 'pii-masking', path.join(BUILT_PLUGINS, 'pii-masking'), server.url, durationMs, concurrency);
      rows.push([kind, 'empty-response', empty.eventsPerSecond, '1.00x', empty.pdkCalls]);
      rows.push([kind, 'pii-masking', pii.eventsPerSecond, `${(pii.eventsPerSecond / empty.eventsPerSecond).toFixed(2)}x`, pii.pdkCalls]);
      data[kind] = { empty, pii };
    }
  } finally {
    await server.close();
  }
  const latencyRows: Array<Array<string | number>> = [];
  progress('pii-masking: small-event latency while 7.5 MB bodies are masked (worker pool)');
  const pooled = await headOfLine(4000);
  latencyRows.push(['worker pool', pooled.aloneP50, pooled.aloneP99, pooled.duringP50, pooled.duringP99, `${(pooled.duringP99 / pooled.aloneP99).toFixed(2)}x`, pooled.bigDone]);
  data.headOfLine = pooled;
  return {
    name: 'pii-masking',
    tables: [
      local.table,
      {
        title: 'pii-masking head-of-line in the plugin server: 4 KB masked events alone vs while 7.5 MB bodies are masked back to back',
        columns: ['masking', 'alone p50 ms', 'alone p99 ms', 'during p50 ms', 'during p99 ms', 'p99 during / alone', '7.5 MB bodies masked'],
        rows: latencyRows,
        notes: [
          'target: p99 unchanged within 2x; bodies >= 64 KB are masked in the worker pool (mask-pool.ts), so the event loop stays free',
          'inline, for the before figure: PII_MASKING_WORKERS=0 node -e "require(\'./dist/bench/pii-masking\').headOfLine(4000).then(console.log)"',
        ],
      },
      {
        title: `pii-masking end to end: 4 KB JSON response with PII, Kong emulator, ${concurrency} in flight, 2 workers`,
        columns: ['server', 'plugin', 'events/s', 'vs empty-response', 'PDK calls/request'],
        rows,
        notes: ['every pii-masking response is masked (body rewritten with kong.response.exit); both plugins make Kong buffer the response'],
      },
    ],
    data,
  };
}

runWhenMain(module, () => benchPiiMasking());
