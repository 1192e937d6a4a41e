import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KongEmulator } from '../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT } from '../devkit/emulator/plugin-server-process';
import type { ClientRequest } from '../devkit/emulator/request-context';
import { fillDefaults, type KongFields } from '../devkit/emulator/kong-schema';
import { Schema } from '../plugins/request-guard';
import { Contract } from '../plugins/request-guard/contract';
import { decodedForms } from '../plugins/request-guard/decode';
import { readContract } from '../plugins/request-guard/document';
import { Guard, scannerFrom, settingsFrom, type RequestHead } from '../plugins/request-guard/guard';
import type { RequestGuardConfig } from '../plugins/request-guard/schema';
import { CATEGORIES, DETECTORS } from '../plugins/request-guard/detectors';
import { runWhenMain, type BenchReport, type BenchTable } from './harness/report';
import { driveEmulator } from './harness/emulator-drive';
import { startFixedUpstream } from './harness/upstream';

/**
 * request-guard: (1) events/s through the Kong emulator and our plugin server, each request against an empty access
 * plugin given the same request in the same run, with PDK calls per request; (2) the detectors in process: MB/s on
 * 1 MB benign and adversarial inputs (decoding + all six categories). Bounded: each scenario runs `durationMs`
 * (and at most 100,000 requests) three times, the best round kept; (3) the guard's decision alone, in process
 * (no PDK, no IPC), per request. `npm run build && node dist/bench/request-guard.js`.
 */
const CONTRACT = `
openapi: 3.1.0
info: { title: request-guard bench, version: 1.0.0 }
servers: [{ url: /rg }]
paths:
  /orders:
    get:
      operationId: listOrders
      parameters:
        - { name: status, in: query, schema: { type: string, enum: [open, shipped, cancelled] } }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100 } }
        - { name: q, in: query, schema: { type: string, maxLength: 200 } }
      responses: { '200': { description: ok } }
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [customer, items]
              additionalProperties: false
              properties:
                customer:
                  type: object
                  required: [name, email]
                  properties: { name: { type: string, maxLength: 200 }, email: { type: string, format: email } }
                items:
                  type: array
                  maxItems: 200
                  items:
                    type: object
                    required: [sku, quantity, price]
                    properties:
                      sku: { type: string, pattern: '^[A-Z]{3}-[0-9]{4}$' }
                      quantity: { type: integer, minimum: 1 }
                      price: { type: number, exclusiveMinimum: 0 }
                      title: { type: string, maxLength: 120 }
                note: { type: string, maxLength: 1000 }
      responses: { '201': { description: created } }
`;

/** A valid order of about 4 KB: names with apostrophes, prose with semicolons (values the detectors must pass). */
export function orderBody(bytes = 4096): string {
  const order = { customer: { name: "Siobhán O'Brien", email: 'siobhan@example.com' }, items: [] as object[], note: 'Please select the blue one; or drop it at the door.' };
  const titles = ["Rock 'n' roll T-shirt", 'Fish & Chips plate', 'Union Station print', 'Tom & Jerry mug', 'Select coffee, 250 g'];
  for (let i = 0; JSON.stringify(order).length < bytes - 60; i++) {
    order.items.push({ sku: `ABC-${String(1000 + i).padStart(4, '0')}`, quantity: 1 + (i % 5), price: 9.5 + i, title: titles[i % titles.length] });
  }
  return JSON.stringify(order);
}

function scenarios(): Array<{ name: string; request: ClientRequest }> {
  const body = orderBody();
  const json = { 'Content-Type': 'application/json' };
  return [
    { name: `GET with query (status, limit, q), valid`, request: { path: '/orders?status=open&limit=20&q=O%27Brien%20%26%20sons' } },
    { name: `POST ${body.length} B JSON, validated (createOrder)`, request: { method: 'POST', path: '/orders', headers: json, body } },
    { name: `GET with SQL injection in q, blocked (403)`, request: { path: "/orders?status=open&q=1'%20UNION%20SELECT%20password%20FROM%20users--" } },
  ];
}


