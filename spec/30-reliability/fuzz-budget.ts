/**
 * Budgets of the reliability suite. `npm test` runs the short mode (small run counts, short time limits, seconds of
 * load); `npm run reliability` sets RELIABILITY_FULL=1 for the full mode (many more runs, minutes of load).
 */
export const FULL = process.env.RELIABILITY_FULL === '1';

export const FUZZ = {
  /** fast-check numRuns: the short count in CI, 25x in full mode. */
  runs: (short: number): number => (FULL ? short * 25 : short),
  /** fast-check interruptAfterTimeLimit in ms: the property stops (passing) once its time budget is spent. */
  timeMs: (short: number): number => (FULL ? short * 15 : short),
};

/** Seconds of load per soak phase. */
export const SOAK_SECONDS = Number(process.env.RELIABILITY_SOAK_SECONDS ?? (FULL ? 180 : 8));
/** Concurrent autocannon connections. */
export const SOAK_CONNECTIONS = Number(process.env.RELIABILITY_CONNECTIONS ?? (FULL ? 32 : 8));
