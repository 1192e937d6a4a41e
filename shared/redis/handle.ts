import { CircuitBreaker, type BreakerState } from './circuit-breaker';
import { isReady, type SharedConnection } from './connection';
import { withDeadline } from './deadline';
import { classifyFailure, RedisUnavailableError } from './errors';
import { BREAKER_STATE_VALUE, breakerStateGauge, commandsTotal, metricTarget, type CommandOutcome } from './metrics';
import type { RedisArg, RedisClient, RedisScript } from './script';
import type { ResolvedRedisTarget } from './target';

type Increment = { inc(): void };

const READY_POLL_MS = 10;

/**
 * What plugins hold: one Redis target seen through a circuit breaker and a hard deadline. Cheap; many handles may
 * share one connection.
 */
export class RedisHandle {
  readonly target: string;
  private readonly breaker: CircuitBreaker;
  private readonly timeoutMs: number;
  private readonly outcomes: Record<CommandOutcome, Increment>;
  private readonly timedOut: () => Error;
  private readonly onSuccess: (reply: unknown) => unknown;
  private readonly onFailure: (err: unknown) => never;

  constructor(
    private readonly connection: SharedConnection,
    private readonly config: ResolvedRedisTarget,
    now?: () => number,
  ) {
    this.target = connection.label;
    this.timeoutMs = config.command_timeout_ms;
    // Label children resolved once: the hot path then only increments.
    const metric = metricTarget(this.target);
    this.outcomes = {
      ok: commandsTotal.labels(metric, 'ok'),
      error: commandsTotal.labels(metric, 'error'),
      timeout: commandsTotal.labels(metric, 'timeout'),
      rejected: commandsTotal.labels(metric, 'rejected'),
    };
    const gauge = breakerStateGauge.labels(metric);
    gauge.set(BREAKER_STATE_VALUE.closed);
    this.breaker = new CircuitBreaker({
      failureThreshold: config.breaker.failure_threshold,
      openMs: config.breaker.open_ms,
      now,
      onStateChange: (from, to, failures) => {
        gauge.set(BREAKER_STATE_VALUE[to]);
        const fields = { from, to, consecutive_failures: failures, open_ms: config.breaker.open_ms };
        if (to === 'open') connection.log.warn(fields, 'redis circuit breaker opened');
        else connection.log.info(fields, `redis circuit breaker ${to}`);
      },
    });
    this.timedOut = () => new RedisUnavailableError('timeout', this.target);
    this.onSuccess = (reply) => {
      this.breaker.success();
      this.outcomes.ok.inc();
      return reply;
    };
    this.onFailure = (err) => {
      const failure = classifyFailure(err);
      if (failure.kind === 'caller') {
        // The server answered: it is reachable, whatever the caller got wrong.
        this.breaker.success();
        this.outcomes.error.inc();
        throw err;
      }
      this.breaker.failure();
      this.outcomes[failure.reason === 'timeout' ? 'timeout' : 'error'].inc();
      throw err instanceof RedisUnavailableError
        ? err
        : new RedisUnavailableError(failure.reason, this.target, { cause: err });
    };
  }

  /** One script call (EVALSHA, EVAL on NOSCRIPT), bounded by command_timeout_ms as a whole. */
  runScript(script: RedisScript, keys: readonly RedisArg[], args: readonly RedisArg[] = []): Promise<unknown> {
    try {
      script.checkKeys(keys);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.execute((client) => script.run(client, keys, args));
  }

  /** A plain command, e.g. `command('hgetall', key)`. Replies are ioredis' (hgetall: an object). */
  command(name: string, ...args: RedisArg[]): Promise<unknown> {
    return this.execute((client) => client.call(name, ...args));
  }

  state(): BreakerState {
    return this.breaker.state;
  }

  /**
   * Resolves once the connection can serve (a cluster: every master connected); rejects with RedisUnavailableError
   * after `timeoutMs`. Optional: calls never wait for readiness, they fail fast. Polls; not for the request path.
   */
  async ready(timeoutMs: number = this.config.connect_timeout_ms): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const client = this.connection.client;
      if (isReady(client)) return;
      if (client.status === 'end') throw new RedisUnavailableError('connection', this.target);
      if (Date.now() >= deadline) throw new RedisUnavailableError('timeout', this.target);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }

  private execute(work: (client: RedisClient) => Promise<unknown>): Promise<unknown> {
    if (!this.breaker.tryAcquire()) {
      this.outcomes.rejected.inc();
      return Promise.reject(new RedisUnavailableError('circuit_open', this.target));
    }
    let pending: Promise<unknown>;
    try {
      pending = work(this.connection.client);
    } catch (err) {
      pending = Promise.reject(err);
    }
    return withDeadline(pending, this.timeoutMs, this.timedOut).then(this.onSuccess, this.onFailure);
  }
}
