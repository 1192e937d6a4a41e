/**
 * The state of one API version at an instant. Pure: the caller passes the time.
 *
 *   active      no deprecation scheduled
 *   announced   deprecated_at is in the future (RFC 9745 allows announcing it ahead)
 *   deprecated  deprecated_at has passed, sunset_at (if any) has not
 *   brownout    deprecated and inside a configured brownout window: answered 410 ahead of the sunset
 *   sunset      sunset_at has passed
 */
export type VersionState = 'active' | 'announced' | 'deprecated' | 'brownout' | 'sunset';

/** States in which the version is past its deprecation date (consumers are expected to migrate). */
export const DEPRECATED_STATES: ReadonlySet<VersionState> = new Set(['deprecated', 'brownout', 'sunset']);

export interface TimeWindow {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
}

export interface Lifecycle {
  deprecatedAt?: number;
  sunsetAt?: number;
  /** Sorted by start. */
  brownouts: readonly TimeWindow[];
}

export interface StateAt {
  state: VersionState;
  /** The brownout window in force, for state 'brownout'. */
  window?: TimeWindow;
}

const ACTIVE: StateAt = { state: 'active' };
const ANNOUNCED: StateAt = { state: 'announced' };
const DEPRECATED: StateAt = { state: 'deprecated' };
const SUNSET: StateAt = { state: 'sunset' };

export function stateAt(lifecycle: Lifecycle, now: number): StateAt {
  const { deprecatedAt, sunsetAt, brownouts } = lifecycle;
  if (sunsetAt !== undefined && now >= sunsetAt) return SUNSET;
  if (deprecatedAt === undefined) return ACTIVE;
  if (now < deprecatedAt) return ANNOUNCED;
  for (const window of brownouts) {
    if (now < window.start) break;
    if (now < window.end) return { state: 'brownout', window };
  }
  return DEPRECATED;
}
