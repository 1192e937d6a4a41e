import { ReplyError } from 'ioredis';
import { RedisUnavailableError, classifyFailure } from '../../../shared/redis/errors';

describe('classifyFailure', () => {
  it('script and argument errors are the caller’s', () => {
    expect(classifyFailure(new ReplyError('ERR user_script:1: Script attempted to access nonexistent global')).kind).toBe('caller');
    expect(classifyFailure(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')).kind).toBe('caller');
    expect(classifyFailure(new ReplyError('CROSSSLOT Keys in request don\'t hash to the same slot')).kind).toBe('caller');
  });

  it('server-side unavailability replies count against the breaker', () => {
    expect(classifyFailure(new ReplyError('LOADING Redis is loading the dataset in memory'))).toMatchObject({ kind: 'unavailable', reason: 'server_busy' });
    expect(classifyFailure(new ReplyError('BUSY Redis is busy running a script'))).toMatchObject({ kind: 'unavailable', reason: 'server_busy' });
  });

  it('timeouts and connection errors', () => {
    expect(classifyFailure(new Error('Command timed out'))).toMatchObject({ reason: 'timeout' });
    expect(classifyFailure(new RedisUnavailableError('timeout', 'h:1'))).toMatchObject({ reason: 'timeout' });
    expect(classifyFailure(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toMatchObject({
      kind: 'unavailable',
      reason: 'connection',
    });
  });

  it('RedisUnavailableError carries a stable code', () => {
    const err = new RedisUnavailableError('circuit_open', '127.0.0.1:6379');
    expect(err.code).toBe('KONG_PLUGINS_REDIS_CIRCUIT_OPEN');
    expect(err.name).toBe('RedisUnavailableError');
    expect(err.message).toContain('127.0.0.1:6379');
  });
});
