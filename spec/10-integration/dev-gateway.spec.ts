import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { formatBanner } from '../../devkit/gateway/banner';
import { startGateway, type RunningGateway } from '../../devkit/gateway/gateway';
import { parseOptions } from '../../devkit/gateway/options';
import { probeRedis } from '../../devkit/gateway/redis-probe';
import { SERVER_KINDS } from '../helpers/kong-harness';
import { startRedisServer } from '../helpers/redis-servers';
import { freePort } from '../helpers/ports';

const FIXTURES = path.join(__dirname, 'fixtures');
const CONFIG = path.join(FIXTURES, 'gateway-kong.yml');
const PLUGINS = path.join(FIXTURES, 'gateway-plugins');
const MAIN = path.join(ROOT, 'dist', 'devkit', 'gateway', 'main.js');
const NO_ROUTE = { message: 'no Route matched with those values' };

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
    expect(options).toMatchObject({ host: '127.0.0.1', port: 8000, config: '/repo/kong.yml', workers: 2, server: 'ours', perPlugin: true, ephemeralUpstreams: false });
    expect(options.redis).toEqual({ host: '127.0.0.1', port: 6379 });
  });

  it('takes KONG_DEV_* and REDIS_* variables, and flags over them', () => {
    const env = { KONG_DEV_PORT: '9000', KONG_DEV_CONFIG: 'other.yml', REDIS_HOST: 'redis', REDIS_PORT: '6380' };
    expect(parseOptions([], env, '/repo')).toMatchObject({ port: 9000, config: '/repo/other.yml', redis: { host: 'redis', port: 6380 } });
    expect(parseOptions(['--port', '0', '--config', '/x/k.yml', '--workers', '4'], env, '/repo')).toMatchObject({ port: 0, config: '/x/k.yml', workers: 4 });
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

  it('proxies to the demo JSON API with strip_path, running the route\'s custom plugin', async () => {
    const reply = await send(port, 'GET', '/demo/orders?status=shipped');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.headers['x-gateway-stamp']).toBe('hello');
    expect(reply.headers.via).toMatch(/^kong\//);
    const body = json(reply);
    expect(body.count).toBe(1);
    expect(body.orders[0].id).toBe('ord_1001');
  });

  it('forwards method, versioned path, query, every header value and X-Forwarded-* to the upstream', async () => {
    const reply = await send(port, 'GET', '/demo/v2/anything/items?x=1&x=2&flag', ['X-Multi', 'a', 'X-Multi', 'b', 'Host', 'api.example.test:8443']);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-api-version']).toBe('v2');
    const echo = json(reply);
    expect(echo).toMatchObject({ method: 'GET', path: '/v2/anything/items', api_version: 'v2', query: { x: ['1', '2'], flag: '' }, raw_query: 'x=1&x=2&flag' });
    expect(echo.headers['x-multi']).toBe('a, b');
    expect(echo.headers['x-stamped']).toBe('hello');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe('api.example.test');
    expect(echo.headers['x-forwarded-port']).toBe(String(port));
    expect(echo.headers['x-forwarded-path']).toBe('/demo/v2/anything/items');
    expect(echo.headers.host).toBe(`127.0.0.1:${gateway.summary.upstreams[0].url.split(':')[2]}`);
  });

  it('keeps the path when strip_path is false', async () => {
    const reply = await send(port, 'GET', '/keep/anything');
    expect(reply.status).toBe(404);
    expect(json(reply)).toEqual({ error: 'not found', path: '/keep/anything' });
    expect(reply.headers['x-gateway-stamp']).toBeUndefined();
  });

  it('sends request bodies through and the upstream\'s status and headers back', async () => {
    const reply = await send(port, 'POST', '/demo/v1/orders', { 'Content-Type': 'application/json' }, JSON.stringify({ sku: 'MUG-007', quantity: 3 }));
    expect(reply.status).toBe(201);
    expect(reply.headers.location).toBe('/v1/orders/ord_new');
    expect(json(reply).order).toMatchObject({ id: 'ord_new', status: 'pending', sku: 'MUG-007', quantity: 3 });
    const bad = await send(port, 'POST', '/demo/orders', { 'Content-Type': 'application/json' }, '[1,2]');
    expect(bad.status).toBe(400);
  });

  it('answers HEAD without a body', async () => {
    const reply = await send(port, 'HEAD', '/demo/health');
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(0);
    expect(reply.headers['x-gateway-stamp']).toBe('hello');
  });

  it('answers Kong\'s 404 when no route matches', async () => {
    const reply = await send(port, 'GET', '/nowhere');
    expect(reply.status).toBe(404);
    expect(json(reply)).toEqual(NO_ROUTE);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
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

  it('passes the plugin servers\' own output on', async () => {
    await until(() => serverOutput.join('').length > 0);
    expect(serverOutput.join('').length).toBeGreaterThan(0);
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

/** `node dist/devkit/gateway/main.js ...args`, resolved once its banner is out (or rejected when it exits first). */
async function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, KONG_PLUGINS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within 25 s:\n${stderr}`));
    }, 25_000);
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

describe.each(SERVER_KINDS)('npm start (node dist/devkit/gateway/main.js), %s plugin server', (kind) => {
  let gateway: GatewayProcess | undefined;

  afterAll(() => {
    if (gateway && gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
  });

  it('serves the config, prints the banner and exits 0 on SIGTERM', async () => {
    const redisPort = await freePort();
    gateway = await spawnGateway(['--port', '0', '--server', kind, '--config', CONFIG, '--plugins-dir', PLUGINS, '--ephemeral-upstreams'], { REDIS_PORT: String(redisPort) });
    const banner = gateway.stderr();
    const listening = JSON.parse(banner.split('\n').find((line) => line.includes('"msg":"dev gateway listening"')) ?? '{}');
    expect(listening).toMatchObject({ level: 'info', component: 'dev-gateway', port: gateway.port, server: kind });
    expect(banner).toContain(`Kong dev gateway on http://127.0.0.1:${gateway.port}`);
    expect(banner).toContain('correlation-id (global): runs in Kong only');
    expect(banner).toContain('gateway-stamp (route demo-json-api)');
    expect(banner).toContain(`Redis not reachable: plugins use their local fallbacks (127.0.0.1:${redisPort}: ECONNREFUSED)`);

    const reply = await send(gateway.port, 'GET', '/demo/orders/ord_1002');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-gateway-stamp']).toBe('hello');
    expect(json(reply).order.customer.name).toBe('Alan Turing');
    expect(json(await send(gateway.port, 'GET', '/missing'))).toEqual(NO_ROUTE);

    gateway.child.kill('SIGTERM');
    await expect(gateway.exited).resolves.toBe(0);
    expect(gateway.stderr()).toContain('"msg":"dev gateway stopped"');
    await expect(send(gateway.port, 'GET', '/demo/health')).rejects.toThrow(/ECONNREFUSED/);
  }, 40_000);
});

describe('npm start with the repository kong.yml and built plugins', () => {
  it('serves /demo from the demo JSON API and skips the bundled plugins', async () => {
    const gateway = await spawnGateway(['--port', '0', '--ephemeral-upstreams']);
    try {
      const reply = await send(gateway.port, 'GET', '/demo/health');
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ status: 'ok', api_version: null });
      expect(gateway.stderr()).toContain('correlation-id (global): runs in Kong only');
    } finally {
      gateway.child.kill('SIGINT');
    }
    await expect(gateway.exited).resolves.toBe(0);
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
