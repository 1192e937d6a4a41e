import { RedisUnavailableError, closeAllRedis, getRedis, openConnectionCount, type RedisTarget } from '../../../shared/redis';
import { runShutdownHooks } from '../../../shared/lifecycle';
import { startRedisServer, type RedisServer } from '../../helpers/redis-servers';
import { captureLogs, type LogLine } from './log-capture';
import { metricValue } from './metric-values';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function target(server: RedisServer, extra: Partial<RedisTarget> = {}): RedisTarget {
  return { mode: 'standalone', host: '127.0.0.1', port: server.port, ...extra };
}

/** Runs one call and reports how long it took and what it threw. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; err: unknown; value: unknown }> {
  const started = performance.now();
  try {
    const value = await call();
    return { ms: performance.now() - started, err: undefined, value };
  } catch (err) {
    return { ms: performance.now() - started, err, value: undefined };
  }
}

/** Polls until a call succeeds: recovery must happen on the same handle, without recreating the client. */
async function eventually(call: () => Promise<unknown>, withinMs: number): Promise<unknown> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(25);
    }
  }
}

const messages = (lines: LogLine[], port: number) =>
  lines.filter((l) => l.target === `127.0.0.1:${port}`).map((l) => l.msg);

let logs: ReturnType<typeof captureLogs>;
const servers: RedisServer[] = [];

beforeAll(() => {
  logs = captureLogs();
});

afterAll(async () => {
  await closeAllRedis();
  await Promise.all(servers.map((s) => s.stop()));
  logs.restore();
});

async function server(): Promise<RedisServer> {
  const s = await startRedisServer();
  servers.push(s);
  return s;
}

describe('connection sharing', () => {
  it('equal targets share one handle and one connection; breaker settings share the connection only', async () => {
    const s = await server();
    const before = openConnectionCount();
    const a = getRedis(target(s, { command_timeout_ms: 200 }));
    const b = getRedis({ port: s.port, host: '127.0.0.1', command_timeout_ms: 200, mode: 'standalone', username: null });
    const c = getRedis(target(s, { command_timeout_ms: 200, breaker: { failure_threshold: 9 } }));
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(openConnectionCount()).toBe(before + 1);
    await a.ready(3000);
    await Promise.all([a.command('ping'), c.command('ping')]);
    const clients = (await s.cli('client', 'list')).split('\n').filter((l) => l.includes('name=kong-plugins'));
    expect(clients).toHaveLength(1);

    getRedis(target(s, { command_timeout_ms: 200, database: 1 }));
    expect(openConnectionCount()).toBe(before + 2);
  });
});

describe('server killed', () => {
  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'after %s every call fails fast (well before the timeout), then recovers on the same client',
    async (signal) => {
      const s = await server();
      const redis = getRedis(target(s, { command_timeout_ms: 400, breaker: { failure_threshold: 1000 } }));
      await redis.ready(3000);
      await expect(redis.command('set', 'k', 'v')).resolves.toBe('OK');

      await s.kill(signal);
      const results = [];
      for (let i = 0; i < 20; i++) results.push(await timed(() => redis.command('get', 'k')));
      for (const r of results) {
        expect(r.err).toBeInstanceOf(RedisUnavailableError);
        expect((r.err as RedisUnavailableError).reason).toBe('connection');
        expect(r.ms).toBeLessThan(200);
      }
      expect(redis.state()).toBe('closed');

      await sleep(300); // several reconnect attempts fail meanwhile
      await s.restart();
      await expect(eventually(() => redis.command('ping'), 3000)).resolves.toBe('PONG');

      // One line per state change: lost, then ready again; not one per failed command or reconnect attempt.
      expect(messages(logs.lines, s.port)).toEqual([
        'redis connection ready',
        'redis connection lost',
        'redis connection ready',
      ]);
    },
  );

  it('the breaker opens, refuses calls without touching the network, and closes through a probe after restart', async () => {
    const s = await server();
    const redis = getRedis(target(s, { command_timeout_ms: 300, breaker: { failure_threshold: 3, open_ms: 300 } }));
    await redis.ready(3000);
    const label = { target: `127.0.0.1:${s.port}` };

    await s.kill();
    for (let i = 0; i < 3; i++) await expect(redis.command('ping')).rejects.toMatchObject({ reason: 'connection' });
    expect(redis.state()).toBe('open');
    expect(await metricValue('kong_plugins_redis_breaker_state', label)).toBe(2);

    const rejectedBefore = await metricValue('kong_plugins_redis_commands_total', { ...label, outcome: 'rejected' });
    const burst = await timed(() =>
      Promise.allSettled(Array.from({ length: 200 }, () => redis.command('ping'))),
    );
    expect(burst.ms).toBeLessThan(100);
    const settled = burst.value as PromiseSettledResult<unknown>[];
    expect(settled.every((r) => r.status === 'rejected' && r.reason.reason === 'circuit_open')).toBe(true);
    expect(await metricValue('kong_plugins_redis_commands_total', { ...label, outcome: 'rejected' })).toBe(rejectedBefore + 200);

    await s.restart();
    await redis.ready(3000);
    await sleep(300);
    expect(redis.state()).toBe('half-open');
    await expect(redis.command('ping')).resolves.toBe('PONG');
    expect(redis.state()).toBe('closed');
    expect(await metricValue('kong_plugins_redis_breaker_state', label)).toBe(0);

    const transitions = logs.lines
      .filter((l) => l.target === label.target && typeof l.to === 'string')
      .map((l) => `${String(l.from)}->${String(l.to)}`);
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });
});

