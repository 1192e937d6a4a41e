import { CalendarCache, type Weekday } from './calendar';
import type { LimitConfig } from './schema';

/**
 * Pure: a plan's limits compiled once per config (quota-plan.ts turns them into one request's plan). Keys:
 * `<prefix>:{<tenant>}:<scope>[:<who>]:<limit>:<window>` with the tenant as the hash tag, so every key of one
 * request lives in one Redis Cluster slot.
 */
export type Algorithm = 'gcra' | 'sliding_window' | 'calendar';
export type Scope = 'tenant' | 'consumer' | 'endpoint';

export interface CalendarSettings {
  timeZone: string;
  anchorDay: number;
  weekStart: Weekday;
}

export interface CompiledLimit {
  readonly name: string;
  readonly scope: Scope;
  readonly algorithm: Algorithm;
  /** Units per window. */
  readonly quota: number;
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
      return { name: limit.name, scope: limit.scope, algorithm: 'gcra', quota: limit.limit, windowMs: (limit.window_seconds as number) * 1000, burst: limit.burst ?? limit.limit, calendar: undefined, shape: `g${limit.window_seconds}` };
    case 'sliding_window':
      return { name: limit.name, scope: limit.scope, algorithm: 'sliding_window', quota: limit.limit, windowMs: (limit.window_seconds as number) * 1000, burst: limit.limit, calendar: undefined, shape: `s${limit.window_seconds}` };
    case 'calendar':
      return {
        name: limit.name,
        scope: limit.scope,
        algorithm: 'calendar',
        quota: limit.limit,
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

/** Redis-safe key part: no `{`, `}` or `:` survive, so a tenant cannot break out of its hash tag. */
export function keyPart(value: string): string {
  return encodeURIComponent(value);
}

export function tenantTag(prefix: string, tenant: string): string {
  return `${prefix}:{${keyPart(tenant)}}`;
}

