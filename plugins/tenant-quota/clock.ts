/**
 * Where the plugin takes "now" from. Production: the system clock. Unit tests inject a clock into the handler;
 * end-to-end tests start the plugin server with TENANT_QUOTA_CLOCK_OFFSET_MS (test hook, read once at module load
 * and logged) to move calendar windows (month ends, DST changes) without waiting. With time_source "redis" the
 * gcra and sliding_window limits use Redis TIME instead and ignore the offset; calendar windows always use this clock.
 */
export interface Clock {
  now(): number;
}

export const CLOCK_OFFSET_ENV = 'TENANT_QUOTA_CLOCK_OFFSET_MS';
const MAX_OFFSET_MS = 200 * 365 * 86_400_000;

export const systemClock: Clock = { now: () => Date.now() };

export function offsetClock(offsetMs: number, base: Clock = systemClock): Clock {
  return offsetMs === 0 ? base : { now: () => base.now() + offsetMs };
}

export function fixedClock(epochMs: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let current = epochMs;
  return { now: () => current, set: (ms) => (current = ms), advance: (ms) => (current += ms) };
}

export function offsetFromEnv(env: NodeJS.ProcessEnv = process.env): { offsetMs: number; problem?: string } {
  const raw = env[CLOCK_OFFSET_ENV];
  if (raw === undefined || raw.trim() === '') return { offsetMs: 0 };
  const value = Number(raw);
  if (!Number.isInteger(value) || Math.abs(value) > MAX_OFFSET_MS) return { offsetMs: 0, problem: `${CLOCK_OFFSET_ENV}=${raw} ignored: not an integer number of ms within +-200 years` };
  return { offsetMs: value };
}
