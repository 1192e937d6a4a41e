import { childLogger } from '../observability/log';

/**
 * Where a plugin takes "now" from: the one clock of the suite. Production: the system clock. definePlugin gives
 * every handler its plugin's clock (`context.clock`); end-to-end tests shift it by starting the plugin server with
 * `<PLUGIN>_CLOCK_OFFSET_MS=<ms>` (e.g. TENANT_QUOTA_CLOCK_OFFSET_MS: a test hook, read once per process and logged
 * as a warning when set), and unit tests of pure modules pass a `fixedClock`.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** A shift larger than this (about 200 years) is a typo, not a test. */
const MAX_OFFSET_MS = 200 * 365 * 86_400_000;

export const systemClock: Clock = { now: () => Date.now() };

export function offsetClock(offsetMs: number, base: Clock = systemClock): Clock {
  return offsetMs === 0 ? base : { now: () => base.now() + offsetMs };
}

export function fixedClock(epochMs: number): Clock & { set(epochMs: number): void; advance(ms: number): void } {
  let current = epochMs;
  return { now: () => current, set: (ms) => (current = ms), advance: (ms) => (current += ms) };
}

/** The test-hook variable of a plugin: `tenant-quota` -> `TENANT_QUOTA_CLOCK_OFFSET_MS`. */
export function clockOffsetVariable(plugin: string): string {
  return `${plugin.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_CLOCK_OFFSET_MS`;
}

/** The offset `variable` asks for: an integer number of milliseconds, else 0 with the reason. */
export function offsetFromEnv(env: NodeJS.ProcessEnv, variable: string): { offsetMs: number; problem?: string } {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return { offsetMs: 0 };
  const value = Number(raw);
  if (!Number.isInteger(value) || Math.abs(value) > MAX_OFFSET_MS) {
    return { offsetMs: 0, problem: `${variable}=${raw} ignored: expected an integer number of milliseconds within +-200 years` };
  }
  return { offsetMs: value };
}

const pluginClocks = new Map<string, Clock>();

/** The clock of `plugin` in this process: the system clock, shifted by its test-hook variable when set (logged once). */
export function pluginClock(plugin: string, env: NodeJS.ProcessEnv = process.env): Clock {
  let clock = pluginClocks.get(plugin);
  if (clock) return clock;
  const variable = clockOffsetVariable(plugin);
  const { offsetMs, problem } = offsetFromEnv(env, variable);
  const log = childLogger({ plugin });
  if (problem) log.warn(problem);
  if (offsetMs !== 0) log.warn({ offset_ms: offsetMs }, `${variable} is set: this plugin's clock is shifted (test hook, never in production)`);
  clock = offsetClock(offsetMs);
  pluginClocks.set(plugin, clock);
  return clock;
}
