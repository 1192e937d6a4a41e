import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { KONG_BUNDLED_PLUGINS } from '../../devkit/gateway/bundled-plugins';
import { loadKongYaml } from '../../devkit/emulator/declarative';
import { ROOT } from '../../devkit/emulator/plugin-server-process';

/**
 * docker/Dockerfile, docker-compose.yml and observability/ must keep up with plugins/ and kong.yml. The plugin-server
 * entries (one per plugin: Kong >= 3.9 uses only the first plugin of an entry) are generated in the image by
 * docker/plugin-servers.js from the built plugins, so a new plugin is served without editing anything; these tests
 * check the generator, that nothing hard-codes the entries, and that Prometheus scrapes every plugin server.
 */

interface Entry {
  name: string;
  key: string;
  socket: string;
  start_cmd: string;
  query_cmd: string;
  metrics_port: number;
}

const IMAGE_SERVER = '/usr/local/bin/kong-plugin-server';
const IMAGE_PLUGINS_DIR = '/opt/kong-plugins/dist/plugins';
const KONG_PREFIX = '/usr/local/kong';
const GENERATOR = path.join(ROOT, 'docker', 'plugin-servers.js');

// merge: the file shares Kong's image and settings through YAML anchors and merge keys, as compose reads them
const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const dockerfile = fs.readFileSync(path.join(ROOT, 'docker', 'Dockerfile'), 'utf8');
const dockerignore = fs.readFileSync(path.join(ROOT, 'docker', 'Dockerfile.dockerignore'), 'utf8');
const kong = compose.services.kong;

function environment(service: { environment?: Record<string, unknown> | string[] }): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

function generate(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [GENERATOR, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const pluginDirs = fs
  .readdirSync(path.join(ROOT, 'plugins'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(ROOT, 'plugins', entry.name, 'index.ts')))
  .map((entry) => entry.name)
  .sort();
const entries = JSON.parse(generate(['--format', 'json']).stdout) as Entry[];
const flagValue = (words: string[], flag: string) => (words.indexOf(flag) >= 0 ? words[words.indexOf(flag) + 1] : undefined);

describe('docker/Dockerfile: Kong 3.9 (Ubuntu) + Node + the built suite, plugin-server entries generated', () => {
  it('starts from a pinned Ubuntu-based Kong 3.9 image and a pinned Node 20 image', () => {
    expect(dockerfile).toMatch(/^ARG KONG_IMAGE=kong:3\.9\.\d+-ubuntu$/m);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
  });

  it('installs runtime dependencies only, and the build output', () => {
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toContain('COPY --from=build /src/dist dist');
    expect(dockerfile).toMatch(/^WORKDIR \/opt\/kong-plugins$/m);
    expect(dockerfile).toContain(`> ${IMAGE_SERVER}`);
  });

  it('generates /etc/kong/kong.conf from the built plugins and checks each query command at build time', () => {
    expect(dockerfile).toContain('COPY docker/plugin-servers.js docker/plugin-servers.js');
    expect(dockerignore).toMatch(/^!docker\/plugin-servers\.js$/m);
    expect(dockerfile).toContain(`node docker/plugin-servers.js --plugins-dir ${IMAGE_PLUGINS_DIR} --format conf > /etc/kong/kong.conf`);
    expect(dockerfile).toMatch(/kong-plugin-server -d \/opt\/kong-plugins\/dist\/plugins --plugin "\$name" --dump-all-plugins/);
  });

  it('copies every file kong.yml\'s plugin configs name by relative path (resolved against the install root)', () => {
    const named = new Set<string>();
    const walk = (value: unknown, key = ''): void => {
      if (typeof value === 'string') {
        if (/(_path|directory)$/.test(key) && !value.startsWith('/') && fs.existsSync(path.join(ROOT, value))) named.add(value);
      } else if (Array.isArray(value)) value.forEach((v) => walk(v, key));
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
    };
    for (const plugin of loadKongYaml(path.join(ROOT, 'kong.yml')).plugins) walk(plugin.config);
    expect(named.size).toBeGreaterThanOrEqual(2); // rest-to-soap's WSDL, istio-policy-sync's manifests
    const copied = [...dockerfile.matchAll(/^COPY (?!--)(\S+) /gm)].map((m) => m[1].replace(/\/$/, ''));
    for (const file of named) {
      expect([file, copied.some((dir) => file === dir || file.startsWith(dir + '/'))]).toEqual([file, true]);
      expect([file, dockerignore.split('\n').some((line) => line.startsWith('!') && (file + '/').startsWith(line.slice(1).replace(/\/?$/, '/')))]).toEqual([file, true]);
    }
  });

  it('has a healthcheck and runs as kong', () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["kong", "health"\]$/m);
    expect(dockerfile).toMatch(/^USER kong$/m);
  });
});

