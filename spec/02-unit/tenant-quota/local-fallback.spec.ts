import crypto from 'node:crypto';
import { closeAllRedis, getRedis, RedisScript } from '../../../shared/redis';
import { compileLimit, type CompiledLimit } from '../../../plugins/tenant-quota/limits';
import { parseReply, planRequest, stateKey, type Decision, type RequestPlan } from '../../../plugins/tenant-quota/quota-plan';
import { LocalLimiter } from '../../../plugins/tenant-quota/local-fallback';
import { QUOTA_LUA } from '../../../plugins/tenant-quota/lua/quota-script';
import type { LimitConfig } from '../../../plugins/tenant-quota/schema';

/**
 * The local fallback starts from what Redis last said (real Redis answers observed), never from a fresh budget:
 * a tenant that spent its budget gets nothing more in a stall, a share caps keys never seen, and units of commands
 * whose outcome is unknown count as consumed.
 */
const redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 1000 });
const PREFIX = 'tqlocal';
const T0 = Date.parse('2025-03-12T10:00:00Z');
const cal = { timeZone: 'UTC', anchorDay: 1, weekStart: 'monday' as const };
const limit = (l: Partial<LimitConfig> & Pick<LimitConfig, 'name' | 'algorithm' | 'limit'>): LimitConfig =>
  ({ scope: 'tenant', window_seconds: null, burst: null, period: null, ...l }) as LimitConfig;

const KINDS: Array<{ name: string; limit: CompiledLimit }> = [
  { name: 'gcra', limit: compileLimit(limit({ name: 'burst', algorithm: 'gcra', limit: 10, window_seconds: 3600 }), cal) },
  { name: 'sliding_window', limit: compileLimit(limit({ name: 'win', algorithm: 'sliding_window', limit: 10, window_seconds: 3600 }), cal) },
  { name: 'calendar', limit: compileLimit(limit({ name: 'daily', algorithm: 'calendar', limit: 10, period: 'day' }), cal) },
];

async function fromRedis(plan: RequestPlan, cost: number, now: number): Promise<Decision> {
  const script = new RedisScript('t', QUOTA_LUA, plan.keys.length);
  return parseReply(await redis.runScript(script, plan.keys, plan.scriptArgs(now, cost)), plan.applied.length);
}

function admitted(local: LocalLimiter, plan: RequestPlan, now: number, n: number, terms = {}): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (local.check(plan, 1, now, true, terms).allowed) count++;
  return count;
}

const who = () => ({ tenant: `t-${crypto.randomUUID()}`, consumer: '_', endpoint: 'r' });

beforeAll(() => redis.ready());
afterAll(() => closeAllRedis());

describe.each(KINDS)('local fallback seeded from Redis ($name)', ({ limit: compiled }) => {
  it('a tenant that spent its budget in Redis gets nothing more when Redis stalls', async () => {
    const local = new LocalLimiter();
    const plan = planRequest(PREFIX, [compiled], who(), T0);
    for (let i = 0; i < 10; i++) local.observe(plan, await fromRedis(plan, 1, T0));
    expect(admitted(local, plan, T0 + 10, 50)).toBe(0);
    // unseeded, the same limiter would have handed out the whole limit again
    expect(admitted(local, planRequest(PREFIX, [compiled], who(), T0), T0 + 10, 50)).toBe(10);
  });

  it('starts from what Redis said was left, divided by node_count', async () => {
    const local = new LocalLimiter();
    const id = who();
    const plan = planRequest(PREFIX, [compiled], id, T0);
    for (let i = 0; i < 3; i++) local.observe(plan, await fromRedis(plan, 1, T0)); // 7 left in Redis
    expect(admitted(local, plan, T0 + 10, 50)).toBe(7);
    const local2 = new LocalLimiter();
    local2.observe(plan, await fromRedis(plan, 0, T0)); // still 7 left (cost 0 consumes nothing)
    const divided = planRequest(PREFIX, [compiled], id, T0, 2); // node_count 2: quota 5, seed 7 / 2 -> 3
    expect(admitted(local2, divided, T0 + 10, 50, { divisor: 2 })).toBe(3);
  });

  it('a key never seen gets at most local_share_percent of the limit', () => {
    const local = new LocalLimiter();
    expect(admitted(local, planRequest(PREFIX, [compiled], who(), T0), T0, 50, { sharePercent: 30 })).toBe(3);
  });

  it('units of commands whose outcome is unknown count as consumed', async () => {
    const local = new LocalLimiter();
    const plan = planRequest(PREFIX, [compiled], who(), T0);
    local.observe(plan, await fromRedis(plan, 1, T0)); // 9 left
    const key = stateKey(plan.applied[0]);
    expect(admitted(local, plan, T0 + 10, 50, { pending: (k: string) => (k === key ? 4 : 0) })).toBe(5);
  });

  it('an answer in time ends the local episode; a late reply only refreshes the seed', async () => {
    const local = new LocalLimiter();
    const plan = planRequest(PREFIX, [compiled], who(), T0);
    local.observe(plan, await fromRedis(plan, 1, T0)); // 9 left
    expect(admitted(local, plan, T0 + 10, 2)).toBe(2); // local episode: 7 left here
    local.observe(plan, await fromRedis(plan, 1, T0), true); // late: Redis says 8 left; the episode keeps its count
    expect(admitted(local, plan, T0 + 10, 50)).toBe(7);
    local.observe(plan, await fromRedis(plan, 1, T0)); // in time: Redis says 7 left, and it is authoritative again
    expect(local.size).toBe(0);
    expect(admitted(local, plan, T0 + 10, 50)).toBe(7);
  });

  it('a command lost for good is charged', async () => {
    const local = new LocalLimiter();
    const plan = planRequest(PREFIX, [compiled], who(), T0);
    local.observe(plan, await fromRedis(plan, 1, T0)); // 9 left
    local.chargeUnknown(plan, 2, T0 + 5);
    expect(admitted(local, plan, T0 + 10, 50)).toBe(7);
  });
});

it('seeds are bounded like entries', () => {
  const local = new LocalLimiter(100);
  const compiled = KINDS[2].limit;
  for (let i = 0; i < 1000; i++) {
    const plan = planRequest(PREFIX, [compiled], { tenant: `t${i}`, consumer: '_', endpoint: 'r' }, T0);
    local.observe(plan, { allowed: true, now: T0, results: [{ allowed: true, remaining: 5, resetMs: 60_000, retryMs: 0, token: '' }] });
  }
  expect(local.seedCount).toBe(100);
});
