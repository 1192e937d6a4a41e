import { CircuitBreaker, type BreakerState } from '../../../shared/redis/circuit-breaker';

function breaker(failureThreshold = 3, openMs = 1000) {
  let now = 0;
  const changes: Array<[BreakerState, BreakerState]> = [];
  const b = new CircuitBreaker({
    failureThreshold,
    openMs,
    now: () => now,
    onStateChange: (from, to) => changes.push([from, to]),
  });
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and counts only consecutive failures', () => {
    const { b, changes } = breaker(3);
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(changes).toEqual([]);
  });

  it('opens after N consecutive failures and then rejects without admitting calls', () => {
    const { b, changes, advance } = breaker(3, 1000);
    b.failure();
    b.failure();
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    expect(changes).toEqual([['closed', 'open']]);
  });

  it('after open_ms admits exactly one probe (half-open); success closes', () => {
    const { b, changes, advance } = breaker(1, 1000);
    b.failure();
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.tryAcquire()).toBe(false);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  it('a failed probe re-opens for another open_ms', () => {
    const { b, advance } = breaker(2, 500);
    b.failure();
    b.failure();
    advance(500);
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    advance(499);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
  });

  it('reading the state moves open to half-open once open_ms has passed', () => {
    const { b, advance } = breaker(1, 100);
    b.failure();
    advance(100);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
  });

  it('ignores late outcomes of calls admitted before it opened', () => {
    const { b, changes } = breaker(1, 1000);
    b.failure();
    b.failure();
    b.success();
    expect(b.state).toBe('open');
    expect(changes).toEqual([['closed', 'open']]);
  });
});
