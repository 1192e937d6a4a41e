import type { Decision, LimitResult, RequestPlan } from './limits';

/**
 * The in-process limiter used while Redis is unavailable (on_redis_failure "local"): the script's semantics
 * (GCRA, exact sliding log, calendar counter; check all, then consume all) over a Map, per plugin-server process.
 * Quotas arrive already divided by node_count (planRequest's divisor). Bounded: entries expire at their TTL and
 * at most `maxEntries` are kept (oldest dropped first), so memory stays flat under any key churn.
 */
interface Entry {
  expiresAt: number;
  /** gcra: TAT; calendar: used units. */
  value: number;
  /** sliding: [timestamp, cost, seq] triples in time order, and the running sum. */
  log?: Array<[number, number, number]>;
  used?: number;
  seq?: number;
}

export class LocalLimiter {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = 0;

  constructor(private readonly maxEntries = 50_000) {}

  get size(): number {
    return this.entries.size;
  }

  check(plan: RequestPlan, cost: number, now: number, consume = true): Decision {
    this.sweep(now);
    const results: LimitResult[] = [];
    const writes: Array<() => void> = [];
    let ki = 0;
    for (let i = 0; i < plan.applied.length; i++) {
      const kind = plan.args[i * 4] as string;
      const q = Number(plan.args[i * 4 + 1]);
      const p2 = Number(plan.args[i * 4 + 2]);
      const p3 = Number(plan.args[i * 4 + 3]);
      const key = plan.keys[ki];
      ki += kind === 's' ? 2 : 1;
      const entry = this.live(key, now);
      if (kind === 'g') {
        const interval = p2 / q;
        const capacity = p3 * interval;
        const tat = Math.max(entry?.value ?? 0, now);
        const newTat = tat + cost * interval;
        if (newTat - now <= capacity + 1e-6) {
          results.push({ allowed: true, remaining: Math.floor((now + capacity - newTat) / interval + 1e-6), resetMs: Math.ceil(newTat - now), retryMs: 0, token: '' });
          writes.push(() => this.put(key, { value: newTat, expiresAt: Math.max(now + 1, Math.ceil(newTat)) }));
        } else {
          results.push({ allowed: false, remaining: Math.floor((now + capacity - tat) / interval + 1e-6), resetMs: Math.ceil(tat - now), retryMs: Math.ceil(newTat - capacity - now), token: '' });
        }
      } else if (kind === 's') {
        const log = entry?.log ?? [];
        let used = entry?.used ?? 0;
        while (log.length && log[0][0] <= now - p2) used -= (log.shift() as [number, number, number])[1];
        if (entry) entry.used = used;
        const reset = log.length ? Math.ceil(log[0][0] + p2 - now) : p2;
        if (used + cost <= q) {
          const seq = (entry?.seq ?? 0) + 1;
          // the token names this write for a refund, as the script's sorted-set member does
          results.push({ allowed: true, remaining: q - used - cost, resetMs: reset, retryMs: 0, token: String(seq) });
          writes.push(() => {
            const e = entry ?? { value: 0, expiresAt: 0, log, used: 0, seq: 0 };
            e.seq = seq;
            e.log = log;
            log.push([now, cost, seq]);
            e.used = (e.used ?? 0) + cost;
            e.expiresAt = now + p2;
            this.put(key, e);
          });
        } else {
          let need = used + cost - q;
          let retry = p2;
          for (const [t, c] of log) {
            need -= c;
            if (need <= 0) {
              retry = Math.ceil(t + p2 - now);
              break;
            }
          }
          results.push({ allowed: false, remaining: Math.max(0, q - used), resetMs: reset, retryMs: retry, token: '' });
        }
      } else {
        const used = entry?.value ?? 0;
        if (used + cost <= q) {
          results.push({ allowed: true, remaining: q - used - cost, resetMs: p2, retryMs: 0, token: '' });
          writes.push(() => this.put(key, { value: used + cost, expiresAt: now + Math.max(1, p2) }));
        } else {
          results.push({ allowed: false, remaining: Math.max(0, q - used), resetMs: p2, retryMs: p2, token: '' });
        }
      }
    }
    const allowed = results.every((r) => r.allowed);
    if (allowed && consume && cost > 0) for (const write of writes) write();
    return { allowed, now, results };
  }

  /**
   * Gives back what an admitted request consumed (refund of a 5xx), with the script's semantics: `args` holds
   * kind, q, p2 and the result's token per limit, `keys` the plan's keys. Returns how many limits were refunded.
   */
  refund(keys: readonly string[], args: ReadonlyArray<string | number>, cost: number, now: number): number {
    let refunded = 0;
    let ki = 0;
    for (let i = 0; i + 3 < args.length; i += 4) {
      const kind = String(args[i]);
      const q = Number(args[i + 1]);
      const p2 = Number(args[i + 2]);
      const token = String(args[i + 3]);
      const key = keys[ki];
      ki += kind === 's' ? 2 : 1;
      const entry = this.live(key, now);
      if (!entry) continue;
      if (kind === 'g') {
        entry.value -= cost * (p2 / q);
        if (entry.value <= now) this.entries.delete(key);
        else entry.expiresAt = Math.max(now + 1, Math.ceil(entry.value));
        refunded++;
      } else if (kind === 's') {
        const at = entry.log?.findIndex(([, , seq]) => String(seq) === token) ?? -1;
        if (at < 0 || !entry.log) continue;
        const [[, spent]] = entry.log.splice(at, 1);
        entry.used = (entry.used ?? 0) - spent;
        refunded++;
      } else if (entry.value > 0) {
        entry.value -= Math.min(entry.value, cost);
        refunded++;
      }
    }
    return refunded;
  }

  clear(): void {
    this.entries.clear();
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private put(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** At most once a second: drop expired entries. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [key, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(key);
  }
}