describe('docker/plugin-servers.js: one plugin-server entry per plugin, from the plugin directories', () => {
  it('lists exactly the plugins under plugins/, and the same ones from the build (dist/plugins)', () => {
    expect(entries.map((e) => e.name)).toEqual(pluginDirs);
    const built = JSON.parse(generate(['--plugins-dir', path.join(ROOT, 'dist', 'plugins'), '--format', 'json']).stdout) as Entry[];
    expect(built.map((e) => e.name)).toEqual(pluginDirs);
  });

  it('picks up a new plugin directory without any edit (it cannot be forgotten)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugins-'));
    try {
      for (const name of [...pluginDirs, 'zz-new-plugin']) {
        fs.mkdirSync(path.join(dir, name));
        fs.writeFileSync(path.join(dir, name, 'index.js'), '');
      }
      fs.mkdirSync(path.join(dir, 'not-a-plugin'));
      const conf = generate(['--plugins-dir', dir]).stdout;
      expect(conf).toContain(`pluginserver_names = ${[...pluginDirs, 'zz-new-plugin'].join(',')}`);
      expect(conf).toContain('pluginserver_zz_new_plugin_start_cmd = ');
      expect(conf).not.toContain('not-a-plugin');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes kong.conf settings Kong maps as it does (lower case, dashes to underscores) and KONG_* variables', () => {
    const conf = generate([]).stdout;
    expect(conf).toContain(`plugins = bundled,${pluginDirs.join(',')}\n`);
    const env = generate(['--format', 'env']).stdout;
    for (const e of entries) {
      expect(e.key).toBe(`pluginserver_${e.name.replace(/-/g, '_')}`);
      expect(conf).toContain(`${e.key}_socket = ${e.socket}\n`);
      expect(env).toContain(`KONG_${e.key.toUpperCase()}_START_CMD=${e.start_cmd}\n`);
    }
    expect(generate(['--format', 'yaml']).status).toBe(2);
  });

  it.each(pluginDirs)('%s: socket, start and query commands agree; its own metrics port', (name) => {
    const e = entries.find((x) => x.name === name)!;
    const words = e.start_cmd.split(/\s+/);
    // an optional `/usr/bin/env NODE_OPTIONS=<V8 flags>` before the server (a sh wrapper that execs node)
    const prefix = words[0] === '/usr/bin/env' ? words.slice(0, 2) : [];
    const start = words.slice(prefix.length);
    expect(prefix).toEqual(name === 'pii-masking' ? ['/usr/bin/env', 'NODE_OPTIONS=--max-semi-space-size=32'] : []);
    const query = e.query_cmd.split(/\s+/);
    expect(e.socket).toBe(`${KONG_PREFIX}/${name}.socket`);
    for (const words of [start, query]) {
      expect(words[0]).toBe(IMAGE_SERVER);
      expect(flagValue(words, '-d')).toBe(IMAGE_PLUGINS_DIR);
      expect(flagValue(words, '--plugin')).toBe(name);
    }
    // our server's socket in --plugin mode is <prefix>/<plugin>.socket
    expect(`${flagValue(start, '-p')}/${name}.socket`).toBe(e.socket);
    expect(flagValue(start, '--metrics-port')).toBe(String(e.metrics_port));
    expect(query).toContain('--dump-all-plugins');
    expect(start).not.toContain('--dump-all-plugins');
  });

  it('gives every plugin server a different metrics port', () => {
    expect(new Set(entries.map((e) => e.metrics_port)).size).toBe(entries.length);
  });

  it.each(pluginDirs)('%s: the query command, run on the local build, dumps exactly that plugin as JSON', (name) => {
    const words = entries.find((x) => x.name === name)!.query_cmd.split(/\s+/);
    const args = words.slice(1).map((word) => (word === IMAGE_PLUGINS_DIR ? path.join(ROOT, 'dist', 'plugins') : word));
    const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kong-plugin-server.js'), ...args], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as Array<{ Name: string }>).map((info) => info.Name)).toEqual([name]);
  });

  it('enables every custom plugin kong.yml configures', () => {
    const enabled = new Set(entries.map((e) => e.name));
    const configured = [...new Set(loadKongYaml(path.join(ROOT, 'kong.yml')).plugins.map((p) => p.name))];
    expect(configured.filter((name) => !KONG_BUNDLED_PLUGINS.has(name) && !enabled.has(name))).toEqual([]);
  });
});

