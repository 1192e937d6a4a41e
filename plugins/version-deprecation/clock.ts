/**
 * Where the plugin takes "now" from. Production uses the system clock; tests inject a clock in-process, or shift
 * the plugin server's clock with VERSION_DEPRECATION_CLOCK_OFFSET_MS so end-to-end tests can cross deprecation,
 * brownout and sunset boundaries (the variable is read once, when the module loads, and logged when set).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const CLOCK_OFFSET_ENV = 'VERSION_DEPRECATION_CLOCK_OFFSET_MS';

/** A shift larger than this (about 200 years) is a typo, not a test. */
const MAX_OFFSET_MS = 200 * 365 * 24 * 3600 * 1000;

export const systemClock: Clock = { now: () => Date.now() };

export function offsetClock(offsetMs: number, base: Clock = systemClock): Clock {
  if (offsetMs === 0) return base;
  return { now: () => base.now() + offsetMs };
}

export function fixedClock(epochMs: number): Clock & { set(epochMs: number): void; advance(ms: number): void } {
  let current = epochMs;
  return {
    now: () => current,
    set: (value: number) => (current = value),
    advance: (ms: number) => (current += ms),
  };
}

/** The offset the environment asks for: an integer number of milliseconds, else 0 with the reason. */
export function offsetFromEnv(env: NodeJS.ProcessEnv = process.env): { offsetMs: number; problem?: string } {
  const raw = env[CLOCK_OFFSET_ENV];
  if (raw === undefined || raw.trim() === '') return { offsetMs: 0 };
  const value = Number(raw);
  if (!Number.isInteger(value) || Math.abs(value) > MAX_OFFSET_MS) {
    return { offsetMs: 0, problem: `${CLOCK_OFFSET_ENV}=${raw} ignored: expected an integer number of milliseconds within +-200 years` };
  }
  return { offsetMs: value };
}
