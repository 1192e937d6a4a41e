export type BreakerState = 'closed' | 'half-open' | 'open';

export interface BreakerOptions {
  failureThreshold: number;
  openMs: number;
  now?: () => number;
  onStateChange?: (from: BreakerState, to: BreakerState, consecutiveFailures: number) => void;
}

/**
 * Consecutive-failure breaker. Pure: no timers, no I/O; time comes from `now`, so an open breaker moves to
 * half-open lazily, at the first call (or state read) after `openMs`.
 *
 * Outcomes reported while open are ignored: they belong to calls admitted before the breaker opened.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) this.moveTo('half-open');
    return this.current;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Whether a call may go to the network now. In half-open, exactly one probe is admitted at a time. */
  tryAcquire(): boolean {
    switch (this.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half-open':
        if (this.probeInFlight) return false;
        this.probeInFlight = true;
        return true;
    }
  }

  success(): void {
    this.failures = 0;
    if (this.current === 'half-open') {
      this.probeInFlight = false;
      this.moveTo('closed');
    }
  }

  failure(): void {
    if (this.current === 'open') return;
    this.failures += 1;
    if (this.current === 'half-open' || this.failures >= this.options.failureThreshold) {
      this.probeInFlight = false;
      this.openedAt = this.now();
      this.moveTo('open');
    }
  }

  private moveTo(next: BreakerState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.options.onStateChange?.(previous, next, this.failures);
  }
}