describe('server paused (SIGSTOP)', () => {
  it('calls time out at command_timeout_ms, the breaker opens, and SIGCONT recovers without reconnecting', async () => {
    const s = await server();
    const redis = getRedis(target(s, { command_timeout_ms: 100, breaker: { failure_threshold: 3, open_ms: 300 } }));
    await redis.ready(3000);
    const clientId = await redis.command('client', 'id');

    s.pause();
    const timeouts = [];
    for (let i = 0; i < 3; i++) timeouts.push(await timed(() => redis.command('get', 'k')));
    for (const t of timeouts) {
      expect((t.err as RedisUnavailableError).reason).toBe('timeout');
      expect(t.ms).toBeGreaterThanOrEqual(95);
      expect(t.ms).toBeLessThan(300);
    }
    expect(redis.state()).toBe('open');
    const rejected = await timed(() => redis.command('get', 'k'));
    expect((rejected.err as RedisUnavailableError).reason).toBe('circuit_open');
    expect(rejected.ms).toBeLessThan(20);

    // Still paused after open_ms: the single probe times out and the breaker re-opens.
    await sleep(300);
    const probe = await timed(() => redis.command('get', 'k'));
    expect((probe.err as RedisUnavailableError).reason).toBe('timeout');
    expect(redis.state()).toBe('open');

    s.resume();
    await sleep(300);
    await expect(redis.command('ping')).resolves.toBe('PONG');
    expect(redis.state()).toBe('closed');
    await expect(redis.command('client', 'id')).resolves.toBe(clientId);
    expect(await metricValue('kong_plugins_redis_commands_total', { target: `127.0.0.1:${s.port}`, outcome: 'timeout' })).toBe(4);
  });
});

describe('shutdown', () => {
  it('getRedis registers closing with the process shutdown hooks', async () => {
    const s = await server();
    const redis = getRedis(target(s, { command_timeout_ms: 250 }));
    await redis.ready(3000);
    expect(openConnectionCount()).toBeGreaterThan(0);
    await runShutdownHooks();
    expect(openConnectionCount()).toBe(0);
    await expect(redis.command('ping')).rejects.toBeInstanceOf(RedisUnavailableError);
  });

  it('closeAllRedis closes every connection and later calls fail with RedisUnavailableError', async () => {
    const s = await server();
    const redis = getRedis(target(s, { command_timeout_ms: 200 }));
    await redis.ready(3000);
    await closeAllRedis();
    expect(openConnectionCount()).toBe(0);
    await expect(redis.command('ping')).rejects.toBeInstanceOf(RedisUnavailableError);
    const clients = (await s.cli('client', 'list')).split('\n').filter((l) => l.includes('name=kong-plugins'));
    expect(clients).toHaveLength(0);
  });
});
