import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { formatBanner } from '../../devkit/gateway/banner';
import { startGateway, type RunningGateway } from '../../devkit/gateway/gateway';
import { EnvironmentError, parseOptions } from '../../devkit/gateway/options';
import { probeRedis } from '../../devkit/gateway/redis-probe';
import { tenantQuotaPluginDir } from '../helpers/tenant-quota';
import { SERVER_KINDS } from '../helpers/kong-harness';
import { startRedisServer } from '../helpers/redis-servers';
import { freePort } from '../helpers/ports';

const FIXTURES = path.join(__dirname, 'fixtures');
const CONFIG = path.join(FIXTURES, 'gateway-kong.yml');
const PLUGINS = path.join(FIXTURES, 'gateway-plugins');
const MAIN = path.join(ROOT, 'dist', 'devkit', 'gateway', 'main.js');
const NO_ROUTE = { message: 'no Route matched with those values' };
const BANNER_SUMMARY = {
  url: 'http://127.0.0.1:8000', port: 8000, config: '/x/kong.yml', server: 'ours' as const, perPlugin: true, pluginServerProcesses: 0,
  pluginsServed: [], plugins: [], routes: [], upstreams: [], redis: [],
};

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(port: number, method: string, requestPath: string, headers: http.OutgoingHttpHeaders | string[] = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: requestPath, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const json = (reply: Reply) => JSON.parse(reply.body.toString('utf8'));

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('dev gateway options', () => {
  it('defaults to 127.0.0.1:8000, ./kong.yml, 2 workers, our server in per-plugin mode', () => {
    const options = parseOptions([], {}, '/repo');
    expect(options).toEqual({ host: '127.0.0.1', port: 8000, config: '/repo/kong.yml', pluginsDir: path.join(ROOT, 'dist', 'plugins'), workers: 2, server: 'ours', perPlugin: true, ephemeralUpstreams: false });
  });

  it('takes KONG_DEV_* variables, and flags over them', () => {
    const env = { KONG_DEV_PORT: '9000', KONG_DEV_CONFIG: 'other.yml', KONG_DEV_WORKERS: '3', KONG_DEV_PER_PLUGIN: 'off', KONG_DEV_EPHEMERAL_UPSTREAMS: 'yes' };
    expect(parseOptions([], env, '/repo')).toMatchObject({ port: 9000, config: '/repo/other.yml', workers: 3, perPlugin: false, ephemeralUpstreams: true });
    expect(parseOptions(['--port', '0', '--config', '/x/k.yml', '--workers', '4', '--per-plugin'], env, '/repo')).toMatchObject({ port: 0, config: '/x/k.yml', workers: 4, perPlugin: true });
  });

  it.each([
    [{ KONG_DEV_PORT: '99999' }, 'KONG_DEV_PORT="99999" is invalid: KONG_DEV_PORT must be an integer in [0, 65535]'],
    [{ KONG_DEV_PORT: '80.5' }, 'KONG_DEV_PORT="80.5" is invalid: KONG_DEV_PORT must be an integer in [0, 65535]'],
    [{ KONG_DEV_PORT: '0x50' }, 'KONG_DEV_PORT="0x50" is invalid: KONG_DEV_PORT must be an integer in [0, 65535]'],
    [{ KONG_DEV_WORKERS: 'zero' }, 'KONG_DEV_WORKERS="zero" is invalid: KONG_DEV_WORKERS must be an integer in [1, 64]'],
    [{ KONG_DEV_SERVER: 'nginx' }, 'KONG_DEV_SERVER="nginx" is invalid: expected one of ours, stock'],
    [{ KONG_DEV_PER_PLUGIN: 'maybe' }, 'KONG_DEV_PER_PLUGIN="maybe" is invalid: expected one of 1, true, yes, on, 0, false, no, off'],
  ])('refuses the variables %j naming variable, value and rule', (env, message) => {
    expect(() => parseOptions([], env)).toThrow(new EnvironmentError(message));
  });

  it('runs the stock server as one process (it has no per-plugin mode) and honours --no-per-plugin', () => {
    expect(parseOptions(['--server', 'stock'], {}).perPlugin).toBe(false);
    expect(parseOptions(['--no-per-plugin'], {}).perPlugin).toBe(false);
    const usage = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => parseOptions(['--server', 'nginx'], {})).toThrow(/Allowed choices are ours, stock/);
      expect(() => parseOptions(['--port', '70000'], {})).toThrow(/--port must be an integer in \[0, 65535\]/);
    } finally {
      usage.mockRestore();
    }
  });
});

