import fs from 'node:fs';
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
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error('no VmRSS');
  return Number(match[1]) * 1024;
}
