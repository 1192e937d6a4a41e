import { FULL, SOAK_CONNECTIONS, SOAK_SECONDS } from './fuzz-budget';
import { demoMix, MB, record, runMix, startSoakGateway, type LoadResult, type SoakGateway } from './gateway-load';

/** README promise: after warm-up, no process grows by more than this over the soak (full: minutes). */
export const RSS_GROWTH_BOUND = 64 * MB;

function summary(result: LoadResult) {
  return { requests: result.requests, rps: result.rps, p50_ms: result.p50, p99_ms: result.p99, max_ms: result.max, errors: result.errors, timeouts: result.timeouts };
}

describe(`soak: the dev gateway with every plugin on kong.yml's demo routes (${SOAK_SECONDS} s x 3, ${SOAK_CONNECTIONS} connections${FULL ? ', full' : ''})`, () => {
  let soak: SoakGateway;
  beforeAll(async () => {
    soak = await startSoakGateway();
  }, 60_000);
  afterAll(() => soak?.close());

  it('answers every request with a status the README promises, never an unmasked body, RSS flat after warm-up', async () => {
    const mix = demoMix();
    const warm = await runMix(soak.url, mix, Math.max(3, Math.round(SOAK_SECONDS / 2)), SOAK_CONNECTIONS);
    const before = soak.rss();
    const phases: LoadResult[] = [];
    for (let i = 0; i < 2; i++) phases.push(await runMix(soak.url, mix, SOAK_SECONDS, SOAK_CONNECTIONS));
    const after = soak.rss();
    const growth = Object.fromEntries(Object.keys(after).map((k) => [k, Math.round(((after[k] - (before[k] ?? after[k])) / MB) * 10) / 10]));
    const all = [warm, ...phases];
    const statuses: Record<string, Record<number, number>> = {};
    for (const r of all) for (const [label, byStatus] of Object.entries(r.statuses)) for (const [s, n] of Object.entries(byStatus)) {
      (statuses[label] ??= {})[Number(s)] = (statuses[label][Number(s)] ?? 0) + n;
    }
    record('soak', {
      seconds: SOAK_SECONDS * 2,
      connections: SOAK_CONNECTIONS,
      phases: phases.map(summary),
      rss_mb: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round(v / MB)])),
      rss_growth_mb: growth,
      statuses,
    });
    for (const r of all) {
      expect(r.unexpected).toEqual([]);
      expect(r.defects).toEqual([]);
      expect(r.errors).toBe(0);
      expect(r.timeouts).toBe(0);
      expect(r.requests).toBeGreaterThan(mix.length);
    }
    // every label answered at least once in each measured phase
    for (const r of phases) expect(Object.keys(r.statuses).sort()).toEqual(mix.map((m) => m.label).sort());
    for (const [name, mb] of Object.entries(growth)) expect({ name, growthBelowBound: mb * MB < RSS_GROWTH_BOUND }).toEqual({ name, growthBelowBound: true });
  }, 60_000 + SOAK_SECONDS * 4000);
});
