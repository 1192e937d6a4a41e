import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { parseDeclarative } from '../../devkit/emulator/declarative';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { KONG_BUNDLED_PLUGINS } from '../../devkit/gateway/bundled-plugins';
import { checkPluginConfigs } from '../../devkit/validate/check-plugins';
import { loadSuite } from '../../devkit/validate/suite';

/**
 * `kong-plugins validate` (bin/kong-plugins.js over dist/): the shipped kong.yml passes; a copy with deliberate
 * mistakes across plugins and scopes fails with one line per mistake, naming plugin, scope and field.
 */

const BIN = path.join(ROOT, 'bin', 'kong-plugins.js');
const BUILT = path.join(ROOT, 'dist', 'plugins');

function run(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

type Raw = Record<string, any>;

const shipped = () => YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')) as Raw;

/**
 * The summary line, checked against counts taken from the file itself (kong.yml grows): entries of our plugins
 * (named per plugin, `x<n>` when repeated), and entries of Kong's bundled plugins.
 */
function expectSummary(line: string, file: string, doc: Raw, verdict: string): void {
  const ours = new Set(fs.readdirSync(BUILT));
  const names = parseDeclarative(doc).plugins.map((p) => p.name);
  const listed = (filter: (name: string) => boolean) => {
    const counts = new Map<string, number>();
    for (const name of names.filter(filter)) counts.set(name, (counts.get(name) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => (n === 1 ? name : `${name} x${n}`)).join(', ');
  };
  const checked = names.filter((n) => ours.has(n)).length;
  const skipped = names.filter((n) => KONG_BUNDLED_PLUGINS.has(n)).length;
  expect(line).toBe(
    `${file}: ${verdict}: ${checked} plugin config${checked === 1 ? '' : 's'} checked (${listed((n) => ours.has(n))}) against Kong 3.9's schema rules ` +
      `and the plugins' start-time checks; ${skipped} bundled-plugin entr${skipped === 1 ? 'y' : 'ies'} skipped as not ours (${listed((n) => KONG_BUNDLED_PLUGINS.has(n))})`,
  );
}

const byName = (list: Raw[], name: string): Raw => {
  const found = list.find((e) => e.name === name);
  if (!found) throw new Error(`kong.yml has no ${name}`);
  return found;
};

/** The shipped kong.yml with one or more mistakes per plugin, at route, service, consumer and global scope. */
function brokenKongYml(): Raw {
  const doc = shipped();
  const route = (service: string) => byName(byName(doc.services, service).routes, service);

  byName(route('pii-samples').plugins, 'pii-masking').config.colour = 'red';

  const quota = byName(route('tenant-quota-demo').plugins, 'tenant-quota').config;
  quota.identity.trust_header = false;
  quota.default_plan = 'gold';
  quota.calendar.time_zone = 'Mars/Olympus_Mons';

  const v1 = byName(byName(route('versioned-api').plugins, 'version-deprecation').config.versions, 'v1');
  v1.sunset_at = '2026-01-01T00:00:00Z';

  const demo = byName(doc.services, 'demo-json-api');
  demo.plugins = [
    { name: 'pii-masking', config: { custom_detectors: [{ name: 'order_ref', pattern: '(\\d+)(?=-X)' }] } },
    { name: 'key-auth', config: { key_names: ['apikey'] } },
  ];

  doc.consumers = [
    ...(doc.consumers ?? []),
    { username: 'alice', plugins: [{ name: 'version-deprecation', config: { versions: [{ name: 'v1' }], header_name: '' } }] },
    { username: 'bob', plugins: [{ name: 'version-deprecation', config: { versions: [{ name: 'v1', successor: 'v9' }] } }] },
  ];
  doc.plugins.push({ name: 'tenant-qouta', route: 'pii-samples', config: {} });
  return doc;
}

describe('kong-plugins validate', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kong-validate-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  };

  it('passes the shipped kong.yml (default file) and says what it checked', () => {
    const result = run(['validate']);
    expect(result.stderr).toBe('');
    expectSummary(result.stdout.trim(), 'kong.yml', shipped(), 'OK');
    expect(result.status).toBe(0);
  });

  it('names every mistake of a broken copy on its own line: plugin, scope, 0-based field path; exit 1', () => {
    const broken = brokenKongYml();
    const file = write('broken.yml', YAML.stringify(broken));
    const result = run(['validate', file]);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    const expected: RegExp[] = [
      /^plugin pii-masking on route pii-samples: config\.colour: unknown field$/,
      /^plugin tenant-quota on route tenant-quota-demo: config\.identity\.trust_header: source "header" needs trust_header: true/,
      /^plugin tenant-quota on route tenant-quota-demo: config\.default_plan: no plan named gold$/,
      /^plugin tenant-quota on route tenant-quota-demo: config\.calendar\.time_zone: unknown time zone Mars\/Olympus_Mons$/,
      /^plugin version-deprecation on route versioned-api: config\.versions\[1\]\.sunset_at: sunset 2026-01-01T00:00:00Z precedes deprecated_at 2026-06-01T00:00:00Z$/,
      /^plugin version-deprecation on route versioned-api: config\.versions\[1\]\.brownouts\[0\]\.end: is later than sunset_at 2026-01-01T00:00:00Z$/,
      /^plugin pii-masking on service demo-json-api: config\.custom_detectors\[0\]\.pattern: lookahead\/lookbehind is not supported .*$/,
      /^plugin version-deprecation on consumer alice: config\.header_name: length must be at least 1$/,
      /^plugin version-deprecation on consumer bob: config\.versions\[0\]\.successor: "v9" is not a configured version \(known: v1\)$/,
      /^plugin tenant-qouta on route pii-samples: unknown plugin: not built in this suite and not bundled with Kong 3\.9$/,
    ];
    const errors = lines.slice(0, -1);
    for (const line of errors) expect(line.startsWith(`${file}: `)).toBe(true);
    const stripped = errors.map((line) => line.slice(file.length + 2));
    // every line is one expected mistake, and every mistake has its line
    expect(stripped).toHaveLength(expected.length);
    for (const pattern of expected) expect(stripped.filter((line) => pattern.test(line))).toHaveLength(1);
    expectSummary(lines[lines.length - 1], file, broken, '10 errors');
    expect(result.status).toBe(1);
  });

  it('checks disabled entries too (Kong validates them; they start once enabled)', () => {
    const doc = shipped();
    doc.plugins.push({ name: 'tenant-quota', enabled: false, config: { plans: [{ name: 'free' }], default_plan: 'pro' } });
    const result = run(['validate', write('disabled.yml', YAML.stringify(doc))]);
    expect(result.stderr).toMatch(/: plugin tenant-quota \(global\): config\.default_plan: no plan named pro\n/);
    expect(result.status).toBe(1);
  });

  it('exits 2 with a clear message for a missing, unparseable or non-declarative file', () => {
    const missing = run(['validate', path.join(dir, 'nope.yml')]);
    expect(missing.stderr).toBe(`kong-plugins validate: ${path.join(dir, 'nope.yml')}: no such file\n`);
    expect(missing.status).toBe(2);

    const notYaml = run(['validate', write('bad.yml', 'services: [\n  - name: x\n')]);
    expect(notYaml.stderr).toMatch(/^kong-plugins validate: .*bad\.yml: not valid YAML: /);
    expect(notYaml.status).toBe(2);

    const oldFormat = run(['validate', write('old.yml', '_format_version: "0.9"\n')]);
    expect(oldFormat.stderr).toMatch(/old\.yml: not a declarative config: unsupported _format_version "0\.9"/);
    expect(oldFormat.status).toBe(2);

    const noPlugins = run(['validate', '--plugins-dir', path.join(dir, 'none'), 'kong.yml']);
    expect(noPlugins.stderr).toMatch(/no built plugins in .*none \(run `npm run build`\)/);
    expect(noPlugins.status).toBe(2);
  });

  it('runs offline: no Redis connection, no socket, no timer left behind', () => {
    // the built copy of the registry: that is the one the built plugins would use
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openConnectionCount } = require(path.join(ROOT, 'dist', 'shared', 'redis', 'connection-registry.js')) as { openConnectionCount(): number };
    const suite = loadSuite(BUILT);
    const before = process.getActiveResourcesInfo();
    const report = checkPluginConfigs(parseDeclarative(brokenKongYml()), suite, KONG_BUNDLED_PLUGINS);
    expect(report.problems).toHaveLength(10);
    // valid configs too: those are the ones an instance start would go on to connect for
    const clean = checkPluginConfigs(parseDeclarative(shipped()), suite, KONG_BUNDLED_PLUGINS);
    expect(clean.problems).toEqual([]);
    expect(openConnectionCount()).toBe(0);
    expect(process.getActiveResourcesInfo()).toEqual(before);
  });
});
