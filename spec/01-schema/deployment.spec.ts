import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { KONG_BUNDLED_PLUGINS } from '../../devkit/gateway/bundled-plugins';
import { loadKongYaml } from '../../devkit/emulator/declarative';
import { ROOT } from '../../devkit/emulator/plugin-server-process';

/**
 * docker-compose.yml and docker/Dockerfile must keep up with plugins/: every plugin needs its own plugin-server
 * entry (Kong >= 3.9 uses only the first plugin of an entry) and a place in KONG_PLUGINS.
 * When this fails after adding a plugin: docker/plugin-server-env.sh prints the block to paste.
 */

const IMAGE_SERVER = '/usr/local/bin/kong-plugin-server';
const IMAGE_PLUGINS_DIR = '/opt/kong-plugins/dist/plugins';
const KONG_PREFIX = '/usr/local/kong';

const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
const dockerfile = fs.readFileSync(path.join(ROOT, 'docker', 'Dockerfile'), 'utf8');
const kong = compose.services.kong;

/** `environment:` as a map, whichever form the file uses (map, or a list of NAME=value). */
function environment(service: { environment?: Record<string, unknown> | string[] }): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

const env = environment(kong);
const pluginDirs = fs
  .readdirSync(path.join(ROOT, 'plugins'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(ROOT, 'plugins', entry.name, 'index.ts')))
  .map((entry) => entry.name)
  .sort();
const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const variable = (name: string, suffix: string) => `KONG_PLUGINSERVER_${name.toUpperCase().replace(/-/g, '_')}_${suffix}`;

/** The value following `flag` in a command's words. */
function flagValue(words: string[], flag: string): string | undefined {
  const at = words.indexOf(flag);
  return at >= 0 ? words[at + 1] : undefined;
}

describe('docker-compose.yml: Kong in DB-less mode with kong.yml', () => {
  it('loads ./kong.yml declaratively', () => {
    expect(env.KONG_DATABASE).toBe('off');
    expect(env.KONG_DECLARATIVE_CONFIG).toBe('/kong/kong.yml');
    expect(kong.volumes).toContain('./kong.yml:/kong/kong.yml:ro');
  });

  it('builds the image from docker/Dockerfile on Kong 3.9 with the plugins where the commands expect them', () => {
    expect(kong.build).toEqual({ context: '.', dockerfile: 'docker/Dockerfile' });
    expect(dockerfile).toMatch(/^ARG KONG_IMAGE=kong:3\.9$/m);
    expect(dockerfile).toContain('COPY --from=build /src/dist dist');
    expect(dockerfile).toMatch(/^WORKDIR \/opt\/kong-plugins$/m);
    expect(dockerfile).toContain(`> ${IMAGE_SERVER}`);
    expect(dockerfile).toMatch(/^USER kong$/m);
  });

  it('runs Redis and the demo upstreams in Kong\'s network namespace, so kong.yml\'s 127.0.0.1 addresses hold', () => {
    expect(compose.services.redis.image).toMatch(/^redis:/);
    expect(compose.services.redis.network_mode).toBe('service:kong');
    expect(compose.services['demo-upstreams'].network_mode).toBe('service:kong');
    const entrypoint: string[] = compose.services['demo-upstreams'].entrypoint;
    expect(entrypoint[1]).toBe('/opt/kong-plugins/dist/devkit/gateway/upstreams-main.js');
    expect(fs.existsSync(path.join(ROOT, 'devkit', 'gateway', 'upstreams-main.ts'))).toBe(true);
  });
});

describe('docker-compose.yml: one plugin-server entry per plugin under plugins/', () => {
  it('finds the plugins', () => {
    expect(pluginDirs.length).toBeGreaterThan(0);
  });

  it('lists exactly the plugins under plugins/ in KONG_PLUGINSERVER_NAMES, and them plus bundled in KONG_PLUGINS', () => {
    expect([...list(env.KONG_PLUGINSERVER_NAMES)].sort()).toEqual(pluginDirs);
    const enabled = list(env.KONG_PLUGINS);
    expect(enabled[0]).toBe('bundled');
    expect(enabled.slice(1).sort()).toEqual(pluginDirs);
  });

  it('has no plugin-server variables for entries that are not declared', () => {
    const declared = new Set(list(env.KONG_PLUGINSERVER_NAMES).flatMap((name) => ['SOCKET', 'START_CMD', 'QUERY_CMD'].map((s) => variable(name, s))));
    const stray = Object.keys(env).filter((key) => key.startsWith('KONG_PLUGINSERVER_') && key !== 'KONG_PLUGINSERVER_NAMES' && !declared.has(key));
    expect(stray).toEqual([]);
  });

  it.each(pluginDirs)('%s: socket, start and query commands agree', (name) => {
    const socket = env[variable(name, 'SOCKET')];
    const start = (env[variable(name, 'START_CMD')] ?? '').split(/\s+/);
    const query = (env[variable(name, 'QUERY_CMD')] ?? '').split(/\s+/);
    expect(socket).toBe(`${KONG_PREFIX}/${name}.socket`);
    for (const words of [start, query]) {
      expect(words[0]).toBe(IMAGE_SERVER);
      expect(flagValue(words, '-d')).toBe(IMAGE_PLUGINS_DIR);
      expect(flagValue(words, '--plugin')).toBe(name);
    }
    // our server's socket in --plugin mode is <prefix>/<plugin>.socket, unless --sock-name says otherwise
    const sockName = flagValue(start, '--sock-name') ?? `${name}.socket`;
    expect(`${flagValue(start, '-p')}/${sockName}`).toBe(socket);
    expect(query).toContain('--dump-all-plugins');
    expect(start).not.toContain('--dump-all-plugins');
  });

  it.each(pluginDirs)('%s: the query command, run on the local build, dumps exactly that plugin as JSON', (name) => {
    const words = env[variable(name, 'QUERY_CMD')].split(/\s+/);
    const args = words.slice(1).map((word) => (word === IMAGE_PLUGINS_DIR ? path.join(ROOT, 'dist', 'plugins') : word));
    const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kong-plugin-server.js'), ...args], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    const infos = JSON.parse(result.stdout) as Array<{ Name: string }>;
    expect(infos.map((info) => info.Name)).toEqual([name]);
  });

  it('enables every plugin kong.yml configures: bundled ones via "bundled", custom ones by name', () => {
    const enabled = new Set(list(env.KONG_PLUGINS));
    const configured = [...new Set(loadKongYaml(path.join(ROOT, 'kong.yml')).plugins.map((p) => p.name))];
    const missing = configured.filter((name) => !KONG_BUNDLED_PLUGINS.has(name) && !enabled.has(name));
    expect(missing).toEqual([]);
  });

  it('matches what docker/plugin-server-env.sh generates', () => {
    const generated = spawnSync('sh', [path.join(ROOT, 'docker', 'plugin-server-env.sh')], { encoding: 'utf8' });
    expect(generated.status).toBe(0);
    const expected = YAML.parse(generated.stdout.replace(/^ {6}/gm, '')) as Record<string, string>;
    for (const [key, value] of Object.entries(expected)) expect([key, env[key]]).toEqual([key, value]);
  });
});