export async function throughputTable(durationMs = 1000, concurrency = 64): Promise<BenchTable> {
  const upstream = await startFixedUpstream();
  const pluginsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rg-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'request-guard'), path.join(pluginsDir, 'request-guard'));
  const kong = new KongEmulator({ workers: 4 });
  try {
    await kong.addServer({ kind: 'ours', pluginsDir, plugin: 'request-guard' });
    await kong.addServer({ kind: 'ours', pluginsDir: path.join(ROOT, 'bench', 'fixtures', 'plugins'), plugin: 'empty' });
    kong.configure({
      _format_version: '3.0',
      services: [{
        name: 'bench',
        url: upstream.url,
        routes: [
          { name: 'empty', paths: ['/empty'], plugins: [{ name: 'empty' }] },
          { name: 'rg', paths: ['/rg'], strip_path: false, plugins: [{ name: 'request-guard', config: { openapi_spec: CONTRACT } }] },
        ],
      }],
    });
    const cases = scenarios().flatMap((s) => [
      { key: `empty ${s.name}`, request: { ...s.request, path: `/empty${s.request.path}` } },
      { key: `rg ${s.name}`, request: { ...s.request, path: `/rg${s.request.path}` } },
    ]);
    for (const c of cases) await driveEmulator(kong, c.request, 250, concurrency); // warm-up (compiles the contract)
    const best = new Map<string, Awaited<ReturnType<typeof driveEmulator>>>();
    for (let round = 0; round < 3; round++) {
      for (const c of cases) {
        const r = await driveEmulator(kong, c.request, durationMs, concurrency);
        if (!best.has(c.key) || r.eventsPerSecond > best.get(c.key)!.eventsPerSecond) best.set(c.key, r);
      }
    }
    if (kong.errors.length) throw new Error(`emulator errors: ${kong.errors.slice(0, 3).join('; ')}`);
    return {
      title: `request-guard through the Kong emulator and our plugin server vs an empty access plugin, same request (${concurrency} in flight, ${os.cpus().length} CPUs, best of 3 x ${durationMs} ms)`,
      columns: ['request', 'status', 'empty events/s', 'request-guard events/s', 'ratio', 'added us/req', 'PDK calls/req (empty, guard)'],
      rows: scenarios().map((s) => {
        const e = best.get(`empty ${s.name}`)!;
        const g = best.get(`rg ${s.name}`)!;
        return [s.name, g.status, e.eventsPerSecond, g.eventsPerSecond, g.eventsPerSecond / e.eventsPerSecond, 1e6 / g.eventsPerSecond - 1e6 / e.eventsPerSecond, `${e.pdkCalls.toFixed(0)}, ${g.pdkCalls.toFixed(0)}`];
      }),
      notes: ['contract: inline OpenAPI 3.1, GET with 3 declared query parameters, POST with a JSON body schema (pattern, format email, 200 items max); injection: all six categories, block'],
    };
  } finally {
    await kong.close();
    await upstream.close();
    fs.rmSync(pluginsDir, { recursive: true, force: true });
  }
}

const MB = 1 << 20;

