import { RpcClient } from '../../devkit/emulator/rpc-client';
import type { RunOptions, RunResult } from './load-driver';
import { KONG_ANSWERS, TERMINAL_CALLS, instanceConfig, pdkCallOf, type EventReply } from './wire';

/**
 * A second, independent Kong-side driver: the emulator's RpcClient (devkit/emulator/rpc-client.ts, built on
 * @msgpack/msgpack's Encoder and stream Decoder), used the way Kong's mp_rpc.lua is: every message is a fresh
 * `[0, msgid, method, {args}]` encoded on the spot (smallest-width integers, as lua-MessagePack packs them), every
 * call takes a connection from a LIFO keepalive pool and gives it back (so an event's messages need not share a
 * connection), and each event is an async loop awaiting each answer. It spends several times the lean LoadDriver's
 * CPU per message, which on two cores changes how loaded, and so how batched, the server under test runs.
 */
export class KongLikeDriver {
  private readonly rpc: RpcClient;

  private constructor(socketPath: string) {
    this.rpc = new RpcClient(socketPath, { poolSize: 256 });
  }

  static async connect(socketPath: string, lanes: number): Promise<KongLikeDriver> {
    const driver = new KongLikeDriver(socketPath);
    // open the pool's connections up front, as a busy Kong worker has them
    await Promise.all(Array.from({ length: lanes }, () => driver.rpc.call('plugin.GetPluginInfo', 'none').catch(() => undefined)));
    return driver;
  }

  close(): void {
    this.rpc.close();
  }

  call(method: string, arg: unknown): Promise<unknown> {
    return this.rpc.call(method, arg);
  }

  async startInstance(name: string, config: Record<string, unknown> = {}): Promise<number> {
    const started = (await this.rpc.call('plugin.StartInstance', { Name: name, Config: instanceConfig(`bench-${name}`, config) })) as { Id: number };
    return started.Id;
  }

  async run(options: RunOptions): Promise<RunResult> {
    const inFlight = options.inFlight ?? 64;
    const eventName = options.eventName ?? 'access';
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
    const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.durationMs;
    let started = 0;
    let events = 0;
    let errors = 0;
    let messages = 0;
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    const lane = async () => {
      while (started < maxEvents && performance.now() < deadline) {
        started++;
        try {
          messages++;
          let reply = (await this.rpc.call('plugin.HandleEvent', { InstanceId: options.instanceId, EventName: eventName })) as EventReply;
          for (;;) {
            const call = pdkCallOf(reply);
            if (!call || TERMINAL_CALLS.has(call.Method)) break;
            const answer = KONG_ANSWERS[call.Method];
            messages++;
            reply = (await this.rpc.call('plugin.Step', answer === undefined ? { EventId: reply.EventId } : { EventId: reply.EventId, Data: answer })) as EventReply;
          }
        } catch {
          errors++;
        }
        events++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const cpu = process.cpuUsage(cpuBefore);
    return { events, errors, messages, elapsedMs: performance.now() - t0, driverCpuUs: cpu.user + cpu.system };
  }
}
