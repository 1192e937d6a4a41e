import { stateKey, type Decision, type LimitResult, type RefundTicket, type RequestPlan } from './quota-plan';

/**
 * The in-process limiter used while Redis is unavailable (on_redis_failure "local"): the script's semantics
 * (GCRA, exact sliding log, calendar counter; check all, then consume all) over a Map, per plugin-server process.
 * Quotas arrive already divided by node_count (planRequest's divisor). Bounded: entries expire at their TTL and
 * at most `maxEntries` are kept (oldest dropped first), so memory stays flat under any key churn.
 *
 * A stall does not hand out budgets afresh. Every Redis answer is remembered as a seed (what Redis said was left of
 * each limit, until that state expires); when the fallback first meets a key it starts from the seed, divided by
 * node_count, and never from more than `sharePercent` of the (divided) limit, so a tenant that had spent its budget
 * gets nothing more and one never seen gets at most that share. Commands whose outcome is unknown (sent, deadline
 * passed, no reply yet) count as consumed: `pending` names their cost per key, and a unit Redis may still grant to
 * them is not granted again here.
 */
export interface Seed {
  /** Units Redis said were left (undivided). */
  remaining: number;
  /** When Redis said it (ms). */
  at: number;
  /** Until when the seed describes the limit: its window end (calendar), TAT (gcra), one window (sliding). */
  expiresAt: number;
}

/** How one config's fallback starts and counts (the limiter itself is shared by every config in the process). */
export interface FallbackTerms {
  /** Units of other requests whose Redis outcome is unknown, per key (counted as consumed). */
  pending?: (key: string) => number;
  /** node_count: a seed's remaining units are shared by that many gateways. */
  divisor?: number;
  /** At most this share (1..100) of a divided limit is available when the fallback starts a key. */
  sharePercent?: number;
}

