import { clusterOptions, reconnectDelay, standaloneOptions } from '../../../shared/redis/client-options';
import {
  DEFAULT_REDIS_TARGET,
  RedisConfigError,
  connectionKey,
  handleKey,
  resolveTarget,
  targetLabel,
  type RedisTarget,
} from '../../../shared/redis/target';

const base: RedisTarget = { mode: 'standalone', host: '10.0.0.5', port: 6380 };

describe('resolveTarget', () => {
  it('applies the documented defaults', () => {
    const t = resolveTarget(base);
    expect(t.command_timeout_ms).toBe(50);
    expect(t.connect_timeout_ms).toBe(500);
    expect(t.breaker).toEqual({ failure_threshold: 5, open_ms: 2000 });
    expect(t.database).toBe(0);
    expect(t.tls).toBe(false);
    expect(t.nodes).toEqual([{ host: '10.0.0.5', port: 6380 }]);
    expect(DEFAULT_REDIS_TARGET).toMatchObject({ mode: 'standalone', host: '127.0.0.1', port: 6379 });
  });

  it('treats the nulls Kong sends for unset fields as defaults', () => {
    const t = resolveTarget({
      ...base,
      nodes: null,
      sentinel_master: null,
      username: null,
      password: null,
      database: null,
      tls: null,
      command_timeout_ms: null,
      connect_timeout_ms: null,
      breaker: { failure_threshold: null, open_ms: 300 },
    });
    expect(t.username).toBeUndefined();
    expect(t.password).toBeUndefined();
    expect(t.command_timeout_ms).toBe(50);
    expect(t.breaker).toEqual({ failure_threshold: 5, open_ms: 300 });
  });

  it('rejects configs that cannot work', () => {
    expect(() => resolveTarget({ ...base, mode: 'sentinel' })).toThrow(RedisConfigError);
    expect(() => resolveTarget({ ...base, mode: 'cluster', database: 2 })).toThrow(RedisConfigError);
    expect(() => resolveTarget({ ...base, command_timeout_ms: 0 })).toThrow(RedisConfigError);
  });
});

describe('identity keys', () => {
  it('equal targets give equal keys regardless of field and node order', () => {
    const a = resolveTarget({ ...base, mode: 'cluster', nodes: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }] });
    const b = resolveTarget({ nodes: [{ host: 'b', port: 2 }, { host: 'a', port: 1 }], port: 6380, host: '10.0.0.5', mode: 'cluster' });
    expect(connectionKey(a)).toBe(connectionKey(b));
    expect(handleKey(a)).toBe(handleKey(b));
  });

  it('breaker settings change the handle, not the connection', () => {
    const a = resolveTarget(base);
    const b = resolveTarget({ ...base, breaker: { failure_threshold: 9 } });
    expect(connectionKey(a)).toBe(connectionKey(b));
    expect(handleKey(a)).not.toBe(handleKey(b));
  });

  it('everything that affects the socket changes the connection', () => {
    const key = connectionKey(resolveTarget(base));
    for (const change of [
      { database: 1 },
      { username: 'u' },
      { password: 'p' },
      { tls: true },
      { command_timeout_ms: 99 },
      { connect_timeout_ms: 99 },
      { port: 1 },
    ]) {
      expect(connectionKey(resolveTarget({ ...base, ...change }))).not.toBe(key);
    }
  });

  it('never contains the password, and the label is host:port only', () => {
    const t = resolveTarget({ ...base, username: 'svc', password: 'hunter2-secret' });
    expect(connectionKey(t)).not.toContain('hunter2-secret');
    expect(handleKey(t)).not.toContain('hunter2-secret');
    expect(targetLabel(t)).toBe('10.0.0.5:6380');
  });
});

describe('client options', () => {
  it('standalone: fail fast, no replay, timeouts from the target', () => {
    const o = standaloneOptions(resolveTarget({ ...base, database: 3, password: 'p', tls: true }));
    expect(o).toMatchObject({
      host: '10.0.0.5',
      port: 6380,
      db: 3,
      password: 'p',
      tls: {},
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 500,
    });
    expect(o).not.toHaveProperty('commandTimeout');
    expect(typeof o.retryStrategy).toBe('function');
  });

  it('sentinel: sentinels from nodes, master by name', () => {
    const o = standaloneOptions(
      resolveTarget({ ...base, mode: 'sentinel', sentinel_master: 'mymaster', nodes: [{ host: 's1', port: 26379 }] }),
    );
    expect(o).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', role: 'master' });
    expect(o.host).toBeUndefined();
    expect(o.sentinelPassword).toBeUndefined();
  });

  it('sentinel: the sentinels\' own credentials and TLS, kept apart from the master\'s', () => {
    const target = resolveTarget({
      ...base,
      mode: 'sentinel',
      sentinel_master: 'mymaster',
      sentinel_username: 'watcher',
      sentinel_password: 's3cret',
      password: 'master-secret',
      tls: true,
    });
    expect(standaloneOptions(target)).toMatchObject({ sentinelUsername: 'watcher', sentinelPassword: 's3cret', password: 'master-secret', enableTLSForSentinelMode: true });
    const other = resolveTarget({ ...base, mode: 'sentinel', sentinel_master: 'mymaster', sentinel_password: 'other', password: 'master-secret', tls: true, sentinel_username: 'watcher' });
    expect(connectionKey(target)).not.toBe(connectionKey(other));
    expect(connectionKey(target)).not.toContain('s3cret');
  });

  it('cluster: no offline queue and per-node fail-fast options', () => {
    const o = clusterOptions(resolveTarget({ ...base, mode: 'cluster' }));
    expect(o.enableOfflineQueue).toBe(false);
    expect(o.redisOptions).toMatchObject({ maxRetriesPerRequest: 0, connectTimeout: 500 });
    // no ioredis commandTimeout: it would time out replies already in the socket (the handle's deadline bounds calls)
    expect(o.redisOptions).not.toHaveProperty('commandTimeout');
  });

  it('reconnect backoff grows, is capped at 1 s and jittered downwards only', () => {
    expect(reconnectDelay(1, () => 1)).toBe(50);
    expect(reconnectDelay(2, () => 1)).toBe(100);
    expect(reconnectDelay(30, () => 1)).toBe(1000);
    expect(reconnectDelay(30, () => 0)).toBe(800);
  });
});
