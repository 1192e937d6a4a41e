import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { loadKongYaml } from '../../devkit/emulator/declarative';
import { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS, ROOT } from '../../devkit/emulator/plugin-server-process';
import { startDemoUpstreams, type RunningUpstream } from '../../devkit/gateway/demo-upstreams';
import { createHttpBridge } from '../../devkit/gateway/http-bridge';
import { allQueries, concreteExpr } from '../../devkit/observability/dashboards';
import { demoUpstreams } from '../../devkit/upstreams';
import { configWithRedis } from '../20-e2e/target';
import { freePort } from '../helpers/ports';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers';

/**
 * A real Prometheus (Debian's `prometheus`, on 127.0.0.1, temp dir, bounded time) scrapes every plugin server of
 * kong.yml's demo while traffic goes through the Kong emulator: every dashboard query and every alert expression must
 * parse; queries on the suite's own metrics must return series; the rest (Kong's prometheus plugin, the Redis
 * exporter, plugins not built yet) are listed as returning none. The alert rules are loaded too and must evaluate
 * without error. Skipped, saying so, when no prometheus binary is installed (.ci/run installs it).
 */

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';
const available = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' }).status === 0;
const suite = available ? describe : describe.skip;
const note = available ? '' : ' [SKIPPED: no prometheus binary here (apt-get install prometheus; .ci/run does)]';

interface Entry {
  name: string;
}
const plugins = (JSON.parse(spawnSync(process.execPath, [path.join(ROOT, 'docker', 'plugin-servers.js'), '--format', 'json'], { encoding: 'utf8' }).stdout) as Entry[]).map((e) => e.name);
const alertRules = (YAML.parse(fs.readFileSync(path.join(ROOT, 'observability', 'prometheus', 'alerts.yml'), 'utf8')).groups as Array<{ rules: Array<{ alert: string; expr: string }> }>).flatMap((g) => g.rules);

