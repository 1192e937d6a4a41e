import { CalendarCache, type Weekday } from './calendar';
import type { LimitConfig } from './schema';

/**
 * Pure: from a tenant's effective limits and the request's identity to the list of applicable limits, each with
 * its Redis keys and script arguments. Keys: `<prefix>:{<tenant>}:<scope>[:<who>]:<limit>:<window>` with the tenant
 * as the hash tag, so every key of one request lives in one Redis Cluster slot.
 */
export type LimitKind = 'g' | 's' | 'c';
export type Scope = 'tenant' | 'consumer' | 'endpoint';

export interface CalendarSettings {
  timeZone: string;
  anchorDay: number;
  weekStart: Weekday;
}

export interface CompiledLimit {
  readonly name: string;
  readonly scope: Scope;
  readonly kind: LimitKind;
  /** Units per window. */
  readonly q: number;
  /** gcra / sliding: window length. */
  readonly windowMs: number;
  /** gcra: bucket capacity. */
  readonly burst: number;
  readonly calendar: CalendarCache | undefined;
  /** Key fragment for the window shape, e.g. `g60`, `s3600`. */
  readonly shape: string;
}

export function compileLimit(limit: LimitConfig, calendar: CalendarSettings): CompiledLimit {
  switch (limit.algorithm) {
    case 'gcra':
      return { name: limit.name, scope: limit.scope, kind: 'g', q: limit.limit, windowMs: (limit.window_seconds as number) * 1000, burst: limit.burst ?? limit.limit, calendar: undefined, shape: `g${limit.window_seconds}` };
    case 'sliding_window':
      return { name: limit.name, scope: limit.scope, kind: 's', q: limit.limit, windowMs: (limit.window_seconds as number) * 1000, burst: limit.limit, calendar: undefined, shape: `s${limit.window_seconds}` };
    case 'calendar':
      return {
        name: limit.name,
        scope: limit.scope,
        kind: 'c',
        q: limit.limit,
        windowMs: 0,
        burst: limit.limit,
        calendar: new CalendarCache({ period: limit.period as 'day' | 'week' | 'month', timeZone: calendar.timeZone, anchorDay: calendar.anchorDay, weekStart: calendar.weekStart }),
        shape: '',
      };
  }
}

/** Plan limits with a tenant's overrides applied: same name replaces, new names are added. */
export function mergeLimits(base: readonly LimitConfig[], overrides: readonly LimitConfig[]): LimitConfig[] {
  const byName = new Map(base.map((l) => [l.name, l]));
  for (const o of overrides) byName.set(o.name, o);
  return [...byName.values()];
}

export interface Identity {
  tenant: string;
  /** Consumer within the tenant; '_' when none is known. */
  consumer: string;
  /** Endpoint within the tenant. */
  endpoint: string;
}

export interface AppliedLimit {
  readonly limit: CompiledLimit;
  /** The `q` reported in headers (local fallback: the divided value actually enforced). */
  readonly q: number;
  /** `w` of RateLimit-Policy, seconds. */
  readonly windowSeconds: number;
  /** Calendar: epoch ms the window ends. */
  readonly windowEnd: number;
}

export interface RequestPlan {
  readonly applied: AppliedLimit[];
  readonly keys: string[];
  /** Four script arguments per limit: kind, q, p2, p3. */
  readonly args: Array<string | number>;
}

/** Redis-safe key part: no `{`, `}` or `:` survive, so a tenant cannot break out of its hash tag. */
export function keyPart(value: string): string {
  return encodeURIComponent(value);
}

export function tenantTag(prefix: string, tenant: string): string {
  return `${prefix}:{${keyPart(tenant)}}`;
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
 * Keys and arguments for one request. `divisor` > 1 divides every quota (local fallback shares a limit between
 * node_count gateways); a quota never drops below 1.
 */
export function planRequest(prefix: string, limits: readonly CompiledLimit[], who: Identity, now: number, divisor = 1): RequestPlan {
  const applied: AppliedLimit[] = [];
  const keys: string[] = [];
  const args: Array<string | number> = [];
  const tag = tenantTag(prefix, who.tenant);
  for (const limit of limits) {
    const base = `${tag}:${scopePart(limit, who)}:${limit.name}`;
    const q = Math.max(1, Math.floor(limit.q / divisor));
    if (limit.kind === 'c') {
      const window = (limit.calendar as CalendarCache).windowAt(now);
      keys.push(`${base}:${window.id}`);
      args.push('c', q, Math.max(1, window.end - now), 0);
      applied.push({ limit, q, windowSeconds: Math.round((window.end - window.start) / 1000), windowEnd: window.end });
    } else if (limit.kind === 'g') {
      keys.push(`${base}:${limit.shape}`);
      args.push('g', q, limit.windowMs, Math.max(1, Math.floor(limit.burst / divisor)));
      applied.push({ limit, q, windowSeconds: limit.windowMs / 1000, windowEnd: 0 });
    } else {
      keys.push(`${base}:${limit.shape}:z`, `${base}:${limit.shape}:h`);
      args.push('s', q, limit.windowMs, 0);
      applied.push({ limit, q, windowSeconds: limit.windowMs / 1000, windowEnd: 0 });
    }
  }
  return { applied, keys, args };
}

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
