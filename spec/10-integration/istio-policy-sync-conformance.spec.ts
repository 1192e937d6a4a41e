import fs from 'node:fs';
import path from 'node:path';
import { SERVER_KINDS } from '../helpers/kong-harness';
import { istioPluginDir, loadCases, startConformance, type ConformanceRun } from '../helpers/istio-mesh';

/**
 * The conformance table (spec/fixtures/istio-policy-sync/conformance/*.yaml: policy + request -> decision, each
 * case citing the Istio documentation it follows) run through the built plugin in the Kong emulator, under both
 * plugin servers. Each case has two routes: dry_run (the decision header the upstream receives) and enforce (the
 * status the client gets). Another table dropped into that folder runs the same way; ISTIO_CONFORMANCE_DIR points
 * at a different folder.
 */
const DIR = process.env.ISTIO_CONFORMANCE_DIR ?? path.join(__dirname, '../fixtures/istio-policy-sync/conformance');
const cases = loadCases(DIR);

describe('conformance table', () => {
  it('has at least 80 cases, each with a source', () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
    for (const c of cases) expect(c.source).toMatch(/^https:\/\/istio\.io\//);
    expect(fs.existsSync(DIR)).toBe(true);
  });
});

describe.each(SERVER_KINDS)('istio-policy-sync conformance (%s server)', (kind) => {
  let run: ConformanceRun;
  const dir = istioPluginDir();
  beforeAll(async () => {
    run = await startConformance(kind, cases, dir);
  }, 60_000);
  afterAll(async () => {
    await run?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(cases.map((c, i) => [i, c.name] as const))('case %i: %s', async (i) => {
    const c = cases[i];
    const got = await run.run(i);
    const summary = { case: c.name, header: got.header, status: got.status, body: got.body };
    expect({ ...summary, decision: got.decision }).toEqual({ ...summary, decision: c.expect.decision });
    if (c.expect.decision === 'deny') {
      expect({ ...summary, status: got.status }).toEqual({ ...summary, status: c.expect.status ?? 403 });
      if (c.expect.policy) expect(got.body?.policy).toBe(c.expect.policy);
    } else {
      // never denied at the edge: allowed and unknown requests reach the upstream
      expect({ ...summary, status: got.status }).toEqual({ ...summary, status: 200 });
    }
  });
});
