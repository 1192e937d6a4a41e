import { ReplyError } from 'ioredis';
import { RedisScript, closeAllRedis, getRedis, type RedisHandle } from '../../../shared/redis';
import { startRedisServer, type RedisServer } from '../../helpers/redis-servers';
import { metricValue } from './metric-values';

const INCR_WITH_TTL = new RedisScript(
  'incr-with-ttl',
  `local n = redis.call('INCRBY', KEYS[1], ARGV[1])
   if n == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
   return n`,
  1,
);
const BROKEN = new RedisScript('broken', `return nonexistent_global.field`, 0);

let server: RedisServer;
let redis: RedisHandle;

beforeAll(async () => {
  server = await startRedisServer();
  redis = getRedis({ mode: 'standalone', host: '127.0.0.1', port: server.port, command_timeout_ms: 500 });
  await redis.ready(3000);
});

afterAll(async () => {
  await closeAllRedis();
  await server.stop();
});

describe('RedisScript', () => {
  it('computes the same SHA1 as the server, once', async () => {
    expect(await server.cli('script', 'load', INCR_WITH_TTL.lua)).toBe(INCR_WITH_TTL.sha);
  });

  it('runs with EVALSHA and returns the raw reply', async () => {
    await expect(redis.runScript(INCR_WITH_TTL, ['q:{t1}'], [2, 60000])).resolves.toBe(2);
    await expect(redis.runScript(INCR_WITH_TTL, ['q:{t1}'], [3, 60000])).resolves.toBe(5);
    expect(Number(await server.cli('pttl', 'q:{t1}'))).toBeGreaterThan(0);
  });

  it('falls back to EVAL on NOSCRIPT (after SCRIPT FLUSH) and is cached again afterwards', async () => {
    await redis.runScript(INCR_WITH_TTL, ['q:flush'], [1, 60000]);
    await server.cli('script', 'flush');
    expect(await server.cli('script', 'exists', INCR_WITH_TTL.sha)).toBe('0');
    await expect(redis.runScript(INCR_WITH_TTL, ['q:flush'], [1, 60000])).resolves.toBe(2);
    expect(await server.cli('script', 'exists', INCR_WITH_TTL.sha)).toBe('1');
    await server.cli('config', 'resetstat');
    await expect(redis.runScript(INCR_WITH_TTL, ['q:flush'], [1, 60000])).resolves.toBe(3);
    const stats = await server.cli('info', 'commandstats');
    expect(stats).toMatch(/cmdstat_evalsha:calls=1,/);
    expect(stats).not.toMatch(/cmdstat_eval:/);
  });

  it('a Lua error is thrown as ReplyError and does not trip the breaker', async () => {
    const target = `127.0.0.1:${server.port}`;
    const before = await metricValue('kong_plugins_redis_commands_total', { target, outcome: 'error' });
    for (let i = 0; i < 10; i++) {
      await expect(redis.runScript(BROKEN, [], [])).rejects.toBeInstanceOf(ReplyError);
    }
    expect(redis.state()).toBe('closed');
    expect(await metricValue('kong_plugins_redis_commands_total', { target, outcome: 'error' })).toBe(before + 10);
    await expect(redis.command('ping')).resolves.toBe('PONG');
  });

  it('a wrong key count fails before any network call', async () => {
    const okBefore = await metricValue('kong_plugins_redis_commands_total', { target: `127.0.0.1:${server.port}`, outcome: 'ok' });
    await expect(redis.runScript(INCR_WITH_TTL, [], [1, 1])).rejects.toThrow(TypeError);
    expect(await metricValue('kong_plugins_redis_commands_total', { target: `127.0.0.1:${server.port}`, outcome: 'ok' })).toBe(okBefore);
  });

  it('plain commands: hgetall returns an object', async () => {
    await server.cli('hset', 'plan:gold', 'limit', '1000', 'window', '60');
    await expect(redis.command('hgetall', 'plan:gold')).resolves.toEqual({ limit: '1000', window: '60' });
  });
});
