import crypto from 'node:crypto';
import Redis from 'ioredis';
import { RateLimiterRedis, RateLimiterUnion } from 'rate-limiter-flexible';
import { fillDefaults, type KongFields } from '../devkit/emulator/kong-schema';
import { BUILT_PLUGINS, PluginServerProcess, serverDefinition } from '../devkit/emulator/plugin-server-process';
import { type BenchReport, median, progress, ratio, runWhenMain } from './harness/report';

/**
 * tenant-quota's decision against rate-limiter-flexible's on the same Redis (127.0.0.1:6379), side by side in one
 * run, in process (no plugin server, no emulator: the decision alone), 16 decisions in flight, own key prefixes.
 * tenant-quota runs its real plugin class (definePlugin, handler, enforcer, one EVALSHA) behind a PDK stub answering
 * get_headers; rate-limiter-flexible runs RateLimiterRedis (fixed window) and, for several limits, RateLimiterUnion
 * (one consume per limiter: several round trips, not atomic). `npm run build && node dist/bench/tenant-quota-vs-rlf.js`.
 */
export interface RlfBenchOptions {
  durationMs?: number;
  inFlight?: number;
  rounds?: number;
  tenants?: number;
}

const RUN = crypto.randomBytes(3).toString('hex');
const BIG = 1_000_000_000;

interface Contender {
  name: string;
  decide(tenant: string): Promise<unknown>;
}

async function tenantQuotaContender(name: string, limits: unknown[]): Promise<Contender> {
  const previous = process.env.KONG_PLUGINS_LOG_LEVEL;
  process.env.KONG_PLUGINS_LOG_LEVEL = 'silent';
  const info = new PluginServerProcess(serverDefinition('ours', BUILT_PLUGINS, BUILT_PLUGINS, 'tenant-quota')).query()[0];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const plugin = require('../plugins/tenant-quota') as { Plugin: new (config: unknown) => { access(kong: unknown): Promise<void> } };
  if (previous === undefined) delete process.env.KONG_PLUGINS_LOG_LEVEL;
  else process.env.KONG_PLUGINS_LOG_LEVEL = previous;
  const raw = {
    identity: { source: 'header', trust_header: true },
    plans: [{ name: 'p', limits }],
    default_plan: 'p',
    key_prefix: `tqrlf${RUN}`,
    headers: 'none',
    redis: { command_timeout_ms: 2000 },
  };
  const config = { ...fillDefaults(info.Schema.fields[0].config.fields as KongFields, raw), __seq__: 1, __plugin_id: `bench-${name}`, route_id: null, service_id: null, consumer_id: null };
  const instance = new plugin.Plugin(config);
  // the PDK as the handler sees it: only get_headers is answered; an exit (429/503) would be a bench error
  const kongFor = (tenant: string) => ({
    request: { get_headers: async () => ({ 'x-tenant-id': [tenant] }), getHeaders: async () => ({ 'x-tenant-id': [tenant] }) },
    response: new Proxy({}, { get: (_t, method: string) => async (...args: unknown[]) => {
      if (method === 'exit') throw new Error(`tenant-quota answered ${JSON.stringify(args).slice(0, 200)}`);
    } }),
    ctx: { shared: { set: async () => undefined, get: async () => undefined } },
    log: new Proxy({}, { get: () => async () => undefined }),
  });
  return { name, decide: (tenant) => instance.access(kongFor(tenant)) };
}

function rlfContender(name: string, redis: Redis, windows: number[]): Contender {
  const limiters = windows.map((duration, i) => new RateLimiterRedis({ storeClient: redis, points: BIG, duration, keyPrefix: `rlf${RUN}l${i}` }));
  if (limiters.length === 1) return { name, decide: (tenant) => limiters[0].consume(tenant, 1) };
  const union = new RateLimiterUnion(...limiters);
  return { name, decide: (tenant) => union.consume(tenant, 1) };
}

/** Commands (incl. those inside scripts) and Redis-side microseconds so far, from INFO commandstats. */
async function commandCalls(redis: Redis): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls += Number(m[2]);
    // a script's usec includes the commands it ran, which are counted again under their own names
    if (m[1] === 'evalsha' || m[1] === 'eval') usec += Number(m[3]);
  }
  return { calls, usec };
}

