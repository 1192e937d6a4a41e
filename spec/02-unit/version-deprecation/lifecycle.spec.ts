import { stateAt, type Lifecycle } from '../../../plugins/version-deprecation/lifecycle';
import { clockOffsetVariable, fixedClock, offsetClock, offsetFromEnv as fromEnv } from '../../../shared/clock';

const CLOCK_OFFSET_ENV = clockOffsetVariable('version-deprecation');
const offsetFromEnv = (env: NodeJS.ProcessEnv) => fromEnv(env, CLOCK_OFFSET_ENV);

const t = (iso: string) => Date.parse(iso);
const lifecycle: Lifecycle = {
  deprecatedAt: t('2026-01-01T00:00:00Z'),
  sunsetAt: t('2027-06-30T00:00:00Z'),
  brownouts: [
    { start: t('2026-09-01T10:00:00Z'), end: t('2026-09-01T11:00:00Z') },
    { start: t('2027-03-01T00:00:00Z'), end: t('2027-03-02T00:00:00Z') },
  ],
};

describe('lifecycle.stateAt', () => {
  it('walks a version through announced, deprecated, brownout, deprecated, sunset with a moving clock', () => {
    const clock = fixedClock(t('2025-12-31T23:59:59.999Z'));
    const seen: string[] = [];
    const steps: Array<[string, number]> = [
      ['announced', 0],
      ['deprecated', 1], // 2026-01-01T00:00:00.000Z exactly: deprecated from that instant
      ['deprecated', t('2026-09-01T10:00:00Z') - t('2026-01-01T00:00:00Z') - 1],
      ['brownout', 1], // window start is inclusive
      ['brownout', 3600_000 - 1],
      ['deprecated', 1], // window end is exclusive
      ['brownout', t('2027-03-01T12:00:00Z') - t('2026-09-01T11:00:00Z')],
      ['deprecated', t('2027-06-29T23:59:59.999Z') - t('2027-03-01T12:00:00Z')],
      ['sunset', 1],
      ['sunset', 10 * 365 * 86400_000],
    ];
    for (const [expected, advance] of steps) {
      clock.advance(advance);
      const { state } = stateAt(lifecycle, clock.now());
      seen.push(state);
      expect([new Date(clock.now()).toISOString(), state]).toEqual([new Date(clock.now()).toISOString(), expected]);
    }
    expect(seen).toHaveLength(steps.length);
  });

  it('returns the window in force during a brownout', () => {
    expect(stateAt(lifecycle, t('2027-03-01T05:00:00Z'))).toEqual({ state: 'brownout', window: lifecycle.brownouts[1] });
  });

  it('treats a version without dates as active forever, and one without a sunset as deprecated forever', () => {
    expect(stateAt({ brownouts: [] }, t('2100-01-01T00:00:00Z')).state).toBe('active');
    expect(stateAt({ deprecatedAt: t('2026-01-01T00:00:00Z'), brownouts: [] }, t('2100-01-01T00:00:00Z')).state).toBe('deprecated');
  });
});

describe('clock', () => {
  it('reads an integer offset from the environment and ignores anything else', () => {
    expect(offsetFromEnv({})).toEqual({ offsetMs: 0 });
    expect(offsetFromEnv({ [CLOCK_OFFSET_ENV]: '86400000' })).toEqual({ offsetMs: 86_400_000 });
    expect(offsetFromEnv({ [CLOCK_OFFSET_ENV]: '-5' })).toEqual({ offsetMs: -5 });
    expect(offsetFromEnv({ [CLOCK_OFFSET_ENV]: '1.5' })).toMatchObject({ offsetMs: 0, problem: expect.stringContaining('ignored') });
    expect(offsetFromEnv({ [CLOCK_OFFSET_ENV]: 'tomorrow' })).toMatchObject({ offsetMs: 0, problem: expect.stringContaining('ignored') });
    expect(offsetFromEnv({ [CLOCK_OFFSET_ENV]: String(300 * 365 * 86400_000) })).toMatchObject({ offsetMs: 0 });
  });

  it('shifts a base clock', () => {
    const base = fixedClock(1000);
    expect(offsetClock(500, base).now()).toBe(1500);
    expect(offsetClock(0, base)).toBe(base);
  });
});
