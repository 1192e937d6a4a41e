import { calendarWindow, CalendarCache, localDate, startOfLocalDay } from '../../../plugins/tenant-quota/calendar';

const utc = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

describe('tenant-quota calendar windows', () => {
  it('months are calendar months in UTC, not 30 days (Kong #2817)', () => {
    const w = calendarWindow({ period: 'month', timeZone: 'UTC' }, utc('2025-01-31T23:59:59.999Z'));
    expect(iso(w.start)).toBe('2025-01-01T00:00:00.000Z');
    expect(iso(w.end)).toBe('2025-02-01T00:00:00.000Z');
    const feb = calendarWindow({ period: 'month', timeZone: 'UTC' }, utc('2025-02-01T00:00:00.000Z'));
    expect(iso(feb.start)).toBe('2025-02-01T00:00:00.000Z');
    expect(iso(feb.end)).toBe('2025-03-01T00:00:00.000Z');
    expect(feb.id).not.toBe(w.id);
  });

  it('leap day: February 2024 has 29 days, a day window on Feb 29 exists', () => {
    const m = calendarWindow({ period: 'month', timeZone: 'UTC' }, utc('2024-02-29T12:00:00Z'));
    expect(iso(m.end)).toBe('2024-03-01T00:00:00.000Z');
    const d = calendarWindow({ period: 'day', timeZone: 'UTC' }, utc('2024-02-29T23:00:00Z'));
    expect(iso(d.start)).toBe('2024-02-29T00:00:00.000Z');
    expect(d.id).toBe('D20240229');
  });

  it('billing anchor 31 falls on the last day of shorter months', () => {
    const spec = { period: 'month' as const, timeZone: 'UTC', anchorDay: 31 };
    // April has 30 days: the April cycle starts Apr 30, ends May 31
    const apr = calendarWindow(spec, utc('2025-05-01T10:00:00Z'));
    expect(iso(apr.start)).toBe('2025-04-30T00:00:00.000Z');
    expect(iso(apr.end)).toBe('2025-05-31T00:00:00.000Z');
    // Feb 2024 (leap): Jan 31 -> Feb 29 -> Mar 31
    expect(iso(calendarWindow(spec, utc('2024-02-15T00:00:00Z')).start)).toBe('2024-01-31T00:00:00.000Z');
    expect(iso(calendarWindow(spec, utc('2024-02-15T00:00:00Z')).end)).toBe('2024-02-29T00:00:00.000Z');
    expect(iso(calendarWindow(spec, utc('2024-03-01T00:00:00Z')).start)).toBe('2024-02-29T00:00:00.000Z');
    expect(iso(calendarWindow(spec, utc('2024-03-01T00:00:00Z')).end)).toBe('2024-03-31T00:00:00.000Z');
  });

  it('billing anchor 15: the cycle runs 15th to 15th, and the instant before the anchor is in the previous cycle', () => {
    const spec = { period: 'month' as const, timeZone: 'UTC', anchorDay: 15 };
    expect(iso(calendarWindow(spec, utc('2025-03-14T23:59:59.999Z')).start)).toBe('2025-02-15T00:00:00.000Z');
    expect(iso(calendarWindow(spec, utc('2025-03-15T00:00:00.000Z')).start)).toBe('2025-03-15T00:00:00.000Z');
    // across the year end
    const dec = calendarWindow(spec, utc('2025-01-02T00:00:00Z'));
    expect(iso(dec.start)).toBe('2024-12-15T00:00:00.000Z');
    expect(iso(dec.end)).toBe('2025-01-15T00:00:00.000Z');
  });

  it('America/New_York: months start at local midnight, days are 23 h and 25 h across DST', () => {
    const m = calendarWindow({ period: 'month', timeZone: 'America/New_York' }, utc('2025-03-31T12:00:00Z'));
    expect(iso(m.start)).toBe('2025-03-01T05:00:00.000Z'); // EST
    expect(iso(m.end)).toBe('2025-04-01T04:00:00.000Z'); // EDT
    const spring = calendarWindow({ period: 'day', timeZone: 'America/New_York' }, utc('2025-03-09T12:00:00Z'));
    expect((spring.end - spring.start) / 3_600_000).toBe(23);
    const fall = calendarWindow({ period: 'day', timeZone: 'America/New_York' }, utc('2025-11-02T12:00:00Z'));
    expect((fall.end - fall.start) / 3_600_000).toBe(25);
    expect(iso(fall.start)).toBe('2025-11-02T04:00:00.000Z');
    // 23:30 local on Nov 1 (03:30Z Nov 2) is still Nov 1
    expect(calendarWindow({ period: 'day', timeZone: 'America/New_York' }, utc('2025-11-02T03:30:00Z')).id).toBe('D20251101');
  });

  it('Europe/Berlin: the March DST change (02:00 -> 03:00) keeps midnight; weeks start Monday 00:00 local', () => {
    const d = calendarWindow({ period: 'day', timeZone: 'Europe/Berlin' }, utc('2025-03-30T10:00:00Z'));
    expect(iso(d.start)).toBe('2025-03-29T23:00:00.000Z');
    expect(iso(d.end)).toBe('2025-03-30T22:00:00.000Z');
    const w = calendarWindow({ period: 'week', timeZone: 'Europe/Berlin' }, utc('2025-03-30T10:00:00Z')); // a Sunday
    expect(iso(w.start)).toBe('2025-03-23T23:00:00.000Z'); // Mon Mar 24 00:00 CET
    expect(iso(w.end)).toBe('2025-03-30T22:00:00.000Z'); // Mon Mar 31 00:00 CEST
    const sundayWeeks = calendarWindow({ period: 'week', timeZone: 'Europe/Berlin', weekStart: 'sunday' }, utc('2025-03-30T10:00:00Z'));
    expect(iso(sundayWeeks.start)).toBe('2025-03-29T23:00:00.000Z');
  });

  it('a zone whose DST change skips midnight starts the day at the change (America/Santiago)', () => {
    // Chile: 2024-09-08 00:00 local does not exist (clocks jump to 01:00, UTC-4 -> UTC-3)
    const start = startOfLocalDay({ y: 2024, m: 9, d: 8 }, 'America/Santiago');
    expect(iso(start)).toBe('2024-09-08T04:00:00.000Z');
    expect(localDate(start, 'America/Santiago')).toEqual({ y: 2024, m: 9, d: 8 });
    expect(localDate(start - 1000, 'America/Santiago')).toEqual({ y: 2024, m: 9, d: 7 });
  });

  it('time zones far from UTC: Pacific/Kiritimati (+14) and Pacific/Pago_Pago (-11) month starts', () => {
    const now = utc('2025-06-30T12:00:00Z');
    expect(iso(calendarWindow({ period: 'month', timeZone: 'Pacific/Kiritimati' }, now).start)).toBe('2025-06-30T10:00:00.000Z');
    expect(iso(calendarWindow({ period: 'month', timeZone: 'Pacific/Pago_Pago' }, now).start)).toBe('2025-06-01T11:00:00.000Z');
  });

  it('every instant of a year belongs to exactly the window it reports (hourly sweep, three zones)', () => {
    for (const timeZone of ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) {
      const cache = new CalendarCache({ period: 'month', timeZone, anchorDay: 31 });
      let previous = cache.windowAt(utc('2024-01-01T00:00:00Z'));
      for (let t = utc('2024-01-01T00:00:00Z'); t < utc('2025-01-01T00:00:00Z'); t += 3_600_000) {
        const w = cache.windowAt(t);
        expect(t >= w.start && t < w.end).toBe(true);
        if (w.id !== previous.id) expect(w.start).toBe(previous.end);
        previous = w;
      }
    }
  });

  it('rejects an unknown time zone', () => {
    expect(() => new CalendarCache({ period: 'day', timeZone: 'Mars/Olympus' })).toThrow(RangeError);
  });
});