describe('redis probe', () => {
  it('reports a real Redis as reachable and a closed port as not reachable', async () => {
    const redis = await startRedisServer();
    try {
      await expect(probeRedis('127.0.0.1', redis.port)).resolves.toEqual({ host: '127.0.0.1', port: redis.port, reachable: true });
    } finally {
      await redis.stop();
    }
    const closed = await probeRedis('127.0.0.1', await freePort());
    expect(closed.reachable).toBe(false);
    expect(closed.detail).toBe('ECONNREFUSED');
  });
});

describe('the banner\'s Redis lines: each plugin entry\'s own redis block, probed where it points', () => {
  it('reports a reachable and an unreachable Redis per entry, not REDIS_HOST/REDIS_PORT', async () => {
    const redis = await startRedisServer();
    const closed = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-redis-'));
    const quota = (route: string, port: number) => ({
      name: route,
      paths: [`/${route}`],
      plugins: [{ name: 'tenant-quota', config: { plans: [{ name: 'p', limits: [{ name: 'm', scope: 'tenant', algorithm: 'gcra', limit: 5, window_seconds: 60 }] }], default_plan: 'p', key_prefix: `gwprobe${process.pid}`, redis: { port } } }],
    });
    const file = path.join(dir, 'kong.yml');
    fs.writeFileSync(file, YAML.stringify({ _format_version: '3.0', services: [{ name: 's', url: 'http://127.0.0.1:9', routes: [quota('near', redis.port), quota('far', closed)] }] }));
    const previous = { host: process.env.REDIS_HOST, port: process.env.REDIS_PORT };
    process.env.REDIS_PORT = String(closed); // ignored now: it used to be the only address the banner probed
    let gateway: RunningGateway | undefined;
    try {
      gateway = await startGateway(parseOptions(['--port', '0', '--config', file, '--plugins-dir', tenantQuotaPluginDir(), '--workers', '1'], {}), pino({ level: 'silent' }));
      expect(gateway.summary.redis).toEqual([
        { entry: 'plugin tenant-quota on route near', mode: 'standalone', tls: false, nodes: [{ host: '127.0.0.1', port: redis.port }], probes: [{ host: '127.0.0.1', port: redis.port, reachable: true }], reachable: true },
        { entry: 'plugin tenant-quota on route far', mode: 'standalone', tls: false, nodes: [{ host: '127.0.0.1', port: closed }], probes: [{ host: '127.0.0.1', port: closed, reachable: false, detail: 'ECONNREFUSED' }], reachable: false },
      ]);
      const banner = formatBanner(gateway.summary);
      expect(banner).toContain(`  plugin tenant-quota on route near: 127.0.0.1:${redis.port} reachable\n`);
      expect(banner).toContain(`  plugin tenant-quota on route far: 127.0.0.1:${closed} not reachable (ECONNREFUSED); its Redis failure policy applies (e.g. a local fallback)\n`);
    } finally {
      if (previous.port === undefined) delete process.env.REDIS_PORT;
      else process.env.REDIS_PORT = previous.port;
      await gateway?.close();
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('says so when no active entry has a redis block', () => {
    expect(formatBanner({ ...BANNER_SUMMARY, redis: [] })).toContain('\nRedis: no active plugin entry has a redis block\n');
  });
});

describe.each(SERVER_KINDS)('dev gateway in-process, %s plugin server', (kind) => {
  let gateway: RunningGateway;
  let port: number;
  const logged: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const serverOutput: string[] = [];

  beforeAll(async () => {
    const options = parseOptions(['--port', '0', '--config', CONFIG, '--plugins-dir', PLUGINS, '--server', kind, '--ephemeral-upstreams'], {});
    const level = process.env.KONG_PLUGINS_LOG_LEVEL;
    process.env.KONG_PLUGINS_LOG_LEVEL = 'info'; // inherited by the plugin servers, whose output is checked below
    try {
      gateway = await startGateway(options, log, { serverOutput: (text) => void serverOutput.push(text) });
    } finally {
      if (level === undefined) delete process.env.KONG_PLUGINS_LOG_LEVEL;
      else process.env.KONG_PLUGINS_LOG_LEVEL = level;
    }
    port = gateway.summary.port;
  }, 30_000);

  afterAll(() => gateway?.close());

  // HTTP behaviour through kong.yml's demo routes (proxying, X-Forwarded-*, bodies, HEAD, Kong's 404) is the end-to-end
  // suite's (spec/20-e2e/demo-routes.spec.ts, also run against real Kong); here: the fixture config's own plugin and route.
  it('runs the route\'s custom plugin on the way in and out', async () => {
    const reply = await send(port, 'GET', '/demo/anything');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-gateway-stamp']).toBe('hello');
    expect(json(reply).headers['x-stamped']).toBe('hello');
  });

  it('keeps the path when strip_path is false', async () => {
    const reply = await send(port, 'GET', '/keep/anything');
    expect(reply.status).toBe(404);
    expect(json(reply)).toEqual({ error: 'not found', path: '/keep/anything' });
    expect(reply.headers['x-gateway-stamp']).toBeUndefined();
  });

  it('runs the log phase after the response, and shows what plugins log', async () => {
    const stamped = () => logged.some((line) => line.msg === 'stamp logged hello' && line.plugin === 'gateway-stamp' && line.source === 'kong.log');
    logged.length = 0;
    await send(port, 'GET', '/demo/health');
    await until(stamped);
    expect(stamped()).toBe(true);
    // forwarded lines leave the emulator's buffers, so a long-running gateway does not grow
    expect(gateway.kong.env.logLines).toEqual([]);
  });

  it('passes the plugin servers\' own output on, as plain lines (the stock server\'s colours and redraws rendered)', async () => {
    const ready = kind === 'ours' ? /"msg":"plugin server ready"/ : /^\S+ \[INFO\] server started at \S+\.sock$/m;
    await until(() => ready.test(serverOutput.join('')));
    const text = serverOutput.join('');
    expect(text).toMatch(ready);
    expect(text).not.toMatch(/\x1b/); // eslint-disable-line no-control-regex
    if (kind === 'ours') for (const line of text.trim().split('\n')) expect(JSON.parse(line)).toHaveProperty('level');
  });

  it('reports active, bundled (Kong only), unbuilt and consumer-scoped plugins', () => {
    const { plugins, pluginsServed } = gateway.summary;
    expect(pluginsServed).toEqual(['gateway-stamp']);
    expect(plugins).toEqual(
      expect.arrayContaining([
        { name: 'gateway-stamp', scope: 'route demo-json-api', status: 'active' },
        expect.objectContaining({ name: 'gateway-stamp', scope: 'consumer alice', status: 'consumer-scoped' }),
        { name: 'correlation-id', scope: 'global', status: 'kong-only', reason: 'runs in Kong only' },
        expect.objectContaining({ name: 'not-built-plugin', status: 'not-loaded' }),
      ]),
    );
    expect(plugins).toHaveLength(4);
    const banner = formatBanner(gateway.summary);
    expect(banner).toContain('correlation-id (global): runs in Kong only');
    expect(banner).toContain('gateway-stamp (route demo-json-api)');
    expect(banner).toMatch(/\/demo -> demo-json-api http:\/\/127\.0\.0\.1:\d+/);
  });
});

interface GatewayProcess {
  child: ChildProcess;
  stderr: () => string;
  port: number;
  exited: Promise<number | null>;
}

interface Launch {
  /** `node dist/devkit/gateway/main.js`, or `npm start` itself (in its own process group, as a terminal runs it). */
  via: 'node' | 'npm';
}

/** The gateway with these args, resolved once its banner is out (or rejected when it exits first). */
async function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}, launch: Launch = { via: 'node' }, startMs = 25_000): Promise<GatewayProcess> {
  // npm start --ignore-scripts: the start script itself without its prestart build (pretest has built dist/ already)
  const [command, argv] = launch.via === 'npm' ? ['npm', ['start', '--ignore-scripts', '--silent', '--', ...args]] : [process.execPath, [MAIN, ...args]];
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, KONG_PLUGINS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: launch.via === 'npm',
  });
  let stderr = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ? 128 + (os.constants.signals[signal] ?? 0) : code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within ${startMs / 1000} s:\n${stderr}`));
    }, startMs);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const url = /Kong dev gateway on http:\/\/127\.0\.0\.1:(\d+)\n[^]*Ctrl-C stops the gateway\./.exec(stderr);
      if (url) {
        clearTimeout(timer);
        resolve(Number(url[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`gateway exited with ${code}:\n${stderr}`), { code, stderr }));
    });
  });
  expect(stdout).toBe('');
  return { child, stderr: () => stderr, port, exited };
}

describe.each(SERVER_KINDS)('node dist/devkit/gateway/main.js, %s plugin server', (kind) => {
  let gateway: GatewayProcess | undefined;

  afterAll(() => {
    if (gateway && gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
  });

  it('serves the config, prints the banner and exits 0 on SIGTERM', async () => {
    gateway = await spawnGateway(['--port', '0', '--server', kind, '--config', CONFIG, '--plugins-dir', PLUGINS, '--ephemeral-upstreams']);
    const banner = gateway.stderr();
    const listening = JSON.parse(banner.split('\n').find((line) => line.includes('"msg":"dev gateway listening"')) ?? '{}');
    expect(listening).toMatchObject({ level: 'info', component: 'dev-gateway', port: gateway.port, server: kind });
    expect(banner).toContain(`Kong dev gateway on http://127.0.0.1:${gateway.port}`);
    expect(banner).toContain('correlation-id (global): runs in Kong only');
    expect(banner).toContain('gateway-stamp (route demo-json-api)');
    expect(banner).toContain('\nRedis: no active plugin entry has a redis block\n');

    const reply = await send(gateway.port, 'GET', '/demo/orders/ord_1002');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-gateway-stamp']).toBe('hello');
    expect(json(reply).order.customer.name).toBe('Alan Turing');
    expect(json(await send(gateway.port, 'GET', '/missing'))).toMatchObject(NO_ROUTE); // Kong >= 3.5 adds a request_id

    gateway.child.kill('SIGTERM');
    await expect(gateway.exited).resolves.toBe(0);
    expect(gateway.stderr()).toContain('"msg":"dev gateway stopped"');
    await expect(send(gateway.port, 'GET', '/demo/health')).rejects.toThrow(/ECONNREFUSED/);
  }, 40_000);
});