describe('docker-compose.yml: Kong DB-less with kong.yml, Redis, demo upstreams, Prometheus, Grafana, OTel, Tempo', () => {
  const env = environment(kong);

  it('loads ./kong.yml declaratively from the image built by docker/Dockerfile', () => {
    expect(env.KONG_DATABASE).toBe('off');
    expect(env.KONG_DECLARATIVE_CONFIG).toBe('/kong/kong.yml');
    expect(kong.volumes).toContain('./kong.yml:/kong/kong.yml:ro');
    expect(kong.build).toEqual({ context: '.', dockerfile: 'docker/Dockerfile' });
  });

  it('does not hard-code plugin-server entries (they would override the generated kong.conf and could go stale)', () => {
    for (const [name, service] of Object.entries(compose.services as Record<string, { environment?: Record<string, unknown> }>)) {
      const keys = Object.keys(environment(service));
      expect([name, keys.filter((k) => k === 'KONG_PLUGINS' || k.startsWith('KONG_PLUGINSERVER_'))]).toEqual([name, []]);
    }
  });

  it('listens for HTTPS too (the HTTPS-only routes redirect there) and traces every request for opentelemetry', () => {
    expect(env.KONG_PROXY_LISTEN).toMatch(/0\.0\.0\.0:8443 ssl/);
    expect(kong.ports).toContain('8443:8443');
    expect(env.KONG_TRACING_INSTRUMENTATIONS).toBe('all');
    expect(env.KONG_NGINX_PROXY_GZIP).toBe('on');
  });

  it('runs Redis, the demo upstreams, Prometheus and the Redis exporter in Kong\'s network namespace', () => {
    for (const name of ['redis', 'demo-upstreams', 'prometheus', 'redis-exporter']) expect([name, compose.services[name].network_mode]).toEqual([name, 'service:kong']);
    expect(compose.services['demo-upstreams'].entrypoint[1]).toBe('/opt/kong-plugins/dist/devkit/gateway/upstreams-main.js');
    expect(fs.existsSync(path.join(ROOT, 'devkit', 'gateway', 'upstreams-main.ts'))).toBe(true);
  });

  it('pins every third-party image to a version', () => {
    for (const [name, service] of Object.entries(compose.services as Record<string, { image?: string; build?: unknown }>)) {
      if (service.build) continue;
      expect([name, service.image]).toEqual([name, expect.stringMatching(/^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.]+)?$/)]);
    }
  });

  it('mounts only files and directories that exist in the repository', () => {
    for (const service of Object.values(compose.services as Record<string, { volumes?: string[] }>)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('./')) expect([volume, fs.existsSync(path.join(ROOT, source))]).toEqual([volume, true]);
      }
    }
  });

  it('has a "deck" profile: Postgres, migrations, Kong with Postgres and its own Redis and demo upstreams', () => {
    const deck = Object.entries(compose.services as Record<string, { profiles?: string[] }>).filter(([, s]) => s.profiles?.includes('deck')).map(([n]) => n).sort();
    expect(deck).toEqual(['demo-upstreams-pg', 'kong-db', 'kong-migrations', 'kong-pg', 'redis-pg']);
    expect(compose.services['kong-migrations'].command).toEqual(['kong', 'migrations', 'bootstrap']);
    const pg = environment(compose.services['kong-pg']);
    expect(pg.KONG_DATABASE).toBe('postgres');
    expect(pg.KONG_PG_HOST).toBe('kong-db');
    expect(compose.services['kong-pg'].ports).toContain('127.0.0.1:18001:8001');
  });
});

