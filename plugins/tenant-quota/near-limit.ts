import type { Decision, RequestPlan } from './quota-plan';

export interface Crossing {
  limit: string;
  percent: number;
  used: number;
  quota: number;
}

/**
 * Pure: the calendar quotas whose configured usage percentages this admitted request crossed. Exactly once per
 * window across nodes: the crossing is computed from the script's own answer (used before and after this cost).
 */
export function crossedThresholds(plan: RequestPlan, decision: Decision, cost: number, percents: readonly number[]): Crossing[] {
  const out: Crossing[] = [];
  if (!percents.length) return out;
  plan.applied.forEach((a, i) => {
    if (a.algorithm !== 'calendar') return;
    const after = a.quota - decision.results[i].remaining;
    const before = after - cost;
    for (const percent of percents) {
      const threshold = Math.ceil((a.quota * percent) / 100);
      if (before < threshold && after >= threshold) out.push({ limit: a.limit.name, percent, used: after, quota: a.quota });
    }
  });
  return out;
}