describe('npm start: signals reach the gateway, npm exits with its code', () => {
  const args = ['--port', '0', '--config', CONFIG, '--plugins-dir', PLUGINS, '--ephemeral-upstreams', '--workers', '1'];
  let gateway: GatewayProcess | undefined;

  afterEach(() => {
    if (gateway && gateway.child.exitCode === null && gateway.child.pid) process.kill(-gateway.child.pid, 'SIGKILL');
  });

  it('builds first (prestart) and then execs the gateway, so no shell stands between npm and it', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).toBe('npm run build');
    expect(pkg.scripts.start).toBe('exec node dist/devkit/gateway/main.js');
  });

  it.each([
    ['SIGINT sent to npm', 'npm', 'SIGINT'],
    ['SIGTERM sent to npm', 'npm', 'SIGTERM'],
    ['Ctrl-C (SIGINT to the whole process group)', 'group', 'SIGINT'],
  ] as const)('%s: the gateway stops gracefully and npm exits 0, leaving nothing serving', async (_name, target, signal) => {
    gateway = await spawnGateway(args, {}, { via: 'npm' });
    expect((await send(gateway.port, 'GET', '/demo/health')).status).toBe(200);
    process.kill(target === 'group' ? -gateway.child.pid! : gateway.child.pid!, signal);
    const code = await gateway.exited;
    expect({ code, output: code === 0 ? '' : gateway.stderr().slice(-3000) }).toEqual({ code: 0, output: '' }); // the output tells why
    expect(gateway.stderr()).toContain(`"signal":"${signal}","msg":"stopping dev gateway"`);
    expect(gateway.stderr()).toContain('"msg":"dev gateway stopped"');
    await expect(send(gateway.port, 'GET', '/demo/health')).rejects.toThrow(/ECONNREFUSED/); // not orphaned
  }, 40_000);

  it('exits with the gateway\'s code and message on a bad variable', async () => {
    const failure = await spawnGateway(args, { KONG_DEV_WORKERS: 'zero' }, { via: 'npm' }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('kong-dev-gateway: KONG_DEV_WORKERS="zero" is invalid: KONG_DEV_WORKERS must be an integer in [1, 64]');
  }, 40_000);
});

