import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as soap from 'soap';
import { KongEmulator } from '../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT } from '../devkit/emulator/plugin-server-process';
import type { ClientRequest } from '../devkit/emulator/request-context';
import { startSoapServices, WSDL_DIR } from '../devkit/upstreams/soap-services';
import { Translator } from '../plugins/rest-to-soap/translator';
import { compileService } from '../plugins/rest-to-soap/wsdl/operations';
import { type BenchReport, type BenchTable, runWhenMain } from './harness/report';
import { startFixedUpstream } from './harness/upstream';
import { driveEmulator } from './harness/emulator-drive';

/**
 * rest-to-soap, in the same run:
 * 1. translation cost in-process for one ~5 KB payload (PlaceOrder of the WCF-style OrderService, SOAP 1.2):
 *    ours = JSON text -> validated envelope, then the real node-soap server's answer -> JSON text; node-soap's
 *    client on the same operation = JS object -> envelope -> JS object (its httpClient answering the same bytes at
 *    once, so no network on either side).
 * 2. events/s through the Kong emulator and our plugin server, 64 in flight, against an empty access plugin and an
 *    empty response plugin (buffered proxying), the upstream answering the canned SOAP response.
 * Run alone: `npm run build && node dist/bench/rest-to-soap.js`.
 */
const LINES = 60;
const WSDL = path.join(WSDL_DIR, 'orders', 'OrderService.wsdl');
const LIMITS = { maxBytes: 8 << 20, maxDepth: 64, maxElements: 100_000, maxAttributes: 64, maxNamespaces: 32, maxNameLength: 256, maxTextLength: 1 << 20 };

function payload(): Record<string, unknown> {
  const lines = Array.from({ length: LINES }, (_, i) => ({ sku: `ABC-${String(1000 + i)}`, quantity: (i % 7) + 1, unitPrice: Number(((i % 13) + 0.99).toFixed(2)) }));
  return { customer: 'ACME Corporation, purchasing department', lines: { OrderLine: lines }, note: 'deliver to the loading dock', express: true };
}

function time(fn: () => unknown, minMs = 1500): { usPerOp: number; ops: number } {
  for (let i = 0; i < 200; i++) fn();
  let ops = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs * 1e6) {
    for (let i = 0; i < 50; i++) fn();
    ops += 50;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  return { usPerOp: elapsed / 1e3 / ops, ops };
}

async function timeAsync(fn: () => Promise<unknown>, minMs = 1500): Promise<{ usPerOp: number; ops: number }> {
  for (let i = 0; i < 200; i++) await fn();
  let ops = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs * 1e6) {
    for (let i = 0; i < 50; i++) await fn();
    ops += 50;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  return { usPerOp: elapsed / 1e3 / ops, ops };
}

export interface TranslationResult {
  requestJsonBytes: number;
  responseXmlBytes: number;
  oursUs: number;
  oursRequestUs: number;
  oursResponseUs: number;
  nodeSoapUs: number;
  responseXml: string;
}

export async function measureTranslation(minMs = 1500): Promise<TranslationResult> {
  const translator = new Translator(compileService({ path: WSDL }, { version: '1.2' }), { mappings: [], defaultRoutes: true, unwrap: 'wrapper', limits: LIMITS });
  const body = Buffer.from(JSON.stringify(payload()));
  const request = { method: 'POST', path: '/orders/PlaceOrder', body };
  const plan = translator.request(request);
  if (plan.kind !== 'soap') throw new Error(`bench payload refused: ${JSON.stringify(plan)}`);
  // the real node-soap server's answer to this very envelope
  const services = await startSoapServices();
  let responseXml: string;
  try {
    const res = await fetch(services.url + plan.path, { method: 'POST', headers: plan.headers, body: plan.envelope });
    responseXml = await res.text();
  } finally {
    await services.close();
  }
  if (!translator.response(responseXml).json) throw new Error('bench response not translated');
  const ours = time(() => {
    const p = translator.request(request);
    if (p.kind !== 'soap') throw new Error('refused');
    return translator.response(responseXml).json;
  }, minMs);
  const oursRequest = time(() => translator.request(request), minMs / 2);
  const oursResponse = time(() => translator.response(responseXml), minMs / 2);
  const httpClient = { request: (_url: string, _data: unknown, callback: (err: unknown, res: unknown, body: string) => void) => { callback(null, { statusCode: 200, headers: {}, data: responseXml }, responseXml); return {}; } };
  const client = await soap.createClientAsync(WSDL, { httpClient, forceSoap12Headers: true } as never, 'http://127.0.0.1:1/Shop/OrderService.svc/soap12');
  client.setEndpoint('http://127.0.0.1:1/Shop/OrderService.svc/soap12');
  const args = payload();
  const method = (client as unknown as Record<string, (a: unknown) => Promise<unknown>>).PlaceOrderAsync;
  const check = (await method(args)) as unknown[];
  if (!check?.[0]) throw new Error('node-soap client returned nothing');
  const nodeSoap = await timeAsync(() => method(args), minMs);
  return { requestJsonBytes: body.length, responseXmlBytes: Buffer.byteLength(responseXml), oursUs: ours.usPerOp, oursRequestUs: oursRequest.usPerOp, oursResponseUs: oursResponse.usPerOp, nodeSoapUs: nodeSoap.usPerOp, responseXml };
}

