import type { CalendarCache } from './calendar';
import { tenantTag, keyPart, type Algorithm, type CompiledLimit, type Identity } from './limits';

/**
 * One request's quota plan, typed: which limits apply, with their keys and quotas. It is the only place that knows
 * the quota script's wire layout (lua/quota-script.ts): it encodes itself into KEYS/ARGV, decodes the script's
 * reply, and makes the refund ticket of an admitted request (encoded into kong.ctx.shared for the log phase, and
 * into the refund script's ARGV). The local fallback reads the same typed plan and ticket, never the wire.
 */

interface PlannedBase {
  readonly limit: CompiledLimit;
  /** The quota enforced and reported in headers (local fallback: divided by node_count). */
  readonly quota: number;
  /** `w` of RateLimit-Policy, seconds. */
  readonly windowSeconds: number;
}

export type PlannedLimit =
  | (PlannedBase & { readonly algorithm: 'gcra'; readonly key: string; readonly periodMs: number; readonly burst: number })
  | (PlannedBase & { readonly algorithm: 'sliding_window'; readonly logKey: string; readonly sumKey: string; readonly windowMs: number })
  | (PlannedBase & { readonly algorithm: 'calendar'; readonly key: string; readonly msLeft: number });

/** What the script (or the local limiter) says about each limit, in plan order. */
export interface LimitResult {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryMs: number;
  /** Sliding log member written (refunds). */
  token: string;
}

export interface Decision {
  allowed: boolean;
  now: number;
  results: LimitResult[];
}

/** The script's one-letter kinds: the wire only. */
const WIRE_KIND: Record<Algorithm, string> = { gcra: 'g', sliding_window: 's', calendar: 'c' };

/** The one key naming a limit's state (the local limiter's entry, the unit of seeds and pending costs). */
export function stateKey(limit: PlannedLimit): string {
  return limit.algorithm === 'sliding_window' ? limit.logKey : limit.key;
}

function keysOf(limit: PlannedLimit | RefundLimit): string[] {
  return limit.algorithm === 'sliding_window' ? [limit.logKey, limit.sumKey] : [limit.key];
}

export class RequestPlan {
  /** KEYS of the quota script, in plan order (sliding limits take two). */
  readonly keys: string[];
  /** The limits' part of ARGV: kind, q, p2, p3 per limit (see quota-script.ts). */
  readonly args: Array<string | number>;

  constructor(readonly applied: readonly PlannedLimit[]) {
    this.keys = applied.flatMap(keysOf);
    this.args = applied.flatMap((p): Array<string | number> => {
      switch (p.algorithm) {
        case 'gcra':
          return [WIRE_KIND.gcra, p.quota, p.periodMs, p.burst];
        case 'sliding_window':
          return [WIRE_KIND.sliding_window, p.quota, p.windowMs, 0];
        case 'calendar':
          return [WIRE_KIND.calendar, p.quota, p.msLeft, 0];
      }
    });
  }

  /** ARGV of the quota script: `now` 0 means Redis TIME. */
  scriptArgs(now: number, cost: number, consume = true): Array<string | number> {
    return [now, cost, consume ? 1 : 0, ...this.args];
  }

  decode(reply: unknown): Decision {
    return parseReply(reply, this.applied.length);
  }

  /** What an admitted request consumed, for a refund if it ends in 5xx. */
  refundTicket(tenant: string, results: readonly LimitResult[], cost: number, local: boolean): RefundTicket {
    const limits = this.applied.map((p, i): RefundLimit => {
      switch (p.algorithm) {
        case 'gcra':
          return { algorithm: 'gcra', key: p.key, quota: p.quota, periodMs: p.periodMs };
        case 'sliding_window':
          return { algorithm: 'sliding_window', logKey: p.logKey, sumKey: p.sumKey, token: results[i].token };
        case 'calendar':
          return { algorithm: 'calendar', key: p.key };
      }
    });
    return new RefundTicket(tenant, cost, local, limits);
  }
}

function scopePart(limit: CompiledLimit, who: Identity): string {
  switch (limit.scope) {
    case 'tenant':
      return 't';
    case 'consumer':
      return `c:${keyPart(who.consumer)}`;
    case 'endpoint':
      return `e:${keyPart(who.endpoint)}`;
  }
}

