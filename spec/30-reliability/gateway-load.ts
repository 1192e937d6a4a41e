import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import autocannon from 'autocannon';
import pino from 'pino';
import YAML from 'yaml';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { startGateway, type RunningGateway } from '../../devkit/gateway/gateway';
import { parseOptions } from '../../devkit/gateway/options';
import { rssBytes } from '../helpers/event-driver';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function collectGarbage(): void {
  gc();
  gc();
}

/** Appends measured figures to $RELIABILITY_REPORT (the full-mode runner prints them) and to the test output. */
export function record(section: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ section, at: new Date().toISOString(), ...figures });
  const file = process.env.RELIABILITY_REPORT;
  if (file) fs.appendFileSync(file, line + '\n');
  else if (process.env.RELIABILITY_VERBOSE === '1') process.stdout.write(line + '\n');
}

/** A test upstream for faults: /slow/<ms> answers late, /truncate announces more body than it sends. */
export async function startFaultyUpstream(): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    const slow = /^\/slow\/(\d+)/.exec(url);
    if (slow) {
      setTimeout(() => response.end(JSON.stringify({ email: 'slow.person@example.com', url })), Number(slow[1]));
      return;
    }
    if (url.startsWith('/reflect')) {
      // answers the request body as the response body, typed as the client asked (masker fuzzing)
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        response.writeHead(200, { 'Content-Type': String(request.headers['x-reflect-type'] ?? 'application/json') });
        response.end(Buffer.concat(chunks));
      });
      return;
    }
    if (url.startsWith('/truncate')) {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4000' });
      response.write('{"customers":[{"email":"cut.person@example.com","note":"');
      setTimeout(() => response.destroy(), 20);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ email: 'plain.person@example.com', url }));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * kong.yml as shipped, with every Redis-backed plugin pointed at a private redis-server under a key prefix of its
 * own (the demo keys on 127.0.0.1:6379 stay untouched), plus a `/rel-faulty` route (pii-masking) on a faulty upstream.
 */
export interface FaultEndpoints {
  /** ext_authz provider (startExtAuthz: `x-ext-authz: slow` answers after 2 s) for a CUSTOM policy on /rel-authz. */
  extAuthz?: { host: string; port: number };
  /** DNS server ("ip:port") for bot-guard's crawler verification on /rel-dns (client IP from X-Forwarded-For). */
  dns?: string;
}

export function soakConfig(redisPort: number, faultyUrl: string, dir: string, faults: FaultEndpoints = {}): string {
  const config = YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')) as Record<string, unknown>;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record.key_prefix === 'string') {
      record.key_prefix = `rel${process.pid}${record.key_prefix}`;
      record.redis = { ...(record.redis as object), host: '127.0.0.1', port: redisPort };
    }
    Object.values(record).forEach(visit);
  };
  visit(config);
  (config.services as unknown[]).push({
    name: 'rel-faulty',
    url: faultyUrl,
    routes: [
      {
        name: 'rel-faulty',
        paths: ['/rel-faulty'],
        strip_path: true,
        plugins: [{ name: 'pii-masking', config: { modes: { email: 'token', card: 'partial', secret: 'block' }, token_key: 'reliability-token-key-0123456789abcdef' } }],
      },
    ],
  });
  const routes = (config.services as Array<{ name: string; routes: unknown[] }>).find((s) => s.name === 'rel-faulty')!.routes;
  if (faults.extAuthz) {
    routes.push({
      name: 'rel-authz',
      paths: ['/rel-authz'],
      strip_path: true,
      plugins: [
        {
          name: 'istio-policy-sync',
          config: {
            source: { manifests: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ext, namespace: apis}\nspec:\n  action: CUSTOM\n  provider: {name: opa}\n  rules: [{to: [{operation: {paths: ["/*"]}}]}]\n' },
            workload: { namespace: 'apis', labels: { app: 'faulty' }, port: 80, strip_prefix: '/rel-authz' },
            kong_identity: { principal: 'cluster.local/ns/kong/sa/kong' },
            extension_providers: [{ name: 'opa', envoy_ext_authz_http: { service: faults.extAuthz.host, port: faults.extAuthz.port, timeout_ms: 300, include_request_headers_in_check: ['x-ext-authz'] } }],
          },
        },
      ],
    });
  }
  if (faults.dns) {
    routes.push({
      name: 'rel-dns',
      paths: ['/rel-dns'],
      strip_path: true,
      plugins: [{ name: 'bot-guard', config: { client_ip: { source: 'header' }, verification: { dns_servers: [faults.dns], timeout_ms: 250 } } }],
    });
  }
  const file = path.join(dir, 'kong.yml');
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

export interface SoakGateway {
  gateway: RunningGateway;
  redis: RedisServer;
  url: string;
  dir: string;
  faulty: { url: string; close(): Promise<void> };
  /** RSS in bytes of every process: the gateway (this process: emulator, demo upstreams, load driver), plugin servers, Redis. */
  rss(): Record<string, number>;
  close(): Promise<void>;
}