const NO_PENDING = (): number => 0;
const NO_TERMS: FallbackTerms = {};
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
  private readonly seeds = new Map<string, Seed>();
  private lastSweep = 0;

  constructor(private readonly maxEntries = 50_000) {}

  get size(): number {
    return this.entries.size;
  }

  get seedCount(): number {
    return this.seeds.size;
  }

  /**
   * What Redis answered for a plan (its undivided quotas): remembered per key as the seed of a later fallback. An
   * answer in time also ends the key's local episode (`late` false: Redis is authoritative again, the local entry
   * goes); a late reply only refreshes the seed, the running local entry keeps what it admitted meanwhile.
   */
  observe(plan: RequestPlan, decision: Decision, late = false): void {
    for (const [i, planned] of plan.applied.entries()) {
      const key = stateKey(planned);
      const r = decision.results[i];
      if (!r) continue;
      const span = planned.algorithm === 'sliding_window' ? planned.windowMs : Math.max(1, r.resetMs);
      this.putSeed(key, { remaining: Math.max(0, r.remaining), at: decision.now, expiresAt: decision.now + span });
      if (!late) this.entries.delete(key);
    }
  }

  /** A command whose outcome stays unknown for good (it may have run): its cost counts as consumed here. */
  chargeUnknown(plan: RequestPlan, cost: number, now: number): void {
    for (const planned of plan.applied) {
      const key = stateKey(planned);
      const entry = this.live(key, now);
      if (entry) {
        if (planned.algorithm === 'gcra') entry.value = Math.max(entry.value, now) + cost * (planned.periodMs / planned.quota);
        else if (planned.algorithm === 'sliding_window') {
          entry.log?.push([now, cost, 0]);
          entry.used = (entry.used ?? 0) + cost;
        } else entry.value += cost;
        continue;
      }
      const seed = this.seeds.get(key);
      if (seed && seed.expiresAt > now) seed.remaining = Math.max(0, seed.remaining - cost);
    }
  }

  /** The decision for a plan (quotas already divided by node_count), on the terms of the plan's config. */
  check(plan: RequestPlan, cost: number, now: number, consume = true, terms: FallbackTerms = NO_TERMS): Decision {
    this.sweep(now);
    const pending = terms.pending ?? NO_PENDING;
    const results: LimitResult[] = [];
    const writes: Array<() => void> = [];
    /** Per admitting limit: its state without this request (reported when nothing is consumed, as the script does). */
    const unconsumed: Array<{ remaining: number; resetMs: number } | undefined> = [];
    for (const planned of plan.applied) {
      const q = planned.quota;
      // a sliding limit's log lives under its first key here (Redis splits it into a sorted set and a hash)
      const key = stateKey(planned);
      const entry = this.live(key, now) ?? this.started(planned, now, terms);
      const unknown = pending(key);
      if (planned.algorithm === 'gcra') {
        const interval = planned.periodMs / q;
        const capacity = planned.burst * interval;
        const tat = Math.max(entry?.value ?? 0, now) + unknown * interval;
        const newTat = tat + cost * interval;
        if (newTat - now <= capacity + 1e-6) {
          results.push({ allowed: true, remaining: Math.floor((now + capacity - newTat) / interval + 1e-6), resetMs: Math.ceil(newTat - now), retryMs: 0, token: '' });
          unconsumed[results.length - 1] = { remaining: Math.floor((now + capacity - tat) / interval + 1e-6), resetMs: Math.ceil(tat - now) };
          const stored = newTat - unknown * interval;
          writes.push(() => this.put(key, { value: stored, expiresAt: Math.max(now + 1, Math.ceil(stored)) }));
        } else {
          results.push({ allowed: false, remaining: Math.floor((now + capacity - tat) / interval + 1e-6), resetMs: Math.ceil(tat - now), retryMs: Math.ceil(newTat - capacity - now), token: '' });
        }
      } else if (planned.algorithm === 'sliding_window') {
        const windowMs = planned.windowMs;
        const log = entry?.log ?? [];
        let stored = entry?.used ?? 0;
        while (log.length && log[0][0] <= now - windowMs) stored -= (log.shift() as [number, number, number])[1];
        if (entry) entry.used = stored;
        const used = stored + unknown;
        const reset = log.length ? Math.ceil(log[0][0] + windowMs - now) : windowMs;
        if (used + cost <= q) {
          const seq = (entry?.seq ?? 0) + 1;
          // the token names this write for a refund, as the script's sorted-set member does
          results.push({ allowed: true, remaining: q - used - cost, resetMs: reset, retryMs: 0, token: String(seq) });
          unconsumed[results.length - 1] = { remaining: q - used, resetMs: reset };
          writes.push(() => {
            const e = entry ?? { value: 0, expiresAt: 0, log, used: 0, seq: 0 };
            e.seq = seq;
            e.log = log;
            log.push([now, cost, seq]);
            e.used = stored + cost;
            e.expiresAt = now + windowMs;
            this.put(key, e);
          });
        } else {
          let need = used + cost - q;
          let retry = windowMs;
          for (const [t, c] of log) {
            need -= c;
            if (need <= 0) {
              retry = Math.ceil(t + windowMs - now);
              break;
            }
          }
          results.push({ allowed: false, remaining: Math.max(0, q - used), resetMs: reset, retryMs: retry, token: '' });
        }
      } else {
        const msLeft = planned.msLeft;
        const stored = entry?.value ?? 0;
        const used = stored + unknown;
        if (used + cost <= q) {
          results.push({ allowed: true, remaining: q - used - cost, resetMs: msLeft, retryMs: 0, token: '' });
          unconsumed[results.length - 1] = { remaining: q - used, resetMs: msLeft };
          writes.push(() => this.put(key, { value: stored + cost, expiresAt: now + Math.max(1, msLeft) }));
        } else {
          results.push({ allowed: false, remaining: Math.max(0, q - used), resetMs: msLeft, retryMs: msLeft, token: '' });
        }
      }
    }
    const allowed = results.every((r) => r.allowed);
    if (allowed && consume && cost > 0) for (const write of writes) write();
    else {
      for (const [i, state] of unconsumed.entries()) {
        if (!state) continue;
        results[i].remaining = state.remaining;
        results[i].resetMs = Math.max(0, state.resetMs);
        results[i].token = '';
      }
    }
    return { allowed, now, results };
  }

  /**
   * Gives back what an admitted request consumed (refund of a 5xx), with the refund script's semantics. Returns
   * how many limits were refunded.
   */
  refund(ticket: RefundTicket, now: number): number {
    const cost = ticket.cost;
    let refunded = 0;
    for (const l of ticket.limits) {
      const key = l.algorithm === 'sliding_window' ? l.logKey : l.key;
      const entry = this.live(key, now);
      if (!entry) continue;
      if (l.algorithm === 'gcra') {
        entry.value -= cost * (l.periodMs / l.quota);
        if (entry.value <= now) this.entries.delete(key);
        else entry.expiresAt = Math.max(now + 1, Math.ceil(entry.value));
        refunded++;
      } else if (l.algorithm === 'sliding_window') {
        const at = entry.log?.findIndex(([, , seq]) => String(seq) === l.token) ?? -1;
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
    this.seeds.clear();
  }

  /**
   * The entry a key starts its fallback episode with: what the last Redis answer left (divided by node_count), at
   * most the configured share of the divided limit; undefined when that is the whole limit (a fresh key).
   */
  private started(planned: RequestPlan['applied'][number], now: number, terms: FallbackTerms): Entry | undefined {
    const q = planned.quota;
    const capacity = planned.algorithm === 'gcra' ? planned.burst : q;
    const seed = this.seeds.get(stateKey(planned));
    let left = Math.floor((capacity * (terms.sharePercent ?? 100)) / 100 + 1e-9);
    if (seed && seed.expiresAt > now) left = Math.min(left, Math.floor(seed.remaining / (terms.divisor ?? 1)));
    if (left >= capacity) return undefined;
    const spent = capacity - Math.max(0, left);
    const at = seed && seed.expiresAt > now ? seed.at : now;
    let entry: Entry;
    if (planned.algorithm === 'gcra') {
      const interval = planned.periodMs / q;
      const tat = at + spent * interval;
      entry = { value: tat, expiresAt: Math.max(now + 1, Math.ceil(tat)) };
    } else if (planned.algorithm === 'sliding_window') {
      // the log's timestamps are unknown: all spent units count from the seed's instant (they free no earlier)
      entry = { value: 0, log: [[at, spent, 0]], used: spent, seq: 0, expiresAt: at + planned.windowMs };
    } else {
      entry = { value: spent, expiresAt: now + Math.max(1, planned.msLeft) };
    }
    if (entry.expiresAt <= now) return undefined;
    this.put(stateKey(planned), entry);
    return entry;
  }

  private putSeed(key: string, seed: Seed): void {
    this.seeds.delete(key);
    this.seeds.set(key, seed);
    while (this.seeds.size > this.maxEntries) this.seeds.delete(this.seeds.keys().next().value as string);
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
    for (const [key, seed] of this.seeds) if (seed.expiresAt <= now) this.seeds.delete(key);
  }
}
