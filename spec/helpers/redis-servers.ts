import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, freePortBelowEphemeral, TEST_PORT_END, TEST_PORT_MIN } from './ports';

/**
 * Real redis-server processes for tests: each on its own free port and temp dir, killable, pausable (SIGSTOP) and
 * restartable on the same port. A failing or killed test run cannot leak servers or dirs: each server runs under a
 * small sh watchdog that SIGKILLs it and removes the helper's temp dir when this process dies (its stdin pipe hits
 * EOF). Process 'exit' hooks are no use here: jest does not run those registered by test modules.
 */

// Prints redis-server's pid and exits when redis-server does, so the wrapper's 'exit' event is the server's. The
// background reader sees EOF only when this process died: it then kills the server and removes the helper's temp dir,
// ignoring the wrapper's TERM from then on; after a deliberate kill the wrapper TERMs it while it still waits.
// (sh gives background jobs /dev/null as stdin unless redirected explicitly, hence fd 3.)
const WATCHDOG = [
  'exec 3<&0',
  'redis-server "$@" </dev/null >/dev/null 2>&1 &',
  'pid=$!',
  'echo "$pid"',
  '(read -r _ <&3; trap "" TERM; kill -9 "$pid" 2>/dev/null; [ -n "$REDIS_TEMP_DIR" ] && rm -rf "$REDIS_TEMP_DIR") &',
  'watchdog=$!',
  'wait "$pid"',
  'kill "$watchdog" 2>/dev/null',
].join('\n');

export interface RedisServerOptions {
  /** Fixed port; default: a free one. */
  port?: number;
  /** Extra redis-server arguments, e.g. ['--requirepass', 'secret']. */
  args?: readonly string[];
  /** A config file, passed first (redis-server reads it before the arguments). */
  configFile?: string;
  /** Working directory (nodes.conf, logs); default: a new temp dir, removed by stop(). */
  dir?: string;
  /** How long to wait for PONG. */
  readyTimeoutMs?: number;
}

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  /** redis-server's pid while it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Ends the process, restartable: SIGKILL (a crash) by default, SIGTERM for Redis' own shutdown. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts the server again on the same port and dir (killing it first if it runs); resolves on PONG. */
  restart(): Promise<void>;
  /** redis-cli -p <port> <args...>, trimmed stdout. */
  cli(...args: string[]): Promise<string>;
  /** Final: kills the process and removes the temp dir this helper created for it. */
  stop(): Promise<void>;
}

export interface RedisClusterServers {
  readonly ports: number[];
  readonly nodes: RedisServer[];
  /** Pauses / resumes every node. */
  pause(): void;
  resume(): void;
  /** Restarts every node and waits until the cluster reports ok again. */
  restart(): Promise<void>;
  /** Waits until every node reports cluster_state:ok (e.g. after restarting one node). */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the cluster's temp dir. */
  stop(): Promise<void>;
}

const tempDirs = new Set<string>();

function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port whose cluster bus port (port + 10000) is free as well, both below the ephemeral range. */
function freeClusterPort(taken: Set<number>): Promise<number> {
  return freePortBelowEphemeral([10000], taken, TEST_PORT_MIN, TEST_PORT_END - 10000);
}

