import { RedisScript, closeAllRedis, getRedis } from '../../../shared/redis';
import { startRedisSentinel, startRedisServer, type RedisServer } from '../../helpers/redis-servers';

let master: RedisServer;
let sentinel: RedisServer;

beforeAll(async () => {
  master = await startRedisServer();
  sentinel = await startRedisSentinel(master.port, 'quota-master');
});

afterAll(async () => {
  await closeAllRedis();
  await sentinel?.stop();
  await master?.stop();
});

describe('Redis Sentinel', () => {
  it('finds the master through the sentinel and runs scripts on it', async () => {
    const redis = getRedis({
      mode: 'sentinel',
      host: '127.0.0.1',
      port: sentinel.port,
      sentinel_master: 'quota-master',
      command_timeout_ms: 500,
      connect_timeout_ms: 2000,
    });
    await redis.ready(5000);
    const script = new RedisScript('set-get', `redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])`, 1);
    await expect(redis.runScript(script, ['sentinel:k'], ['v1'])).resolves.toBe('v1');
    expect(await master.cli('get', 'sentinel:k')).toBe('v1');
  });
});
