import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { parseDeclarative } from '../../devkit/emulator/declarative';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { startGateway, type RunningGateway } from '../../devkit/gateway/gateway';
import { GatewayStartError } from '../../devkit/gateway/listen';
import { parseOptions } from '../../devkit/gateway/options';
import { SERVER_KINDS } from '../helpers/kong-harness';

/**
 * The dev gateway starts every plugin instance of kong.yml at boot (the built plugins, dist/plugins), so a config
 * its plugin refuses stops the start with plugin, scope and field named, instead of a 500 on every request.
 */

type Raw = Record<string, any>;

const byName = (list: Raw[], name: string): Raw => {
  const found = list.find((e) => e.name === name);
  if (!found) throw new Error(`kong.yml has no ${name}`);
  return found;
};

const shipped = () => YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')) as Raw;
const routePlugin = (doc: Raw, route: string, plugin: string) => byName(byName(byName(doc.services, route).routes, route).plugins, plugin).config;

const silent = pino({ level: 'silent' });

describe('dev gateway boot', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-boot-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const options = (doc: Raw, kind: string) => {
    const file = path.join(dir, `kong-${kind}.yml`);
    fs.writeFileSync(file, YAML.stringify(doc));
    return { file, options: parseOptions(['--port', '0', '--config', file, '--server', kind, '--ephemeral-upstreams'], {}) };
  };

  it.each(SERVER_KINDS)('refuses a kong.yml whose plugin configs their plugins refuse, naming each (%s plugin server)', async (kind) => {
    const doc = shipped();
    routePlugin(doc, 'tenant-quota-demo', 'tenant-quota').default_plan = 'gold';
    // a lookahead: RE2 (linear-time operator patterns) cannot run it
    routePlugin(doc, 'versioned-api', 'version-deprecation').path_version_pattern = '^v(?=\\d)';
    const { file, options: opts } = options(doc, kind);

    const failure = await startGateway(opts, silent).then(
      (gateway: RunningGateway) => gateway.close().then(() => undefined),
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(GatewayStartError);
    const lines = (failure as Error).message.split('\n');
    expect(lines[0]).toBe(`${file}: plugin instances refused to start:`);
    expect(lines.slice(1, -1).sort()).toEqual([
      expect.stringMatching(/^ {2}plugin tenant-quota on route tenant-quota-demo: .*config\.default_plan: no plan named gold/),
      expect.stringMatching(/^ {2}plugin version-deprecation on route versioned-api: .*config\.path_version_pattern: lookahead\/lookbehind is not supported/),
    ]);
    expect(lines[lines.length - 1]).toBe(`(check offline first: npx kong-plugins validate ${file})`);
  }, 40_000);

  it('starts every instance of the shipped kong.yml before the first request', async () => {
    const doc = shipped();
    const ours = new Set(fs.readdirSync(path.join(ROOT, 'dist', 'plugins')));
    const expected = parseDeclarative(doc)
      .plugins.filter((p) => p.enabled && ours.has(p.name))
      .map((p) => p.name)
      .sort();
    const { options: opts } = options(doc, 'ours');
    const output: string[] = [];
    const level = process.env.KONG_PLUGINS_LOG_LEVEL;
    process.env.KONG_PLUGINS_LOG_LEVEL = 'info'; // inherited by the plugin servers, whose log is read below
    let gateway: RunningGateway | undefined;
    try {
      gateway = await startGateway(opts, silent, { serverOutput: (text) => void output.push(text) });
    } finally {
      if (level === undefined) delete process.env.KONG_PLUGINS_LOG_LEVEL;
      else process.env.KONG_PLUGINS_LOG_LEVEL = level;
    }
    const startedPlugins = () =>
      output
        .join('')
        .split('\n')
        .filter((line) => line.includes('"msg":"instance started"'))
        .map((line) => (JSON.parse(line) as { plugin: string }).plugin)
        .sort();
    try {
      // the plugin servers' stderr arrives through a pipe, possibly after the start resolved
      for (let waited = 0; startedPlugins().length < expected.length && waited < 5_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(startedPlugins()).toEqual(expected);
      expect(expected).toEqual(expect.arrayContaining(['pii-masking', 'tenant-quota', 'version-deprecation']));
    } finally {
      await gateway.close();
    }
  }, 40_000);
});
