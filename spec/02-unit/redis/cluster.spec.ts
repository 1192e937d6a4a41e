import { ReplyError } from 'ioredis';
import { RedisScript, closeAllRedis, getRedis, type RedisHandle } from '../../../shared/redis';
import { startRedisCluster, type RedisClusterServers } from '../../helpers/redis-servers';

const CONSUME = new RedisScript(
  'consume',
  `local used = redis.call('INCRBY', KEYS[1], ARGV[1])
   redis.call('HSET', KEYS[2], 'last', ARGV[1])
   return {used, redis.call('HGET', KEYS[2], 'last')}`,
  2,
);

let cluster: RedisClusterServers;
let redis: RedisHandle;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  redis = getRedis({
    mode: 'cluster',
    host: '127.0.0.1',
    port: cluster.ports[0],
    nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
    command_timeout_ms: 500,
  });
  await redis.ready(5000);
});

afterAll(async () => {
  await closeAllRedis();
  await cluster?.stop();
});

/** Which node holds a key, asked of the cluster itself. */
async function ownerPort(key: string): Promise<number> {
  const slot = await cluster.nodes[0].cli('cluster', 'keyslot', key);
  const shards = await cluster.nodes[0].cli('cluster', 'slots');
  const lines = shards.split('\n');
  for (let i = 0; i + 3 < lines.length; i++) {
    if (!/^\d+$/.test(lines[i]) || !/^\d+$/.test(lines[i + 1])) continue;
    if (Number(slot) >= Number(lines[i]) && Number(slot) <= Number(lines[i + 1])) return Number(lines[i + 3]);
  }
  throw new Error(`no owner for slot ${slot}`);
}

/** A key held by `port`'s master and one held elsewhere. */
async function keysAround(port: number, tag: string): Promise<{ deadKey: string; liveKey: string }> {
  let deadKey = '';
  let liveKey = '';
  for (let i = 0; (!deadKey || !liveKey) && i < 200; i++) {
    if ((await ownerPort(`{${tag}${i}}`)) === port) deadKey ||= `{${tag}${i}}`;
    else liveKey ||= `{${tag}${i}}`;
  }
  return { deadKey, liveKey };
}

function clusterHandle(options: { command_timeout_ms: number; breaker: { failure_threshold: number; open_ms?: number } }): RedisHandle {
  return getRedis({
    mode: 'cluster',
    host: '127.0.0.1',
    port: cluster.ports[0],
    nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
    ...options,
  });
}

describe('Redis Cluster', () => {
  it('runs a script on {tenant}-tagged keys, on the node owning the slot', async () => {
    await expect(redis.runScript(CONSUME, ['quota:{acme}:used', 'quota:{acme}:meta'], [3])).resolves.toEqual([3, '3']);
    await expect(redis.runScript(CONSUME, ['quota:{acme}:used', 'quota:{acme}:meta'], [4])).resolves.toEqual([7, '4']);
    const port = await ownerPort('quota:{acme}:used');
    const owner = cluster.nodes.find((n) => n.port === port)!;
    expect(await owner.cli('get', 'quota:{acme}:used')).toBe('7');
  });

  it('falls back to EVAL on every node that lacks the script (SCRIPT FLUSH everywhere)', async () => {
    // Tenants chosen so their slots land on all three masters.
    const tenants: string[] = [];
    const owners = new Set<number>();
    for (let i = 0; owners.size < 3 && i < 200; i++) {
      const port = await ownerPort(`{t${i}}`);
      if (!owners.has(port)) {
        owners.add(port);
        tenants.push(`t${i}`);
      }
    }
    expect(owners.size).toBe(3);
    for (const t of tenants) await redis.runScript(CONSUME, [`q:{${t}}:used`, `q:{${t}}:meta`], [1]);
    await Promise.all(cluster.nodes.map((n) => n.cli('script', 'flush')));
    for (const t of tenants) {
      await expect(redis.runScript(CONSUME, [`q:{${t}}:used`, `q:{${t}}:meta`], [1])).resolves.toEqual([2, '1']);
    }
    for (const n of cluster.nodes) expect(await n.cli('script', 'exists', CONSUME.sha)).toBe('1');
  });

  it('keys in different slots are a caller error, not an outage', async () => {
    await expect(redis.runScript(CONSUME, ['quota:{a}:used', 'quota:{b}:meta'], [1])).rejects.toBeInstanceOf(ReplyError);
    expect(redis.state()).toBe('closed');
  });

  it('a dead master fails its slots fast while the others serve; it recovers on the same client', async () => {
    // Its own handle (same connection): a breaker that never opens, to observe every call.
    const observer = clusterHandle({ command_timeout_ms: 500, breaker: { failure_threshold: 1_000_000 } });
    const victim = cluster.nodes[1];
    const { deadKey, liveKey } = await keysAround(victim.port, 'k');
    await victim.kill();
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      await expect(observer.command('get', deadKey)).rejects.toMatchObject({ name: 'RedisUnavailableError' });
      expect(performance.now() - started).toBeLessThan(250);
      await expect(observer.command('set', liveKey, String(i))).resolves.toBe('OK');
    }
    await victim.restart();
    await cluster.waitUntilOk();
    const deadline = Date.now() + 5000;
    let reply: unknown;
    while (Date.now() < deadline) {
      reply = await observer.command('set', deadKey, 'back').catch(() => undefined);
      if (reply === 'OK') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(reply).toBe('OK');
  });

  it('opens the breaker of a dead master only: the other masters\' slots keep being served', async () => {
    const guarded = clusterHandle({ command_timeout_ms: 300, breaker: { failure_threshold: 3, open_ms: 300 } });
    const victim = cluster.nodes[2];
    const { deadKey, liveKey } = await keysAround(victim.port, 'm');
    await expect(guarded.command('set', deadKey, 'a')).resolves.toBe('OK');
    await victim.kill();
    for (let i = 0; i < 3; i++) await expect(guarded.command('get', deadKey)).rejects.toMatchObject({ reason: expect.not.stringMatching('circuit_open') });
    await expect(guarded.command('get', deadKey)).rejects.toMatchObject({ reason: 'circuit_open' });
    expect(guarded.state()).toBe('open');
    for (let i = 0; i < 5; i++) await expect(guarded.command('set', liveKey, String(i))).resolves.toBe('OK');
    await victim.restart();
    await cluster.waitUntilOk();
    const deadline = Date.now() + 5000;
    let reply: unknown;
    while (Date.now() < deadline && reply !== 'OK') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await guarded.command('set', deadKey, 'back').catch(() => undefined);
    }
    expect(reply).toBe('OK');
    expect(guarded.state()).toBe('closed');
  });

  it('plain commands route by key', async () => {
    await expect(redis.command('hset', 'plan:{gold}', 'limit', '1000')).resolves.toBe(1);
    await expect(redis.command('hgetall', 'plan:{gold}')).resolves.toEqual({ limit: '1000' });
  });
});