/**
 * The plan of one request. `divisor` > 1 divides every quota (local fallback shares a limit between node_count
 * gateways); a quota never drops below 1.
 */
export function planRequest(prefix: string, limits: readonly CompiledLimit[], who: Identity, now: number, divisor = 1): RequestPlan {
  const tag = tenantTag(prefix, who.tenant);
  return new RequestPlan(
    limits.map((limit): PlannedLimit => {
      const base = `${tag}:${scopePart(limit, who)}:${limit.name}`;
      const quota = Math.max(1, Math.floor(limit.quota / divisor));
      switch (limit.algorithm) {
        case 'calendar': {
          const window = (limit.calendar as CalendarCache).windowAt(now);
          return { algorithm: 'calendar', limit, quota, windowSeconds: Math.round((window.end - window.start) / 1000), key: `${base}:${window.id}`, msLeft: Math.max(1, window.end - now) };
        }
        case 'gcra':
          return { algorithm: 'gcra', limit, quota, windowSeconds: limit.windowMs / 1000, key: `${base}:${limit.shape}`, periodMs: limit.windowMs, burst: Math.max(1, Math.floor(limit.burst / divisor)) };
        case 'sliding_window':
          return { algorithm: 'sliding_window', limit, quota, windowSeconds: limit.windowMs / 1000, logKey: `${base}:${limit.shape}:z`, sumKey: `${base}:${limit.shape}:h`, windowMs: limit.windowMs };
      }
    }),
  );
}

/** Parses the script reply `{denied, now, (allowed, remaining, reset, retry, token)*}`. */
export function parseReply(reply: unknown, count: number): Decision {
  if (!Array.isArray(reply) || reply.length !== 2 + count * 5) throw new Error(`unexpected quota script reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  const results: LimitResult[] = [];
  for (let i = 0; i < count; i++) {
    const o = 2 + i * 5;
    results.push({ allowed: Number(reply[o]) === 1, remaining: Number(reply[o + 1]), resetMs: Number(reply[o + 2]), retryMs: Number(reply[o + 3]), token: String(reply[o + 4] ?? '') });
  }
  return { allowed: Number(reply[0]) === 0, now: Number(reply[1]), results };
}

export type RefundLimit =
  | { readonly algorithm: 'gcra'; readonly key: string; readonly quota: number; readonly periodMs: number }
  | { readonly algorithm: 'sliding_window'; readonly logKey: string; readonly sumKey: string; readonly token: string }
  | { readonly algorithm: 'calendar'; readonly key: string };

/** What an admitted request consumed: given back when it ends in 5xx (log phase), by Redis or the local limiter. */
export class RefundTicket {
  constructor(
    readonly tenant: string,
    readonly cost: number,
    /** Admitted by the local fallback: refunded there (Redis never counted it). */
    readonly local: boolean,
    readonly limits: readonly RefundLimit[],
  ) {}

  /** KEYS of the refund script (the quota script's layout). */
  get keys(): string[] {
    return this.limits.flatMap(keysOf);
  }

  /** ARGV of the refund script: now (0 = Redis TIME), cost, then kind, q, p2, token per limit. */
  scriptArgs(now: number): Array<string | number> {
    const args: Array<string | number> = [now, this.cost];
    for (const l of this.limits) {
      if (l.algorithm === 'gcra') args.push(WIRE_KIND.gcra, l.quota, l.periodMs, '');
      else if (l.algorithm === 'sliding_window') args.push(WIRE_KIND.sliding_window, 0, 0, l.token);
      else args.push(WIRE_KIND.calendar, 0, 0, '');
    }
    return args;
  }

  /** The kong.ctx.shared value carrying the ticket from access to log. */
  encode(): string {
    return JSON.stringify({ tenant: this.tenant, cost: this.cost, local: this.local, limits: this.limits });
  }

  static decode(saved: unknown): RefundTicket | undefined {
    if (typeof saved !== 'string') return undefined;
    const v = JSON.parse(saved) as Partial<RefundTicket>;
    if (typeof v.tenant !== 'string' || typeof v.cost !== 'number' || !Array.isArray(v.limits)) return undefined;
    return new RefundTicket(v.tenant, v.cost, v.local === true, v.limits);
  }
}