async function drive(contender: Contender, inFlight: number, durationMs: number, tenants: number, redis: Redis) {
  const before = await commandCalls(redis);
  let done = 0;
  let latencySum = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      for (let i = lane; performance.now() < deadline; i += inFlight) {
        const t0 = performance.now();
        await contender.decide(`t${i % tenants}`);
        latencySum += performance.now() - t0;
        done++;
      }
    }),
  );
  const elapsed = performance.now() - started;
  const after = await commandCalls(redis);
  return { perSecond: (done * 1000) / elapsed, latencyMs: latencySum / done, commandsPerDecision: (after.calls - before.calls) / done, redisUsPerDecision: (after.usec - before.usec) / done };
}

export async function benchTenantQuotaVsRlf(options: RlfBenchOptions = {}): Promise<BenchReport> {
  const { durationMs = 1500, inFlight = 16, rounds = 5, tenants = 64 } = options;
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await redis.connect();
  const gcra = { name: 'm', scope: 'tenant', algorithm: 'gcra', limit: BIG, window_seconds: 60 };
  const sliding = { name: 's', scope: 'tenant', algorithm: 'sliding_window', limit: BIG, window_seconds: 3600 };
  const daily = { name: 'd', scope: 'tenant', algorithm: 'calendar', limit: BIG, period: 'day' };
  const pairs: Array<[string, Contender, Contender]> = [
    ['1 limit', await tenantQuotaContender('tq-1', [gcra]), rlfContender('rlf-1', redis, [60])],
    ['3 limits', await tenantQuotaContender('tq-3', [gcra, sliding, daily]), rlfContender('rlf-3', redis, [60, 3600, 86400])],
  ];
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, unknown> = {};
  try {
    for (const [label, tq, rlf] of pairs) {
      for (const c of [tq, rlf]) await drive(c, inFlight, 300, tenants, redis); // warm: scripts loaded, JIT
      const samples: Record<string, Array<Awaited<ReturnType<typeof drive>>>> = { [tq.name]: [], [rlf.name]: [] };
      for (let round = 0; round < rounds; round++) {
        progress(`tenant-quota vs rate-limiter-flexible, ${label}, round ${round + 1}/${rounds}`);
        samples[tq.name].push(await drive(tq, inFlight, durationMs, tenants, redis));
        samples[rlf.name].push(await drive(rlf, inFlight, durationMs, tenants, redis));
      }
      const summary = (name: string) => ({
        perSecond: median(samples[name].map((s) => s.perSecond)),
        latencyMs: median(samples[name].map((s) => s.latencyMs)),
        commandsPerDecision: median(samples[name].map((s) => s.commandsPerDecision)),
        redisUsPerDecision: median(samples[name].map((s) => s.redisUsPerDecision)),
      });
      const a = summary(tq.name);
      const b = summary(rlf.name);
      // each round runs both back to back: the median of the per-round ratios shrugs off load from other processes
      const speed = median(samples[tq.name].map((s, i) => s.perSecond / samples[rlf.name][i].perSecond));
      rows.push([label, 'tenant-quota (atomic script, GCRA/sliding/calendar)', a.perSecond, a.latencyMs, a.commandsPerDecision, a.redisUsPerDecision, ratio(speed, 1)]);
      rows.push([label, label === '1 limit' ? 'rate-limiter-flexible RateLimiterRedis' : 'rate-limiter-flexible RateLimiterUnion (3 x RateLimiterRedis)', b.perSecond, b.latencyMs, b.commandsPerDecision, b.redisUsPerDecision, '1.00x']);
      data[label] = { tenantQuota: a, rateLimiterFlexible: b, speed };
    }
  } finally {
    redis.disconnect();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require('../shared/redis') as { closeAllRedis(): Promise<void> }).closeAllRedis();
  }
  return {
    name: 'tenant-quota-vs-rlf',
    tables: [
      {
        title: `decision cost on the same Redis, ${inFlight} in flight, ${tenants} tenants, median of ${rounds} alternating rounds of ${durationMs} ms`,
        columns: ['limits', 'limiter', 'decisions/s', 'mean latency ms', 'Redis commands/decision (incl. inside scripts)', 'Redis script us/decision', 'speed vs rate-limiter-flexible'],
        rows,
        notes: [
          'speed: median over the rounds of tenant-quota decisions/s / rate-limiter-flexible decisions/s, both measured in the same round',
          'Redis script us: usec of EVALSHA/EVAL in INFO commandstats, i.e. Redis-side time of the scripts (Redis is single-threaded: it bounds decisions/s)',
          'Redis commands from INFO commandstats deltas on 127.0.0.1:6379: other clients of that Redis count too (run alone)',
          'rate-limiter-flexible checks less: fixed windows only, no plans, no headers; its union is one consume per limiter, not atomic',
        ],
      },
    ],
    data,
  };
}

runWhenMain(module, () => benchTenantQuotaVsRlf());