export async function startSoakGateway(faults: FaultEndpoints = {}, workers = 2, perPlugin = false): Promise<SoakGateway> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reliability-'));
  const redis = await startRedisServer();
  const faulty = await startFaultyUpstream();
  const file = soakConfig(redis.port, faulty.url, dir, faults);
  const options = parseOptions(['--port', '0', '--config', file, '--workers', String(workers), '--ephemeral-upstreams', ...(perPlugin ? ['--per-plugin'] : ['--no-per-plugin'])], {}, ROOT);
  const gateway = await startGateway(options, pino({ level: 'silent' }));
  return {
    gateway,
    redis,
    url: gateway.summary.url,
    dir,
    faulty,
    rss() {
      // the gateway runs in this jest worker, which earlier spec files may have left with garbage (16 MB strings of
      // the adversarial specs): collect it first, so the growth measured is the gateway's
      collectGarbage();
      const out: Record<string, number> = { gateway: process.memoryUsage().rss };
      for (const server of gateway.kong.servers) if (server.pid) out[`server:${server.definition.name}`] = rssBytes(server.pid);
      if (redis.pid) out.redis = rssBytes(redis.pid);
      return out;
    },
    async close() {
      await gateway.close(1000);
      await faulty.close();
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface MixEntry {
  label: string;
  method?: string;
  path: string | (() => string);
  headers?: Record<string, string> | (() => Record<string, string>);
  body?: string;
  /** Statuses the README promises for this request. */
  expect: readonly number[];
  /** Extra check of a body: returns a defect description, or undefined. */
  check?: (status: number, body: string) => string | undefined;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  /** label -> status -> count */
  statuses: Record<string, Record<number, number>>;
  unexpected: Array<{ label: string; status: number; body: string }>;
  defects: Array<{ label: string; defect: string }>;
}

const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** The demo routes of kong.yml, every plugin, with the statuses each may answer under load. */
export function demoMix(): MixEntry[] {
  let tenant = 0;
  const noRawEmail = (status: number, body: string) =>
    status === 200 && /jane\.doe@example\.com|john\.roe@example\.org/.test(body) ? 'unmasked email in a /pii body' : undefined;
  return [
    { label: 'pii json', path: '/pii/customers', expect: [200], check: noRawEmail },
    { label: 'pii xml', path: '/pii/customers.xml', expect: [200], check: noRawEmail },
    { label: 'pii text', path: '/pii/notes.txt', expect: [200], check: noRawEmail },
    { label: 'pii secret', path: '/pii/keys', expect: [502] },
    { label: 'soap', path: '/soap/countries/CH', expect: [200] },
    // 1,000 tenants on the free plan (3/min): mostly 429 once each spent its 3
    { label: 'quota tenants', path: '/quota/anything', headers: () => ({ 'X-Tenant-ID': `t${tenant++ % 1000}` }), expect: [200, 429] },
    { label: 'quota acme', path: '/quota/anything', headers: { 'X-Tenant-ID': 'acme' }, expect: [200, 429] },
    { label: 'version v1', path: '/versioned/v1/anything', expect: [200] },
    { label: 'version v0', path: '/versioned/v0/anything', expect: [410] },
    { label: 'version header', path: '/versioned/anything', headers: { 'X-API-Version': '2' }, expect: [200] },
    // one client fingerprint at hundreds of requests per window: velocity-high may block it (403)
    { label: 'bot browser', path: '/bot-demo/anything', headers: { 'User-Agent': BROWSER_UA, Accept: 'text/html' }, expect: [200, 403] },
    { label: 'bot scanner', path: '/bot-demo/anything', headers: { 'User-Agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' }, expect: [403] },
    { label: 'guard ok', path: '/guarded/orders?status=open', expect: [200] },
    { label: 'guard invalid', path: '/guarded/orders?status=lost', expect: [400] },
    { label: 'guard sqli', path: "/guarded/orders?status=open&q=1'%20or%20'1'='1", expect: [403] },
    {
      label: 'guard post',
      method: 'POST',
      path: '/guarded/orders',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customer: 'acme', items: [{ sku: 'ABC-1234', quantity: 2 }] }),
      expect: [201],
    },
    { label: 'mesh allowed', path: '/mesh/anything', expect: [200] },
    { label: 'mesh unlisted', path: '/mesh-unlisted/anything', expect: [403] },
    { label: 'plain', path: '/demo/anything', expect: [200] },
  ];
}

/** Bounded load on the gateway with the mix (each connection cycles through it); per-label statuses counted. */
export async function runMix(url: string, mix: MixEntry[], seconds: number, connections: number): Promise<LoadResult> {
  const statuses: LoadResult['statuses'] = {};
  const unexpected: LoadResult['unexpected'] = [];
  const defects: LoadResult['defects'] = [];
  const requests = mix.map((entry) => ({
    method: entry.method ?? 'GET',
    path: typeof entry.path === 'string' ? entry.path : '/',
    headers: typeof entry.headers === 'object' ? entry.headers : {},
    body: entry.body,
    setupRequest: (request: Record<string, unknown>) => {
      if (typeof entry.path === 'function') request.path = entry.path();
      if (typeof entry.headers === 'function') request.headers = { ...(request.headers as object), ...entry.headers() };
      return request;
    },
    onResponse: (status: number, body: string) => {
      const byStatus = (statuses[entry.label] ??= {});
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (!entry.expect.includes(status) && !unexpected.some((u) => u.label === entry.label && u.status === status)) unexpected.push({ label: entry.label, status, body: String(body).slice(0, 300) });
      const defect = entry.check?.(status, String(body));
      if (defect && defects.length < 5) defects.push({ label: entry.label, defect });
    },
  }));
  const result = await autocannon({ url, connections, duration: seconds, requests, timeout: 20 });
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    unexpected,
    defects,
  };
}

/** One request with Node's client (its own connection), for probes during faults. */
export function get(url: string, headers: Record<string, string | string[]> = {}, method = 'GET', body?: string | Buffer): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

export const MB = 1024 * 1024;
