import { EventEmitter } from 'node:events';
import type { Logger } from '../../../shared/observability/log';
import type { SharedConnection } from '../../../shared/redis/connection';
import { RedisUnavailableError } from '../../../shared/redis/errors';
import { RedisHandle } from '../../../shared/redis/handle';
import type { RedisClient } from '../../../shared/redis/script';
import { resolveTarget } from '../../../shared/redis/target';
import { metricValue } from './metric-values';

/** A client whose replies the test controls; proves the handle's own deadline, independent of ioredis. */
class FakeClient extends EventEmitter {
  status = 'ready';
  reply: () => Promise<unknown> = () => new Promise(() => undefined);
  call(): Promise<unknown> {
    return this.reply();
  }
}

function handleOn(client: FakeClient, port: number, breaker = { failure_threshold: 2, open_ms: 1000 }) {
  let now = 0;
  const log = { info: jest.fn(), warn: jest.fn() };
  const target = resolveTarget({ mode: 'standalone', host: 'fake', port, command_timeout_ms: 40, breaker });
  const connection = {
    key: 'fake',
    label: `fake:${port}`,
    client: client as unknown as RedisClient,
    log: log as unknown as Logger,
  } as SharedConnection;
  const handle = new RedisHandle(connection, target, () => now);
  return { handle, log, advance: (ms: number) => (now += ms) };
}

const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('RedisHandle (fake client)', () => {
  it('bounds a call that never settles by command_timeout_ms, even if the client never times out', async () => {
    const { handle } = handleOn(new FakeClient(), 1);
    const started = Date.now();
    const err = await handle.command('get', 'k').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as RedisUnavailableError).reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(35);
    expect(elapsed).toBeLessThan(400);
    expect(await metricValue('kong_plugins_redis_commands_total', { target: 'fake:1', outcome: 'timeout' })).toBe(1);
  });

  it('opens after N failures, rejects without calling the client, probes once after open_ms', async () => {
    const client = new FakeClient();
    const calls = jest.spyOn(client, 'call');
    const { handle, log, advance } = handleOn(client, 2);
    client.reply = () => Promise.reject(new Error('Connection is closed.'));
    await expect(handle.command('ping')).rejects.toMatchObject({ reason: 'connection' });
    await expect(handle.command('ping')).rejects.toMatchObject({ reason: 'connection' });
    expect(handle.state()).toBe('open');
    expect(await metricValue('kong_plugins_redis_breaker_state', { target: 'fake:2' })).toBe(2);

    calls.mockClear();
    for (let i = 0; i < 5; i++) await expect(handle.command('ping')).rejects.toMatchObject({ reason: 'circuit_open' });
    expect(calls).not.toHaveBeenCalled();
    expect(await metricValue('kong_plugins_redis_commands_total', { target: 'fake:2', outcome: 'rejected' })).toBe(5);

    advance(1000);
    let release!: (v: unknown) => void;
    client.reply = () => new Promise((resolve) => (release = resolve));
    const probe = handle.command('ping');
    expect(handle.state()).toBe('half-open');
    expect(await metricValue('kong_plugins_redis_breaker_state', { target: 'fake:2' })).toBe(1);
    await expect(handle.command('ping')).rejects.toMatchObject({ reason: 'circuit_open' });
    release('PONG');
    await expect(probe).resolves.toBe('PONG');
    expect(handle.state()).toBe('closed');
    expect(await metricValue('kong_plugins_redis_breaker_state', { target: 'fake:2' })).toBe(0);
    expect(calls).toHaveBeenCalledTimes(1);

    expect(log.warn.mock.calls.map((c) => c[1])).toEqual(['redis circuit breaker opened']);
    expect(log.info.mock.calls.map((c) => c[1])).toEqual([
      'redis circuit breaker half-open',
      'redis circuit breaker closed',
    ]);
  });

  it('leaves no timer behind after successes, failures and timeouts', async () => {
    const client = new FakeClient();
    const { handle } = handleOn(client, 3, { failure_threshold: 1000, open_ms: 1000 });
    const before = activeTimeouts();
    client.reply = () => Promise.resolve('OK');
    await Promise.all(Array.from({ length: 100 }, () => handle.command('set', 'k', 'v')));
    client.reply = () => Promise.reject(new Error('Connection is closed.'));
    await Promise.all(Array.from({ length: 100 }, () => handle.command('get', 'k').catch(() => undefined)));
    client.reply = () => new Promise(() => undefined);
    await Promise.all(Array.from({ length: 10 }, () => handle.command('get', 'k').catch(() => undefined)));
    expect(activeTimeouts()).toBe(before);
  });

  it('ready() waits until the client is ready and times out with RedisUnavailableError', async () => {
    const client = new FakeClient();
    client.status = 'reconnecting';
    const { handle } = handleOn(client, 4);
    const waiting = handle.ready(1000);
    setTimeout(() => (client.status = 'ready'), 30);
    await expect(waiting).resolves.toBeUndefined();
    client.status = 'reconnecting';
    const started = Date.now();
    await expect(handle.ready(50)).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(500);
    client.status = 'end';
    await expect(handle.ready(1000)).rejects.toMatchObject({ reason: 'connection' });
  });
});
