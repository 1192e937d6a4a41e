import type { Logger } from '../../../shared/observability/log';
import { ConnectionStateLog } from '../../../shared/redis/connection-state';

describe('ConnectionStateLog', () => {
  it('logs once per state change, not per error', () => {
    const log = { info: jest.fn(), warn: jest.fn() };
    const state = new ConnectionStateLog(log as unknown as Logger, 'redis connection');
    state.up();
    for (let i = 0; i < 50; i++) state.down(new Error('ECONNREFUSED'));
    state.up();
    state.up();
    state.closed();
    state.down(new Error('after close'));
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0][1]).toBe('redis connection lost');
    expect(log.info.mock.calls.map((c) => c[c.length - 1])).toEqual([
      'redis connection ready',
      'redis connection ready',
      'redis connection closed',
    ]);
    expect(log.info.mock.calls[1][0]).toEqual({ recovered: true });
  });
});