describe('observability/: Prometheus, OTel collector, Tempo and Grafana agree with the stack', () => {
  const prometheus = YAML.parse(fs.readFileSync(path.join(ROOT, 'observability', 'prometheus', 'prometheus.yml'), 'utf8'));
  const job = (name: string) => prometheus.scrape_configs.find((j: { job_name: string }) => j.job_name === name);

  it('scrapes every plugin server on its generated metrics port, labelled with its plugin', () => {
    const targets = job('kong-plugin-server').static_configs.map((c: { targets: string[]; labels: { plugin: string } }) => ({ target: c.targets[0], plugin: c.labels.plugin }));
    expect(targets).toEqual(entries.map((e) => ({ target: `127.0.0.1:${e.metrics_port}`, plugin: e.name })));
  });

  it('scrapes Kong\'s status API (prometheus plugin) and the Redis exporter', () => {
    expect(job('kong').static_configs[0].targets).toEqual(['127.0.0.1:8100']);
    expect(environment(kong).KONG_STATUS_LISTEN).toBe('0.0.0.0:8100');
    expect(job('redis').static_configs[0].targets).toEqual([compose.services['redis-exporter'].command.find((a: string) => a.startsWith('--web.listen-address=')).split('=')[1]]);
    expect(prometheus.rule_files).toEqual(['alerts.yml']);
  });

  it('sends Kong\'s traces to the collector, and the collector\'s to Tempo', () => {
    const otel = (YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')).plugins as Array<{ name: string; config: { traces_endpoint: string } }>).find((p) => p.name === 'opentelemetry')!;
    const endpoint = new URL(otel.config.traces_endpoint);
    expect(compose.services[endpoint.hostname]).toBeDefined();
    const collector = YAML.parse(fs.readFileSync(path.join(ROOT, 'observability', 'otel-collector', 'config.yaml'), 'utf8'));
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${endpoint.port}`);
    expect(collector.exporters['otlp/tempo'].endpoint).toBe('tempo:4317');
    const tempo = YAML.parse(fs.readFileSync(path.join(ROOT, 'observability', 'tempo', 'tempo.yaml'), 'utf8'));
    expect(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(collector.service.pipelines.traces.exporters).toEqual(['otlp/tempo']);
  });

  it('provisions Grafana with the datasources the dashboards use and the dashboard folder', () => {
    const datasources = YAML.parse(fs.readFileSync(path.join(ROOT, 'observability', 'grafana', 'provisioning', 'datasources', 'datasources.yml'), 'utf8')).datasources;
    expect(datasources.map((d: { uid: string }) => d.uid).sort()).toEqual(['prometheus', 'tempo']);
    expect(datasources.find((d: { uid: string }) => d.uid === 'prometheus').url).toBe('http://kong:9090');
    expect(kong.ports).toContain('127.0.0.1:9090:9090');
    const providers = YAML.parse(fs.readFileSync(path.join(ROOT, 'observability', 'grafana', 'provisioning', 'dashboards', 'dashboards.yml'), 'utf8')).providers;
    expect(providers[0].options.path).toBe('/var/lib/grafana/dashboards');
    expect(compose.services.grafana.volumes).toContain('./observability/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });
});
