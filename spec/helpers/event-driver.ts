import fs from 'node:fs';
import path from 'node:path';
import { RpcClient } from '../../devkit/emulator/rpc-client';

interface StepIn {
  EventId: number;
  Data: 'ret' | { Method: string; Args: unknown[] };
}

/** Kong's answer to the few PDK calls the fixture plugins make. */
function answer(method: string): unknown {
  if (method === 'kong.request.get_header') return 'value';
  return undefined;
}

/**
 * Drives `count` access events against one instance with `inFlight` concurrent events, the way Kong's bridge loop
 * does (exit/error end the event without another Step). Returns the number of PDK calls served.
 */
export async function driveEvents(rpc: RpcClient, instanceId: number, count: number, inFlight = 64): Promise<number> {
  let started = 0;
  let calls = 0;
  const lane = async () => {
    while (started < count) {
      started++;
      let step = (await rpc.call('plugin.HandleEvent', { InstanceId: instanceId, EventName: 'access' })) as StepIn;
      while (step.Data !== 'ret') {
        calls++;
        const method = step.Data.Method;
        if (method === 'kong.response.exit' || method === 'kong.response.error') break;
        step = (await rpc.call('plugin.Step', { EventId: step.EventId, Data: answer(method) })) as StepIn;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return calls;
}

export function rssBytes(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

function statusKb(pid: number, field: string): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

const GC_PRELOAD = path.join(__dirname, '..', 'fixtures', 'preload', 'gc-on-signal.js');

/** Environment for a server whose live set a test measures with {@link liveAnonBytes}. */
export function gcOnSignalEnv(doneFile: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `--expose-gc --require ${GC_PRELOAD}`, GC_DONE_FILE: doneFile };
}

/**
 * The anonymous memory (heap, buffers: where a leak lives; not the mapped node binary) of a server started with
 * {@link gcOnSignalEnv}, right after a full GC it runs on SIGUSR2.
 */
export async function liveAnonBytes(pid: number, doneFile: string): Promise<number> {
  const before = fs.existsSync(doneFile) ? fs.readFileSync(doneFile, 'utf8') : '';
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (fs.existsSync(doneFile) && fs.readFileSync(doneFile, 'utf8') !== before) return statusKb(pid, 'RssAnon') * 1024;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`server ${pid} did not report a GC within 10 s`);
}
