import { BoundedLabel, counter, gauge } from '../observability/metrics';
import type { BreakerState } from './circuit-breaker';

export type CommandOutcome = 'ok' | 'error' | 'timeout' | 'rejected';

export const breakerStateGauge = gauge(
  'kong_plugins_redis_breaker_state',
  'Circuit breaker state per Redis target: 0 closed, 1 half-open, 2 open',
  ['target'],
);

export const commandsTotal = counter(
  'kong_plugins_redis_commands_total',
  'Redis calls by target and outcome (rejected: refused by an open breaker, no network)',
  ['target', 'outcome'],
);

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

// Targets come from plugin configs, which operators can multiply; cap the label's cardinality.
const targets = new BoundedLabel(64);

export function metricTarget(label: string): string {
  return targets.value(label);
}