export async function benchRestToSoap(): Promise<BenchReport> {
  const t = await measureTranslation();
  const translation: BenchTable = {
    title: `rest-to-soap translation, PlaceOrder (SOAP 1.2, ${LINES} lines): ${t.requestJsonBytes} B JSON in, ${t.responseXmlBytes} B SOAP out, Node ${process.version}`,
    columns: ['pipeline', 'us/op', 'vs node-soap client'],
    rows: [
      ['ours: JSON -> SOAP -> JSON', t.oursUs, t.nodeSoapUs / t.oursUs],
      ['  request only (parse, ajv, envelope)', t.oursRequestUs, ''],
      ['  response only (scan with limits, typed JSON)', t.oursResponseUs, ''],
      ['node-soap 1.13 client, same operation (object -> SOAP -> object)', t.nodeSoapUs, 1],
    ],
    notes: ['"vs node-soap client" = how many times faster than node-soap on the same payload, measured in this run.'],
  };
  const upstream = await startFixedUpstream(Buffer.from(t.responseXml));
  const pluginsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-r2s-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'rest-to-soap'), path.join(pluginsDir, 'rest-to-soap'));
  const kong = new KongEmulator({ workers: 4 });
  const concurrency = 64;
  try {
    await kong.addServer({ kind: 'ours', pluginsDir, plugin: 'rest-to-soap' });
    const fixtures = path.join(ROOT, 'bench', 'fixtures', 'plugins');
    await kong.addServer({ kind: 'ours', pluginsDir: fixtures, plugin: 'empty' });
    await kong.addServer({ kind: 'ours', pluginsDir: fixtures, plugin: 'empty-response' });
    kong.configure({
      _format_version: '3.0',
      services: [
        {
          name: 'bench',
          url: upstream.url,
          routes: [
            { name: 'empty', paths: ['/empty'], plugins: [{ name: 'empty' }] },
            { name: 'empty-response', paths: ['/empty-response'], plugins: [{ name: 'empty-response' }] },
            { name: 'r2s', paths: ['/orders'], plugins: [{ name: 'rest-to-soap', config: { wsdl_path: WSDL, soap_version: '1.2' } }] },
          ],
        },
      ],
    });
    const body = Buffer.from(JSON.stringify(payload()));
    const scenarios: Array<[string, ClientRequest]> = [
      ['empty access plugin (baseline)', { method: 'POST', path: '/empty/PlaceOrder', body }],
      ['empty response plugin (buffered)', { method: 'POST', path: '/empty-response/PlaceOrder', body }],
      ['rest-to-soap PlaceOrder (5 KB both ways)', { method: 'POST', path: '/orders/PlaceOrder', headers: { 'Content-Type': 'application/json' }, body }],
      ['rest-to-soap 400 (invalid field, no upstream)', { method: 'POST', path: '/orders/PlaceOrder', body: Buffer.from('{"customer":"x","lines":{"OrderLine":[{"sku":"bad","quantity":1}]}}') }],
    ];
    for (const [, request] of scenarios) await driveEmulator(kong, request, 300, concurrency);
    const best = new Map<string, Awaited<ReturnType<typeof driveEmulator>>>();
    for (let round = 0; round < 2; round++) {
      for (const [name, request] of scenarios) {
        const r = await driveEmulator(kong, request, 1500, concurrency);
        if (!best.has(name) || r.eventsPerSecond > (best.get(name) as { eventsPerSecond: number }).eventsPerSecond) best.set(name, r);
      }
    }
    const baseline = (best.get(scenarios[0][0]) as { eventsPerSecond: number }).eventsPerSecond;
    const events: BenchTable = {
      title: `rest-to-soap through the Kong emulator and our plugin server, ${concurrency} in flight, ${os.cpus().length} CPUs`,
      columns: ['scenario', 'status', 'req/s', 'vs empty', 'PDK calls/req'],
      rows: scenarios.map(([name]) => {
        const r = best.get(name) as Awaited<ReturnType<typeof driveEmulator>>;
        return [name, String(r.status), r.eventsPerSecond, r.eventsPerSecond / baseline, r.pdkCalls];
      }),
    };
    return { name: 'rest-to-soap', tables: [translation, events], data: { translation: { ...t, responseXml: undefined }, events: Object.fromEntries(best) } };
  } finally {
    await kong.close();
    await upstream.close();
    fs.rmSync(pluginsDir, { recursive: true, force: true });
  }
}

runWhenMain(module, () => benchRestToSoap());
