import type { Logger } from '../../shared/observability/log';
import { BoundedLabel, counter } from '../../shared/observability/metrics';
import type { KongConsumer } from '../../shared/pdk';
import { DEPRECATED_STATES, type VersionState } from './lifecycle';

export const REQUESTS_METRIC = 'kong_version_deprecation_requests_total';
export const REJECTED_METRIC = 'kong_version_deprecation_rejected_total';
export const ANONYMOUS = 'anonymous';

const requests = counter(REQUESTS_METRIC, 'Requests per API version, lifecycle state and consumer (consumer empty when not tracked)', ['route', 'version', 'consumer', 'state']);
const rejected = counter(REJECTED_METRIC, 'Requests answered 400 because the API version was unknown, missing or conflicting, or the path could not be routed under it', ['route', 'reason']);

export type ConsumerMetrics = 'scheduled' | 'all' | 'none';
export type ConsumerIdentifier = 'username' | 'custom_id' | 'id';

/**
 * Remembers when each (version, consumer) pair was last logged, so a deprecated call is logged once per interval.
 * Memory is bounded: past `maxEntries` the least recently logged pair is forgotten (Map keeps insertion order and a
 * logged pair is re-inserted, so the first key is always the oldest).
 */
export class FirstCallLog {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxEntries: number,
  ) {}

  shouldLog(key: string, now: number): boolean {
    const previous = this.last.get(key);
    if (previous !== undefined && now - previous < this.intervalMs && now >= previous) return false;
    this.last.delete(key);
    this.last.set(key, now);
    if (this.last.size > this.maxEntries) this.last.delete(this.last.keys().next().value as string);
    return true;
  }

  get size(): number {
    return this.last.size;
  }
}

/** Per plugin config (shared by its instances in every worker and across reconfigurations): bounded state. */
const scopes = new Map<string, { labels: BoundedLabel; firstCalls: FirstCallLog; key: string }>();

function scopeFor(id: string, maxConsumers: number, intervalMs: number) {
  const key = `${maxConsumers}:${intervalMs}`;
  let scope = scopes.get(id);
  if (!scope || scope.key !== key) {
    // pairs logged: every version of every tracked consumer, capped
    scope = { labels: new BoundedLabel(maxConsumers), firstCalls: new FirstCallLog(intervalMs, Math.min(maxConsumers * 8, 100_000)), key };
    scopes.set(id, scope);
  }
  return scope;
}

export interface UsageOptions {
  /** Stable id of the plugin config (its __plugin_id), scoping the bounded state. */
  scopeId: string;
  route: string;
  consumerMetrics: ConsumerMetrics;
  identifier: ConsumerIdentifier;
  maxConsumers: number;
  logIntervalMs: number;
  log: Logger;
}

export interface UsageEvent {
  version: string;
  state: VersionState;
  consumer?: KongConsumer;
  now: number;
  sunset?: string;
  successor?: string;
}

/** Counts requests per version x consumer x state, and logs a consumer's first deprecated call per interval. */
export class UsageRecorder {
  private readonly scope: ReturnType<typeof scopeFor>;

  constructor(private readonly options: UsageOptions) {
    this.scope = scopeFor(options.scopeId, options.maxConsumers, options.logIntervalMs);
  }

  /** Whether a request in `state` needs the consumer (one PDK call): only when it gets a consumer label. */
  wantsConsumer(state: VersionState): boolean {
    const mode = this.options.consumerMetrics;
    return mode === 'all' || (mode === 'scheduled' && state !== 'active');
  }

  consumerName(consumer: KongConsumer | undefined): string {
    if (!consumer) return ANONYMOUS;
    const preferred = consumer[this.options.identifier];
    return typeof preferred === 'string' && preferred !== '' ? preferred : consumer.id;
  }

  record(event: UsageEvent): void {
    const tracked = this.wantsConsumer(event.state);
    const name = tracked ? this.consumerName(event.consumer) : '';
    const label = tracked ? this.scope.labels.value(name) : '';
    requests.inc({ route: this.options.route, version: event.version, consumer: label, state: event.state });
    if (!DEPRECATED_STATES.has(event.state)) return;
    // the log keys on the real name (bounded by FirstCallLog), so consumers past the label limit are still named
    const who = tracked ? name : '';
    if (!this.scope.firstCalls.shouldLog(`${event.version}\u0000${who}`, event.now)) return;
    this.options.log.warn(
      {
        event: 'deprecated_api_version_called',
        version: event.version,
        state: event.state,
        consumer: tracked ? name : undefined,
        consumer_id: tracked ? event.consumer?.id : undefined,
        route: this.options.route,
        sunset: event.sunset,
        successor: event.successor,
      },
      'consumer called a deprecated API version',
    );
  }

  rejected(reason: 'unknown' | 'missing' | 'conflict' | 'invalid_path'): void {
    rejected.inc({ route: this.options.route, reason });
  }
}
