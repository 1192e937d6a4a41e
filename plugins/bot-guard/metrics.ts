import { counter, histogram } from '../../shared/observability/metrics';

/** The plugin's metrics (created once per process). Labels are categories, reason codes and actions: bounded sets. */
export const decisions = counter('kong_bot_guard_decisions_total', 'Requests classified, by category and action taken (dry_run: "yes" when only logged)', ['category', 'action', 'dry_run']);
export const reasons = counter('kong_bot_guard_reasons_total', 'Reason codes given, by reason', ['reason']);
export const verifications = counter('kong_bot_guard_verifications_total', 'Crawler claims checked, by operator, result and method', ['operator', 'result', 'method']);
export const redisFailures = counter('kong_bot_guard_redis_failures_total', 'Behaviour lookups skipped because Redis could not answer, by reason', ['reason']);
export const scores = histogram('kong_bot_guard_score', 'Scores given', [], [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);

type Increment = { inc(): void };
const decisionChildren = new Map<string, Increment>();
const reasonChildren = new Map<string, Increment>();

/** One decision counted: label children are resolved once per distinct label set, then only incremented. */
export function countDecision(category: string, action: string, dryRun: boolean, score: number, given: readonly string[]): void {
  const key = `${category}|${action}|${dryRun}`;
  let child = decisionChildren.get(key);
  if (!child) decisionChildren.set(key, (child = decisions.labels(category, action, dryRun ? 'yes' : 'no')));
  child.inc();
  scores.observe(score);
  for (const reason of given) {
    let r = reasonChildren.get(reason);
    if (!r) reasonChildren.set(reason, (r = reasons.labels(reason)));
    r.inc();
  }
}
