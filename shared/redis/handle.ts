import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { CircuitBreaker, type BreakerState } from './circuit-breaker';
import { isReady, type SharedConnection } from './connection';
import { withDeadline, type LateOutcome } from './deadline';
import { classifyFailure, RedisUnavailableError } from './errors';
import { BREAKER_STATE_VALUE, breakerStateGauge, commandsTotal, metricTarget, type CommandOutcome } from './metrics';
import type { RedisArg, RedisClient, RedisScript } from './script';
import type { ResolvedRedisTarget } from './target';

type Increment = { inc(): void };

const READY_POLL_MS = 10;

const SEVERITY: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * What plugins hold: one Redis target seen through a circuit breaker and a hard deadline. Cheap; many handles may
 * share one connection. On a cluster each master has its own breaker (chosen by the slot of the first key), so one
 * dead master fails fast for its own slots only while the other masters keep serving.
 */
export class RedisHandle {
  readonly target: string;
  private readonly breaker: CircuitBreaker;
  private readonly masterBreakers: Map<string, CircuitBreaker> | undefined;
  private readonly timeoutMs: number;
  private readonly outcomes: Record<CommandOutcome, Increment>;
  private readonly timedOut: () => Error;
  private readonly gauge: { set(value: number): void };
  private readonly now: (() => number) | undefined;

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
    this.gauge = breakerStateGauge.labels(metric);
    this.gauge.set(BREAKER_STATE_VALUE.closed);
    this.now = now;
    this.breaker = this.newBreaker(undefined);
    this.masterBreakers = config.mode === 'cluster' ? new Map() : undefined;
    this.timedOut = () => new RedisUnavailableError('timeout', this.target);
  }

  private newBreaker(master: string | undefined): CircuitBreaker {
    const config = this.config;
    return new CircuitBreaker({
      failureThreshold: config.breaker.failure_threshold,
      openMs: config.breaker.open_ms,
      now: this.now,
      onStateChange: (from, to, failures) => {
        this.gauge.set(BREAKER_STATE_VALUE[this.state()]);
        const fields = { from, to, consecutive_failures: failures, open_ms: config.breaker.open_ms, master };
        if (to === 'open') this.connection.log.warn(fields, 'redis circuit breaker opened');
        else this.connection.log.info(fields, `redis circuit breaker ${to}`);
      },
    });
  }

  /** The breaker guarding `key`: its slot's master on a cluster (once the slot map is known), else the handle's. */
  private breakerFor(key: RedisArg | undefined): CircuitBreaker {
    if (!this.masterBreakers || (typeof key !== 'string' && !Buffer.isBuffer(key))) return this.breaker;
    const master = (this.connection.client as Cluster).slots?.[calculateSlot(key)]?.[0];
    if (!master) return this.breaker;
    let breaker = this.masterBreakers.get(master);
    if (!breaker) {
      breaker = this.newBreaker(master);
      this.masterBreakers.set(master, breaker);
    }
    return breaker;
  }

  private succeeded(breaker: CircuitBreaker, reply: unknown): unknown {
    breaker.success();
    this.outcomes.ok.inc();
    return reply;
  }

  private failed(breaker: CircuitBreaker, err: unknown): never {
    const failure = classifyFailure(err);
    if (failure.kind === 'caller') {
      // The server answered: it is reachable, whatever the caller got wrong.
      breaker.success();
      this.outcomes.error.inc();
      throw err;
    }
    breaker.failure();
    this.outcomes[failure.reason === 'timeout' ? 'timeout' : 'error'].inc();
    throw err instanceof RedisUnavailableError ? err : new RedisUnavailableError(failure.reason, this.target, { cause: err });
  }

  /**
   * One script call (EVALSHA, EVAL on NOSCRIPT), bounded by command_timeout_ms as a whole. A call rejected with
   * reason "timeout" was sent and may still run: `onLate` hears its reply (or error) if one comes.
   */
  runScript(script: RedisScript, keys: readonly RedisArg[], args: readonly RedisArg[] = [], onLate?: (outcome: LateOutcome<unknown>) => void): Promise<unknown> {
    try {
      script.checkKeys(keys);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.execute(this.breakerFor(keys[0]), (client) => script.run(client, keys, args), onLate);
  }

  /** A plain command whose first argument is its key, e.g. `command('hgetall', key)`. Replies are ioredis'. */
  command(name: string, ...args: RedisArg[]): Promise<unknown> {
    return this.execute(this.breakerFor(args[0]), (client) => client.call(name, ...args));
  }

  /** The worst state among the handle's breakers (on a cluster: one per master). */
  state(): BreakerState {
    let worst = this.breaker.state;
    if (this.masterBreakers) for (const b of this.masterBreakers.values()) if (SEVERITY[b.state] > SEVERITY[worst]) worst = b.state;
    return worst;
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

  private execute(breaker: CircuitBreaker, work: (client: RedisClient) => Promise<unknown>, onLate?: (outcome: LateOutcome<unknown>) => void): Promise<unknown> {
    if (!breaker.tryAcquire()) {
      this.outcomes.rejected.inc();
      return Promise.reject(new RedisUnavailableError('circuit_open', this.target));
    }
    let pending: Promise<unknown>;
    try {
      // written now, not held for the turn: corking the socket per turn (one writev for the burst) made Node and
      // Redis take turns, each idle while the other worked a whole burst (bench/tenant-quota-vs-rlf.ts, quiet
      // machine: 1 limit 52k vs 65k decisions/s, 3 limits 25k vs 42k; through the plugin server 4.6k vs 6.4k req/s)
      pending = work(this.connection.client);
    } catch (err) {
      pending = Promise.reject(err);
    }
    return withDeadline(pending, this.timeoutMs, this.timedOut, onLate).then(
      (reply) => this.succeeded(breaker, reply),
      (err: unknown) => this.failed(breaker, err),
    );
  }
}
