import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DASHBOARDS, allQueries, dashboardJson } from '../../devkit/observability/dashboards';
import { DASHBOARD_DIR, writeDashboards } from '../../devkit/observability/generate';

/**
 * Grafana dashboards as code: the committed JSON is what devkit/observability/dashboards.ts generates
 * (`npm run dashboards`), every panel queries the provisioned Prometheus datasource, and every metric a "suite"
 * query reads is one the code registers (a "planned" one is not, yet). Whether each query parses and returns series
 * in a real Prometheus: spec/10-integration/prometheus-queries.spec.ts.
 */

const ROOT = path.resolve(__dirname, '..', '..');

function sources(dir: string): string {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}
const code = [sources(path.join(ROOT, 'plugins')), sources(path.join(ROOT, 'shared'))].join('\n');
const metricNames = (expr: string) => [...new Set(expr.match(/\bkong_[a-z_]+/g) ?? [])].map((m) => m.replace(/_(bucket|sum|count)$/, ''));

describe('Grafana dashboards (observability/grafana/dashboards)', () => {
  it('are committed exactly as generated (run `npm run dashboards` after editing dashboards.ts)', () => {
    expect(DASHBOARD_DIR).toBe(path.join(ROOT, 'observability', 'grafana', 'dashboards'));
    const committed = fs.readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual(DASHBOARDS.map((d) => `${d.uid}.json`).sort());
    for (const spec of DASHBOARDS) expect([spec.uid, fs.readFileSync(path.join(DASHBOARD_DIR, `${spec.uid}.json`), 'utf8')]).toEqual([spec.uid, dashboardJson(spec)]);
  });

  it('the generator writes them and removes stale files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-'));
    try {
      fs.writeFileSync(path.join(dir, 'old.json'), '{}');
      expect(writeDashboards(dir).length).toBe(DASHBOARDS.length);
      expect(fs.existsSync(path.join(dir, 'old.json'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cover tenants, API versions, bots, PII, plugin servers, Redis, request-guard and policy-sync decisions, Kong', () => {
    expect(DASHBOARDS.map((d) => d.uid)).toEqual(['kps-tenants', 'kps-api-versions', 'kps-bots', 'kps-pii', 'kps-plugin-servers', 'kps-redis', 'kps-decisions', 'kps-kong']);
    expect(new Set(DASHBOARDS.map((d) => d.uid)).size).toBe(DASHBOARDS.length);
  });

  it('query only the provisioned Prometheus datasource, with one target per query', () => {
    for (const spec of DASHBOARDS) {
      const json = JSON.parse(dashboardJson(spec)) as { uid: string; panels: Array<{ type: string; datasource?: { uid: string }; targets?: Array<{ expr: string; datasource: { uid: string } }> }> };
      expect(json.uid).toBe(spec.uid);
      const panels = json.panels.filter((p) => p.type !== 'row');
      expect(panels.length).toBe(spec.rows.flatMap((r) => r.panels).length);
      for (const p of panels) {
        expect(p.datasource?.uid).toBe('prometheus');
        for (const t of p.targets ?? []) expect(t.datasource.uid).toBe('prometheus');
      }
    }
  });

  it('read only metrics the suite registers (suite queries), and say which are planned', () => {
    const missing = allQueries().filter((q) => q.source === 'suite').flatMap((q) => metricNames(q.expr).filter((m) => !code.includes(`'${m}'`)).map((m) => `${q.dashboard} / ${q.panel}: ${m}`));
    expect(missing).toEqual([]);
    const plannedButPresent = allQueries().filter((q) => q.source === 'planned').flatMap((q) => metricNames(q.expr).filter((m) => code.includes(`'${m}'`)).map((m) => `${q.dashboard} / ${q.panel}: ${m} exists now: mark it suite`));
    expect(plannedButPresent).toEqual([]);
  });
});