function repeatTo(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/** 1 MB inputs: benign prose and data, and runs of the characters the scanners branch on (linear-time.spec.ts). */
export function detectorInputs(): Array<{ name: string; value: string }> {
  const benignFile = path.join(ROOT, 'spec', 'fixtures', 'request-guard', 'benign', 'openapi-docs-prose.json');
  const prose = (JSON.parse(fs.readFileSync(benignFile, 'utf8')) as { values: string[] }).values.join(' ');
  return [
    { name: 'benign: OpenAPI documentation prose', value: repeatTo(prose + ' ', MB) },
    { name: 'benign: Stripe-like JSON text (orderBody)', value: repeatTo(orderBody(), MB) },
    { name: "adversarial: runs of \"' or \"", value: repeatTo("' or ", MB) },
    { name: 'adversarial: runs of ";" and "|"', value: repeatTo(';|', MB) },
    { name: 'adversarial: runs of "`"', value: repeatTo('`', MB) },
    { name: 'adversarial: runs of "%25" (decoding)', value: repeatTo('%25', MB) },
    { name: 'adversarial: runs of "<" and "on"', value: repeatTo('<on', MB) },
    { name: 'adversarial: runs of ".."', value: repeatTo('..', MB) },
  ];
}

/** Decoding (3 passes, the default) and every category's detector on every decoded form, no short-circuit. */
function scanAll(value: string): number {
  let hits = 0;
  for (const form of decodedForms(value, 3)) for (const category of CATEGORIES) if (DETECTORS[category](form)) hits++;
  return hits;
}

/** CPU time of the fastest of `rounds` runs, and stop early past `budgetMs` of wall time. */
function bestMs(work: () => void, rounds = 5, budgetMs = 3000): number {
  let best = Infinity;
  const stop = Date.now() + budgetMs;
  for (let r = 0; r < rounds && (r === 0 || Date.now() < stop); r++) {
    const t0 = process.cpuUsage();
    work();
    const used = process.cpuUsage(t0);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

export function detectorTable(): BenchTable {
  const rows: Array<Array<string | number>> = [];
  for (const { name, value } of detectorInputs()) {
    let hits = 0;
    const all = bestMs(() => {
      hits = scanAll(value);
    });
    let slowest = '';
    let slowestMs = 0;
    for (const category of CATEGORIES) {
      const ms = bestMs(() => void DETECTORS[category](value), 3, 1000);
      if (ms > slowestMs) [slowest, slowestMs] = [category, ms];
    }
    rows.push([name, hits, value.length / MB / (all / 1000), `${slowest} ${(value.length / MB / (slowestMs / 1000)).toFixed(0)}`]);
  }
  return {
    title: `request-guard detectors in process on 1 MB inputs (CPU time, fastest of 5, Node ${process.version})`,
    columns: ['input', 'flags (forms x categories)', 'MB/s, decode + all 6', 'slowest detector, MB/s'],
    rows,
    notes: ['a client value is at most limits.max_string_length (64 KiB by default); 1 MB shows the per-byte cost'],
  };
}

/** The decision alone: Guard.head (+ Guard.body) on the same requests, in this process, CPU us per request. */
export async function decisionTable(iterations = 2000): Promise<BenchTable> {
  const config = fillDefaults(Schema as unknown as KongFields, { openapi_spec: CONTRACT }) as unknown as RequestGuardConfig;
  const guard = new Guard(await Contract.compile(readContract(config), config.base_path ?? undefined), scannerFrom(config), settingsFrom(config));
  const rows: Array<Array<string | number>> = [];
  for (const { name, request } of scenarios()) {
    const [pathOnly, rawQuery = ''] = `/rg${request.path}`.split('?');
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const headers: Record<string, string[]> = { host: ['bench'] };
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = Array.isArray(v) ? v : [v];
    if (body) headers['content-length'] = [String(body.length)];
    const head: RequestHead = { method: request.method ?? 'GET', path: pathOnly, rawQuery, headers, headersTruncated: false };
    let outcome = '';
    const once = () => {
      let verdict = guard.head(head);
      if (verdict.kind === 'body') verdict = guard.body(verdict.state, body);
      outcome = verdict.kind === 'reject' ? `reject (${verdict.reason})` : verdict.kind;
    };
    for (let i = 0; i < 200; i++) once(); // warm-up
    const ms = bestMs(() => {
      for (let i = 0; i < iterations; i++) once();
    }, 5, 3000);
    rows.push([name, outcome, (ms * 1000) / iterations]);
  }
  return {
    title: `request-guard decision in process (Guard.head + body, no PDK, CPU time, fastest of 5 x ${iterations})`,
    columns: ['request', 'verdict', 'us/request'],
    rows,
  };
}

export async function benchRequestGuard(): Promise<BenchReport> {
  const tables = [detectorTable(), await decisionTable(), await throughputTable()];
  return { name: 'request-guard', tables };
}

runWhenMain(module, () => benchRequestGuard());
