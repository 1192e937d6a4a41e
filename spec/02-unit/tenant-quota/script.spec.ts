import crypto from 'node:crypto';
import { closeAllRedis, getRedis, RedisScript } from '../../../shared/redis';
import { compileLimit, type CompiledLimit } from '../../../plugins/tenant-quota/limits';
import { parseReply, planRequest, RefundTicket, type Decision, type RequestPlan } from '../../../plugins/tenant-quota/quota-plan';
import { LocalLimiter } from '../../../plugins/tenant-quota/local-fallback';
import { QUOTA_LUA, REFUND_LUA } from '../../../plugins/tenant-quota/lua/quota-script';
import type { LimitConfig } from '../../../plugins/tenant-quota/schema';

/** The Lua script against real Redis (127.0.0.1:6379, unique tenants), and the local limiter against the same steps. */
const redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 1000 });
const PREFIX = 'tqunit';
const T0 = Date.parse('2025-03-31T23:59:00Z');
const cal = { timeZone: 'UTC', anchorDay: 1, weekStart: 'monday' as const };

const limit = (l: Partial<LimitConfig> & Pick<LimitConfig, 'name' | 'algorithm' | 'limit'>): LimitConfig =>
  ({ scope: 'tenant', window_seconds: null, burst: null, period: null, ...l }) as LimitConfig;

async function run(plan: RequestPlan, cost: number, now: number, lua = QUOTA_LUA, consume = 1): Promise<Decision> {
  const script = new RedisScript('t', lua, plan.keys.length);
  return parseReply(await redis.runScript(script, plan.keys, [now, cost, consume, ...plan.args]), plan.applied.length);
}

function tenant(): string {
  return `t-${crypto.randomUUID()}`;
}

beforeAll(() => redis.ready());
afterAll(() => closeAllRedis());

