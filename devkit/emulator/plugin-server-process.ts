import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkSchemaDefinition, type KongFields } from './kong-schema';

export interface PluginInfo {
  Name: string;
  Version?: string;
  Phases: string[];
  Priority: number;
  Schema: { name: string; fields: Array<{ config: { type: 'record'; fields: KongFields } }> };
}

/** The repository root, from the sources (ts-jest) or from dist/. */
function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

export const ROOT = projectRoot();
export const OUR_SERVER = path.join(ROOT, 'bin', 'kong-plugin-server.js');
export const STOCK_SERVER = require.resolve('kong-pdk/bin/kong-js-pluginserver');
export const BUILT_PLUGINS = path.join(ROOT, 'dist', 'plugins');

export type ServerKind = 'ours' | 'stock';

/** Plugin servers this process started: killed when it exits, so a crashed test run leaves no orphans. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** A plugin-server entry as Kong's kong.conf declares one: start command, query command, socket. */
export interface PluginServerDefinition {
  name: string;
  socket: string;
  startCommand: string[];
  queryCommand: string[];
}

/** The definition Kong would use for `kind` serving `pluginsDir` (ours: optionally one plugin per server). */
export function serverDefinition(kind: ServerKind, pluginsDir: string, prefix: string, plugin?: string): PluginServerDefinition {
  const script = kind === 'ours' ? OUR_SERVER : STOCK_SERVER;
  const sockName = plugin ? `${plugin}.socket` : `${kind}-js_pluginserver.sock`;
  const only = kind === 'ours' && plugin ? ['--plugin', plugin] : [];
  return {
    name: plugin ?? kind,
    socket: path.join(prefix, sockName),
    startCommand: [process.execPath, script, '-d', pluginsDir, '-p', prefix, '--sock-name', sockName, ...only],
    queryCommand: [process.execPath, script, '-d', pluginsDir, '--dump-all-plugins', ...only],
  };
}

/**
 * One plugin-server process, started and queried like Kong's process manager (kong/runloop/plugin_servers/
 * process.lua): the query command's stdout must be JSON; the server is respawned when it dies if asked to.
 */
export class PluginServerProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  stderr = '';
  restarts = 0;
  infos: PluginInfo[] = [];

  constructor(
    readonly definition: PluginServerDefinition,
    private readonly options: { respawn?: boolean; env?: NodeJS.ProcessEnv } = {},
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Runs the query command and checks the schemas as Kong's metaschema would. */
  query(): PluginInfo[] {
    const [command, ...args] = this.definition.queryCommand;
    const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...this.options.env } });
    // query_external_plugin_info (plugin_servers/process.lua) reads the command's stdout and never looks at its
    // exit status: only what it printed decides
    let dump: unknown;
    try {
      dump = JSON.parse(result.stdout);
    } catch (err) {
      const status = result.status !== 0 ? ` (exit status ${String(result.status)}: ${result.stderr.slice(0, 500)})` : '';
      throw new Error(`failed decoding plugin info: ${(err as Error).message}: ${result.stdout.slice(0, 200)}${status}`);
    }
    if (!dump || typeof dump !== 'object') throw new Error(`not a plugin info table: ${result.stdout.slice(0, 200)}`);
    const infos = ((dump as { Plugins?: PluginInfo[] }).Plugins ?? dump) as PluginInfo[];
    for (const info of infos) {
      // load_plugin_handler (db/dao/plugins.lua): PRIORITY a valid integer, VERSION a string in "x.y.z" format
      if (!Number.isInteger(info.Priority)) throw new Error(`Plugin "${info.Name}" cannot be loaded because its PRIORITY field is not a valid integer number, got: "${String(info.Priority)}"`);
      if (typeof info.Version !== 'string' || !/^\d+\.\d+\.\d+$/.test(info.Version)) {
        throw new Error(`Plugin "${info.Name}" cannot be loaded because its VERSION field does not follow the "x.y.z" format, got: "${String(info.Version)}"`);
      }
      const problems = checkSchemaDefinition(info.Schema.fields[0].config.fields);
      if (problems.length) throw new Error(`${info.Name}: invalid schema: ${problems.join('; ')}`);
    }
    this.infos = infos;
    return infos;
  }

  private starting: Promise<void> = Promise.resolve();

  /** Resolves when the latest (re)start is listening. */
  whenReady(): Promise<void> {
    return this.starting;
  }

  start(): Promise<void> {
    this.starting = this.spawnAndWait();
    return this.starting;
  }

  private async spawnAndWait(): Promise<void> {
    this.stopping = false;
    try {
      fs.unlinkSync(this.definition.socket);
    } catch {
      // absent
    }
    const [command, ...args] = this.definition.startCommand;
    const env = { ...process.env, KONG_PLUGINS_LOG_LEVEL: process.env.KONG_PLUGINS_SERVER_LOG_LEVEL ?? 'info', ...this.options.env };
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    liveChildren.add(child);
    child.stdout?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 1_000_000) this.stderr = this.stderr.slice(-500_000);
    });
    child.on('exit', () => {
      liveChildren.delete(child);
      if (this.child === child) this.child = undefined;
      if (!this.stopping && this.options.respawn) {
        this.restarts++;
        setTimeout(() => {
          if (!this.stopping) void this.start().catch(() => undefined); // stopped meanwhile: stays stopped
        }, 1000).unref();
      }
    });
    await waitForSocket(this.definition.socket, child);
  }

  /**
   * The server's output once it contains `match` (or as it is after `timeoutMs`): stderr travels on its own pipe,
   * so a line logged before a reply can arrive after it.
   */
  async waitForStderr(match: string | RegExp, timeoutMs = 3000): Promise<string> {
    const found = () => (typeof match === 'string' ? this.stderr.includes(match) : match.test(this.stderr));
    const deadline = Date.now() + timeoutMs;
    while (!found() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.stderr;
  }

  /** A server this emulator did not start (connect mode) has no start command and is never stopped by it. */
  get external(): boolean {
    return this.definition.startCommand.length === 0;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Simulates a crash: Kong (worker 0) respawns the server after at least 1 s. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }
}

// a bound, not a wait: a plugin server that dies fails at once; one starting on a saturated machine (a dozen
// servers requiring their dependencies at once) may need tens of seconds
async function waitForSocket(socketPath: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`plugin server exited with ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.createConnection(socketPath);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`plugin server did not listen on ${socketPath} within ${timeoutMs} ms`);
}