export function ping(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export function redisCli(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.trim());
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

class SpawnedRedis implements RedisServer {
  private wrapper: ChildProcess | undefined;
  private serverPid: number | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: readonly string[],
    private readonly configFile: string | undefined,
    private readonly ownsDir: boolean,
    private readonly readyTimeoutMs: number,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.serverPid : undefined;
  }

  get running(): boolean {
    return this.wrapper !== undefined && this.wrapper.exitCode === null && this.wrapper.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running && this.serverPid !== undefined) {
      try {
        process.kill(this.serverPid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  /** Resolves on PONG; false when the server died first (e.g. the port was taken). */
  async spawn(): Promise<boolean> {
    const wrapper = spawn(
      '/bin/sh',
      [
        '-c', WATCHDOG, 'redis-watchdog',
        ...(this.configFile === undefined ? [] : [this.configFile]),
        '--port', String(this.port),
        '--bind', '127.0.0.1',
        '--save', '',
        '--appendonly', 'no',
        '--dir', this.dir,
        '--logfile', path.join(this.dir, `redis-${this.port}.log`),
        ...this.args,
      ],
      {
        stdio: ['pipe', 'pipe', 'ignore'],
        env: { ...process.env, REDIS_TEMP_DIR: tempDirs.has(this.dir) ? this.dir : '' },
      },
    );
    // A server a test forgot to stop must not keep the test process alive; the watchdog ends it.
    wrapper.unref();
    (wrapper.stdin as unknown as { unref(): void }).unref();
    (wrapper.stdout as unknown as { unref(): void }).unref();
    this.wrapper = wrapper;
    this.serverPid = undefined;
    this.serverPid = await new Promise<number | undefined>((resolve) => {
      let out = '';
      wrapper.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(Number(out.split('\n', 1)[0]));
      });
      wrapper.once('exit', () => resolve(undefined));
    });
    const deadline = Date.now() + this.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) return false;
      if (await ping(this.port)) return true;
      await sleep(20);
    }
    await this.kill();
    throw new Error(`redis-server on port ${this.port} did not answer PING within ${this.readyTimeoutMs} ms`);
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const wrapper = this.wrapper;
    if (!wrapper || !this.running) return;
    // A stopped process only acts on SIGTERM once continued.
    if (signal === 'SIGTERM') this.signal('SIGCONT');
    this.signal(signal);
    await waitForExit(wrapper);
  }

  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.kill();
    if (!(await this.spawn())) throw new Error(`redis-server could not restart on port ${this.port}`);
  }

  cli(...args: string[]): Promise<string> {
    return redisCli(this.port, args);
  }

  async stop(): Promise<void> {
    await this.kill();
    if (this.ownsDir) removeTempDir(this.dir);
  }
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  if (opts.dir !== undefined) return launch(opts, opts.dir, false);
  return launch(opts, makeTempDir('kong-redis-'), true);
}

async function launch(opts: RedisServerOptions, dir: string, ownsDir: boolean): Promise<RedisServer> {
  // A free port can be taken between probing and binding (another jest worker): retry with a new one.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port ?? (await freePort());
    const server = new SpawnedRedis(port, dir, opts.args ?? [], opts.configFile, ownsDir, opts.readyTimeoutMs ?? 5000);
    if (await server.spawn()) return server;
    if (opts.port !== undefined) break;
  }
  if (ownsDir) removeTempDir(dir);
  throw new Error('could not start redis-server');
}

/** A Redis Sentinel (redis-server --sentinel) monitoring `masterPort` on 127.0.0.1 as `masterName`, quorum 1. */
export async function startRedisSentinel(masterPort: number, masterName = 'mymaster'): Promise<RedisServer> {
  const dir = makeTempDir('kong-redis-sentinel-');
  // Sentinel rewrites its config file, so it lives in the temp dir.
  const configFile = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(configFile, `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1\n`);
  return launch({ configFile, args: ['--sentinel'] }, dir, true);
}

async function waitForClusterOk(ports: readonly number[], timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const infos = await Promise.all(ports.map((p) => redisCli(p, ['cluster', 'info']).catch(() => '')));
    if (infos.every((info) => info.includes('cluster_state:ok'))) return;
    await sleep(50);
  }
  throw new Error(`redis cluster ${ports.join(',')} not ok within ${timeoutMs} ms`);
}

/** n masters (no replicas) in one temp dir, cluster created with redis-cli and reported ok by every node. */
export async function startRedisCluster(n = 3): Promise<RedisClusterServers> {
  const dir = makeTempDir('kong-redis-cluster-');
  const nodes: RedisServer[] = [];
  const taken = new Set<number>();
  try {
    for (let i = 0; i < n; i++) {
      const port = await freeClusterPort(taken);
      taken.add(port);
      taken.add(port + 10000);
      nodes.push(
        await startRedisServer({
          port,
          dir,
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', '2000',
          ],
        }),
      );
    }
    const ports = nodes.map((node) => node.port);
    await new Promise<void>((resolve, reject) => {
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 20000 },
        (err, _stdout, stderr) => (err ? reject(new Error(`cluster create failed: ${stderr}`)) : resolve()),
      );
    });
    await waitForClusterOk(ports);
    return {
      ports,
      nodes,
      pause: () => nodes.forEach((node) => node.pause()),
      resume: () => nodes.forEach((node) => node.resume()),
      restart: async () => {
        await Promise.all(nodes.map((node) => node.restart()));
        await waitForClusterOk(ports);
      },
      waitUntilOk: (timeoutMs?: number) => waitForClusterOk(ports, timeoutMs),
      stop: async () => {
        await Promise.all(nodes.map((node) => node.stop()));
        removeTempDir(dir);
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((node) => node.stop()));
    removeTempDir(dir);
    throw err;
  }
}