describe('npm start with the repository kong.yml and built plugins', () => {
  it('serves /demo from the demo JSON API and skips the bundled plugins', async () => {
    // every built plugin, one plugin-server process each: slow to start on a loaded machine (and under coverage)
    const gateway = await spawnGateway(['--port', '0', '--ephemeral-upstreams'], {}, { via: 'node' }, 75_000);
    try {
      const reply = await send(gateway.port, 'GET', '/demo/health');
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ status: 'ok', api_version: null });
      expect(gateway.stderr()).toContain('correlation-id (global): runs in Kong only');
    } finally {
      gateway.child.kill('SIGINT');
    }
    await expect(gateway.exited).resolves.toBe(0);
  }, 90_000);

  it.each([
    [{ KONG_DEV_PORT: '99999' }, 'KONG_DEV_PORT="99999" is invalid: KONG_DEV_PORT must be an integer in [0, 65535]'],
    [{ KONG_DEV_WORKERS: 'zero' }, 'KONG_DEV_WORKERS="zero" is invalid: KONG_DEV_WORKERS must be an integer in [1, 64]'],
  ])('exits 1 naming the variable when %j is invalid, as a bad flag does', async (env, message) => {
    const failure = await spawnGateway([], env).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure).toEqual(expect.objectContaining({ code: 1, stderr: `kong-dev-gateway: ${message}\n` }));
  }, 40_000);

  it('fails with a clear message when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const failure = await spawnGateway(['--port', String(port), '--ephemeral-upstreams', '--plugins-dir', PLUGINS, '--config', CONFIG]).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain(`kong-dev-gateway: dev gateway: 127.0.0.1:${port} is already in use (pick another with --port or KONG_DEV_PORT)`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  }, 40_000);
});
