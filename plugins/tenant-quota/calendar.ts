/**
 * Calendar windows for long quotas: day, week and month in an IANA time zone, with a billing anchor day for months.
 * Pure: no clock of its own, time zones through Intl.DateTimeFormat (the ICU data Node ships), no dependency.
 *
 * - A day runs from local midnight to the next local midnight (23 or 25 hours across DST changes).
 * - A week starts at local midnight of the configured weekday.
 * - A month runs from local midnight of the anchor day to the same day of the next calendar month; an anchor
 *   beyond the month's length means its last day (anchor 31: Apr 30, Feb 28/29), so a month is never "30 days".
 * - Where local midnight does not exist (zones that change DST at 00:00), the window starts at the first instant of
 *   that local day, the moment of the change.
 */
export type CalendarPeriod = 'day' | 'week' | 'month';

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface CalendarSpec {
  period: CalendarPeriod;
  timeZone: string;
  /** Month windows: day of month 1..31 the billing month starts on. */
  anchorDay?: number;
  /** Week windows: first day of the week. */
  weekStart?: Weekday;
}

export interface CalendarWindow {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  /** Stable key fragment naming this window, e.g. `M20250131` (local start date). */
  id: string;
}

interface LocalDate {
  y: number;
  m: number; // 1..12
  d: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError for a zone ICU does not know. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

/** Local wall-clock time at `t`, as epoch ms of the same wall-clock reading in UTC (seconds precision). */
function wallClock(t: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(t));
  const v: Record<string, number> = {};
  for (const p of parts) if (p.type !== 'literal') v[p.type] = Number(p.value);
  return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second);
}

function offsetAt(t: number, timeZone: string): number {
  const whole = Math.floor(t / 1000) * 1000;
  return wallClock(whole, timeZone) - whole;
}

/** The local date at `t` in the zone. */
export function localDate(t: number, timeZone: string): LocalDate {
  const w = new Date(wallClock(t, timeZone));
  return { y: w.getUTCFullYear(), m: w.getUTCMonth() + 1, d: w.getUTCDate() };
}

/** First instant whose local date is `date` (local midnight, or the DST change when midnight is skipped). */
export function startOfLocalDay(date: LocalDate, timeZone: string): number {
  const local = Date.UTC(date.y, date.m - 1, date.d);
  const before = local - offsetAt(local - 86_400_000, timeZone);
  const after = local - offsetAt(local + 86_400_000, timeZone);
  const valid = [before, after].filter((c) => wallClock(c, timeZone) === local);
  if (valid.length) return Math.min(...valid);
  // Midnight falls in a gap: binary search the change between the two candidates.
  let lo = Math.min(before, after);
  let hi = Math.max(before, after);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (wallClock(mid, timeZone) >= local) hi = mid;
    else lo = mid;
  }
  return hi;
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function addDays(date: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function addMonths(y: number, m: number, months: number): { y: number; m: number } {
  const index = y * 12 + (m - 1) + months;
  return { y: Math.floor(index / 12), m: (index % 12) + 1 };
}

function anchorIn(y: number, m: number, anchorDay: number): LocalDate {
  return { y, m, d: Math.min(anchorDay, daysInMonth(y, m)) };
}

function dateId(prefix: string, date: LocalDate): string {
  return `${prefix}${date.y}${String(date.m).padStart(2, '0')}${String(date.d).padStart(2, '0')}`;
}

/** The window containing `now`. */
export function calendarWindow(spec: CalendarSpec, now: number): CalendarWindow {
  const tz = spec.timeZone;
  const today = localDate(now, tz);
  switch (spec.period) {
    case 'day': {
      const start = startOfLocalDay(today, tz);
      const end = startOfLocalDay(addDays(today, 1), tz);
      return { start, end, id: dateId('D', today) };
    }
    case 'week': {
      const first = WEEKDAYS.indexOf(spec.weekStart ?? 'monday');
      const dow = new Date(Date.UTC(today.y, today.m - 1, today.d)).getUTCDay();
      const startDate = addDays(today, -((dow - first + 7) % 7));
      return { start: startOfLocalDay(startDate, tz), end: startOfLocalDay(addDays(startDate, 7), tz), id: dateId('W', startDate) };
    }
    case 'month': {
      const anchor = spec.anchorDay ?? 1;
      let startDate = anchorIn(today.y, today.m, anchor);
      let start = startOfLocalDay(startDate, tz);
      if (now < start) {
        const prev = addMonths(today.y, today.m, -1);
        startDate = anchorIn(prev.y, prev.m, anchor);
        start = startOfLocalDay(startDate, tz);
      }
      const next = addMonths(startDate.y, startDate.m, 1);
      const end = startOfLocalDay(anchorIn(next.y, next.m, anchor), tz);
      return { start, end, id: dateId('M', startDate) };
    }
  }
}

/**
 * Remembers the current window per spec and recomputes only when `now` leaves it: Intl formatting costs
 * microseconds, a comparison nothing.
 */
export class CalendarCache {
  private current: CalendarWindow | undefined;

  constructor(readonly spec: CalendarSpec) {
    assertTimeZone(spec.timeZone);
  }

  windowAt(now: number): CalendarWindow {
    const c = this.current;
    if (c && now >= c.start && now < c.end) return c;
    const fresh = calendarWindow(this.spec, now);
    this.current = fresh;
    return fresh;
  }

  /** Nominal length in seconds (the `w` of RateLimit-Policy) of the window at `now`. */
  seconds(now: number): number {
    const w = this.windowAt(now);
    return Math.round((w.end - w.start) / 1000);
  }
}
