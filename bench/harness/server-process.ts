import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PluginServerProcess, ROOT, serverDefinition, type ServerKind } from '../../devkit/emulator/plugin-server-process';
import { KongLikeDriver } from './kong-like-driver';
import { LoadDriver, type RunOptions, type RunResult } from './load-driver';

/** What the benches need of a Kong-side driver. */
export interface Driver {
  startInstance(name: string, config?: Record<string, unknown>): Promise<number>;
  call(method: string, arg: unknown): Promise<unknown>;
  run(options: RunOptions): Promise<RunResult>;
  close(): void;
}

/** `lean`: LoadDriver (byte templates, fixed lanes); `kong-like`: KongLikeDriver (@msgpack/msgpack, pooled, async). */
export type DriverKind = 'lean' | 'kong-like';

/** Plain-JS fixture plugins (no build step; both servers load them from the source tree). */
export const FIXTURE_PLUGINS = path.join(ROOT, 'bench', 'fixtures', 'plugins');

/** A plugin server process under load, with the Kong-side driver connected to it. */
export interface BenchServer {
  readonly label: string;
  readonly kind: ServerKind;
  readonly process: PluginServerProcess;
  readonly driver: Driver;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  kind: ServerKind;
  label?: string;
  pluginsDir?: string;
  /** Ours only: per-plugin mode (`--plugin <name>`). */
  plugin?: string;
  lanes: number;
  /** Kong-side driver (default lean). */
  driver?: DriverKind;
  /** Extra environment for the server, e.g. NODE_OPTIONS=--cpu-prof to profile it. */
  env?: NodeJS.ProcessEnv;
}

export async function startBenchServer(options: StartOptions): Promise<BenchServer> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'kps-bench-'));
  const definition = serverDefinition(options.kind, options.pluginsDir ?? FIXTURE_PLUGINS, prefix, options.plugin);
  const child = new PluginServerProcess(definition, { env: { NODE_ENV: 'production', ...options.env } });
  await child.start();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.kind} server has no pid`);
  let driver: Driver;
  try {
    driver = options.driver === 'kong-like' ? await KongLikeDriver.connect(definition.socket, options.lanes) : await LoadDriver.connect(definition.socket, options.lanes);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    label: options.label ?? options.kind,
    kind: options.kind,
    process: child,
    driver,
    pid,
    async stop() {
      driver.close();
      await child.stop();
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads) in microseconds. */
export function processCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may hold spaces and parentheses: fields start after the last ')'. utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / clockTicksPerSecond();
}

/** Resident set size in KiB (VmRSS). */
export function processRssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The CPU list a process may run on (for restoring it after pinning). */
export function cpuAffinity(pid: number): string {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^Cpus_allowed_list:\s+(\S+)/m.exec(status);
  if (!match) throw new Error(`no Cpus_allowed_list for pid ${pid}`);
  return match[1];
}

/** Sets the affinity of every thread of `pid`. */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** read(2)/write(2)-family syscalls of a process so far (/proc/<pid>/io syscr/syscw; epoll_wait is not counted). */
export function processSyscalls(pid: number): { reads: number; writes: number } {
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
  return { reads: field('syscr'), writes: field('syscw') };
}

/** Voluntary context switches so far: each time the process blocked in epoll_wait with nothing to do (a wake-up). */
export function processWakeups(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1] ?? NaN);
}