function get(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

function send(base: string, pathname: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(base + pathname, { headers, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

suite(`dashboards and alerts against a real Prometheus scraping the plugin servers${note}`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-queries-'));
  let redis: RedisServer | undefined;
  let upstreams: RunningUpstream[] = [];
  let kong: KongEmulator | undefined;
  let gateway: http.Server | undefined;
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let prometheusLog = '';

  async function query(expr: string): Promise<{ ok: boolean; error?: string; series: number }> {
    const { body } = await get(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const answer = JSON.parse(body) as { status: string; error?: string; data?: { result: unknown[] } };
    return { ok: answer.status === 'success', error: answer.error, series: answer.data?.result.length ?? 0 };
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    const config = loadKongYaml(configWithRedis(redis.port, dir));
    upstreams = await startDemoUpstreams(demoUpstreams, true, pino({ level: 'silent' }));
    for (const upstream of upstreams) {
      for (const service of config.services) if (service.host === '127.0.0.1' && service.port === upstream.configuredPort) service.port = upstream.port;
    }
    kong = new KongEmulator({ workers: 1 });
    const ports: Record<string, number> = {};
    for (const plugin of plugins) {
      ports[plugin] = await freePort();
      await kong.addServer({ kind: 'ours', pluginsDir: BUILT_PLUGINS, plugin, env: { KONG_PLUGINS_METRICS_PORT: String(ports[plugin]) } });
    }
    kong.configure(config);
    expect(await kong.startAllInstances()).toEqual([]);
    const bridge = createHttpBridge(kong, pino({ level: 'silent' }));
    gateway = http.createServer(bridge.listener);
    await new Promise<void>((resolve) => gateway!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

    // Prometheus scraping each plugin server as docker-compose.yml's does (job kong-plugin-server, label plugin)
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    fs.copyFileSync(path.join(ROOT, 'observability', 'prometheus', 'alerts.yml'), path.join(dir, 'alerts.yml'));
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['alerts.yml'],
      scrape_configs: [{
        job_name: 'kong-plugin-server',
        static_configs: plugins.map((plugin) => ({ targets: [`127.0.0.1:${ports[plugin]}`], labels: { plugin } })),
      }],
    }));
    prometheus = spawn(PROMETHEUS, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--storage.tsdb.retention.time=1h',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stderr?.on('data', (d: Buffer) => (prometheusLog = (prometheusLog + d.toString()).slice(-20_000)));
    await until('Prometheus ready', async () => (await get(`${promUrl}/-/ready`, 1_000)).status === 200, 20_000);

    // traffic through kong.yml's demo routes, spread over several scrapes (rates need two samples)
    for (let round = 0; round < 5; round++) {
      const tenant = `prom-${process.pid}-${round}`;
      for (let i = 0; i < 5; i++) await send(base, '/quota/anything', { 'X-Tenant-ID': tenant }); // free plan: 3/min, then 429
      await send(base, '/quota/anything');
      await send(base, '/tenant/key/anything');
      for (const p of ['/pii/customers', '/pii/customers.xml', '/pii/notes.txt', '/pii/keys', '/pii/clean']) await send(base, p);
      for (const p of ['/versioned/v1/anything', '/versioned/v2/anything', '/versioned/v0/anything', '/versioned/v9/anything']) await send(base, p);
      for (const ua of ['curl/8.4.0', 'sqlmap/1.7.2#stable (https://sqlmap.org)']) await send(base, '/bot-demo/anything', { 'User-Agent': ua });
      await new Promise((r) => setTimeout(r, 1_100));
    }
    await until('every plugin server scraped up', async () => (await query('count(up{job="kong-plugin-server"} == 1)')).series === 1 && (await query('count(up == 1) == ' + plugins.length)).series === 1, 15_000);
    await until('two scrapes after the traffic', async () => (await query('count(count_over_time(kong_plugin_server_events_total[1m]) >= 6)')).series === 1, 15_000);
    await new Promise((r) => setTimeout(r, 2_500)); // one more rule evaluation and a couple of scrapes
  }, 120_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    if (prometheus && prometheus.exitCode === null) await new Promise((r) => prometheus!.once('exit', r));
    if (gateway) await new Promise((r) => gateway!.close(r));
    await kong?.close();
    if (kong) fs.rmSync(kong.prefix, { recursive: true, force: true });
    await Promise.all(upstreams.map((u) => u.close()));
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('every dashboard query parses; those on the suite\'s metrics return series, the rest are listed', async () => {
    const rows: string[] = [];
    const problems: string[] = [];
    for (const q of allQueries()) {
      const result = await query(concreteExpr(q.expr));
      if (!result.ok) problems.push(`${q.dashboard} / ${q.panel}: does not parse: ${result.error}`);
      else if (q.source === 'suite' && !q.needs && result.series === 0) problems.push(`${q.dashboard} / ${q.panel}: no series: ${q.expr}`);
      rows.push(`${result.series > 0 ? 'series' : 'none  '} ${String(result.series).padStart(3)}  ${q.source.padEnd(7)} ${q.dashboard} / ${q.panel}${q.needs && result.series === 0 ? ` (needs ${q.needs})` : ''}`);
    }
    const withSeries = rows.filter((r) => r.startsWith('series')).length;
    process.stdout.write(`dashboard queries: ${rows.length}, with series: ${withSeries}\n${rows.join('\n')}\n`);
    expect(problems).toEqual([]);
  });

  it('every alert expression parses, and the rules evaluate without error in Prometheus', async () => {
    const rows: string[] = [];
    for (const rule of alertRules) {
      const result = await query(rule.expr);
      expect([rule.alert, result.ok, result.error]).toEqual([rule.alert, true, undefined]);
      // the metrics an expression reads (the comparison itself stays quiet on normal traffic)
      const metrics = [...new Set(rule.expr.match(/\b(?:kong|up)[a-z_]*\b(?=\s*[{[)])/g) ?? [])];
      const present: string[] = [];
      for (const metric of metrics) if ((await query(`count(${metric})`)).series > 0) present.push(metric);
      rows.push(`${rule.alert}: reads ${metrics.join(', ')}; with series: ${present.join(', ') || 'none'}`);
    }
    const { body } = await get(`${promUrl}/api/v1/rules`);
    const groups = (JSON.parse(body) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } }).data.groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(alertRules.map((r) => r.alert).sort());
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
    process.stdout.write(`alert expressions: ${alertRules.length}\n${rows.join('\n')}\n`);
  });

  it('the plugin servers\' metrics carry the plugin label Prometheus adds, one target per plugin', async () => {
    for (const plugin of plugins) expect([plugin, (await query(`up{job="kong-plugin-server",plugin="${plugin}"} == 1`)).series]).toEqual([plugin, 1]);
    if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${prometheusLog}`);
  });
});