describe('tenant-quota script (real Redis) and local limiter: same decisions', () => {
  const cases: Array<{ name: string; limits: CompiledLimit[]; steps: Array<{ dt: number; cost: number }> }> = [
    {
      name: 'gcra 5 per 10 s, burst 3',
      limits: [compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 5, window_seconds: 10, burst: 3 }), cal)],
      steps: [0, 0, 0, 0, 1000, 1000, 0, 2000, 0, 0, 0, 10000, 0].map((dt) => ({ dt, cost: 1 })),
    },
    {
      name: 'sliding 4 per 10 s with costs',
      limits: [compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 4, window_seconds: 10 }), cal)],
      steps: [
        { dt: 0, cost: 1 },
        { dt: 1000, cost: 2 },
        { dt: 1000, cost: 2 },
        { dt: 1000, cost: 1 },
        { dt: 7000, cost: 1 },
        { dt: 1, cost: 2 },
        { dt: 999, cost: 2 },
        { dt: 20000, cost: 4 },
        { dt: 0, cost: 1 },
      ],
    },
    {
      name: 'calendar month 3 across the month end, with a gcra that denies first',
      limits: [
        compileLimit(limit({ name: 'monthly', algorithm: 'calendar', limit: 3, period: 'month' }), cal),
        compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 2, window_seconds: 1 }), cal),
      ],
      steps: [0, 0, 0, 1000, 1000, 1000, 58000, 1000].map((dt) => ({ dt, cost: 1 })),
    },
  ];

  it.each(cases)('$name', async ({ limits, steps }) => {
    const who = { tenant: tenant(), consumer: '_', endpoint: 'r' };
    const local = new LocalLimiter();
    let now = T0;
    const redisTrace: string[] = [];
    const localTrace: string[] = [];
    for (const step of steps) {
      now += step.dt;
      const plan = planRequest(PREFIX, limits, who, now);
      const fromRedis = await run(plan, step.cost, now);
      const fromLocal = local.check(plan, step.cost, now);
      redisTrace.push(JSON.stringify([fromRedis.allowed, fromRedis.results.map((r) => [r.allowed, r.remaining, r.resetMs, r.retryMs])]));
      localTrace.push(JSON.stringify([fromLocal.allowed, fromLocal.results.map((r) => [r.allowed, r.remaining, r.resetMs, r.retryMs])]));
    }
    expect(localTrace).toEqual(redisTrace);
    expect(redisTrace.some((t) => t.startsWith('[false'))).toBe(true);
    expect(redisTrace.some((t) => t.startsWith('[true'))).toBe(true);
  });

  it('consumes from none when any limit denies (cost larger than one remaining quota)', async () => {
    const limits = [
      compileLimit(limit({ name: 'daily', algorithm: 'calendar', limit: 10, period: 'day' }), cal),
      compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 3, window_seconds: 3600 }), cal),
      compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 100, window_seconds: 60 }), cal),
    ];
    const who = { tenant: tenant(), consumer: '_', endpoint: 'r' };
    const plan = planRequest(PREFIX, limits, who, T0);
    const denied = await run(plan, 4, T0);
    expect(denied.allowed).toBe(false);
    expect(denied.results.map((r) => r.allowed)).toEqual([true, false, true]);
    // nothing written anywhere
    for (const key of plan.keys) expect(await redis.command('exists', key)).toBe(0);
    const ok = await run(plan, 3, T0);
    expect(ok.allowed).toBe(true);
    expect(ok.results.map((r) => r.remaining)).toEqual([7, 0, 97]);
  });

  it('on a denial every limit reports its true state: the admitting ones without the denied units (Redis and local alike)', async () => {
    const limits = [
      compileLimit(limit({ name: 'daily', algorithm: 'calendar', limit: 17, period: 'day' }), cal),
      compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 3600, window_seconds: 3600 }), cal), // 1 unit per s
      compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 100, window_seconds: 60 }), cal),
      compileLimit(limit({ name: 'tight', algorithm: 'calendar', limit: 2, period: 'month' }), cal),
    ];
    const who = { tenant: tenant(), consumer: '_', endpoint: 'r' };
    const local = new LocalLimiter();
    const plan = planRequest(PREFIX, limits, who, T0);
    for (let i = 0; i < 2; i++) {
      expect((await run(plan, 1, T0)).allowed).toBe(true);
      expect(local.check(plan, 1, T0).allowed).toBe(true);
    }
    for (const denied of [await run(plan, 1, T0), local.check(plan, 1, T0)]) {
      expect(denied.results.map((r) => r.allowed)).toEqual([true, true, true, false]);
      // 2 of 17 daily used -> 15 left (not 14); 2 of 100 -> 98; the bucket holds 2 s of debt -> 3598 left, full in 2 s
      expect(denied.results.map((r) => r.remaining)).toEqual([15, 3598, 98, 0]);
      expect(denied.results[1].resetMs).toBe(2000);
      expect(denied.results[2].token).toBe('');
    }
    // and a check-only call reports the same state
    const peek = await run(plan, 1, T0, QUOTA_LUA, 0);
    expect(peek.results.map((r) => r.remaining)).toEqual([15, 3598, 98, 0]);
    expect(local.check(plan, 1, T0, false).results.map((r) => r.remaining)).toEqual([15, 3598, 98, 0]);
  });

  it('every key has an exact TTL: calendar to the window end, gcra to its TAT, sliding one window', async () => {
    const limits = [
      compileLimit(limit({ name: 'daily', algorithm: 'calendar', limit: 10, period: 'day' }), cal),
      compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 10, window_seconds: 100 }), cal),
      compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 100, window_seconds: 60 }), cal),
    ];
    const now = Date.parse('2025-03-31T23:00:00Z');
    const plan = planRequest(PREFIX, limits, { tenant: tenant(), consumer: '_', endpoint: 'r' }, now);
    await run(plan, 2, now);
    const ttls = await Promise.all(plan.keys.map((k) => redis.command('pttl', k) as Promise<number>));
    // PTTL counts down from the moment of the write: allow the few ms of this round trip
    const near = (actual: number, expected: number) => {
      expect(expected - actual).toBeGreaterThanOrEqual(0);
      expect(expected - actual).toBeLessThan(50);
    };
    near(ttls[0], 3_600_000);
    near(ttls[1], 20_000); // 2 units x 10 s emission interval
    near(ttls[2], 60_000);
    near(ttls[3], 60_000);
    for (const k of plan.keys) expect(k).toMatch(/^tqunit:\{t-[0-9a-f-]+\}:t:/);
  });

  it('refund gives back what a request consumed, for every kind', async () => {
    const limits = [
      compileLimit(limit({ name: 'daily', algorithm: 'calendar', limit: 10, period: 'day' }), cal),
      compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 10, window_seconds: 100 }), cal),
      compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 100, window_seconds: 60 }), cal),
    ];
    const plan = planRequest(PREFIX, limits, { tenant: tenant(), consumer: '_', endpoint: 'r' }, T0);
    await run(plan, 1, T0);
    const second = await run(plan, 2, T0);
    const ticket = plan.refundTicket('t', second.results, 2, false);
    const refund = new RedisScript('r', REFUND_LUA, ticket.keys.length);
    expect(await redis.runScript(refund, ticket.keys, ticket.scriptArgs(T0))).toBe(3);
    const peek = await run(plan, 0, T0, QUOTA_LUA, 0);
    expect(peek.results.map((r) => r.remaining)).toEqual([9, 9, 99]);
  });

  it('the local limiter refunds the same way', () => {
    const limits = [
      compileLimit(limit({ name: 'daily', algorithm: 'calendar', limit: 10, period: 'day' }), cal),
      compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 10, window_seconds: 100 }), cal),
      compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 100, window_seconds: 60 }), cal),
    ];
    const local = new LocalLimiter();
    const plan = planRequest(PREFIX, limits, { tenant: tenant(), consumer: '_', endpoint: 'r' }, T0);
    local.check(plan, 1, T0);
    const second = local.check(plan, 2, T0);
    const ticket = RefundTicket.decode(plan.refundTicket('t', second.results, 2, true).encode()) as RefundTicket;
    expect(local.refund(ticket, T0)).toBe(3);
    expect(local.check(plan, 0, T0, false).results.map((r) => r.remaining)).toEqual([9, 9, 99]);
    expect(local.refund(ticket, T0)).toBe(2); // the sliding entry is gone; counters only go down to what is left
  });

  it('a tenant name cannot escape its hash tag', () => {
    const plan = planRequest(PREFIX, [compileLimit(limit({ name: 'd', algorithm: 'calendar', limit: 1, period: 'day' }), cal)], { tenant: 'a}:{b', consumer: '_', endpoint: 'r' }, T0);
    expect(plan.keys[0].startsWith('tqunit:{a%7D%3A%7Bb}:t:d:')).toBe(true);
  });
});
