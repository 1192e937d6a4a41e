import net from 'node:net';
import { StreamDecoder } from '../../shared/server/codec';
import { KONG_ANSWERS, RequestTemplate, TERMINAL_CALLS, encodeRequest, instanceConfig, pdkCallOf, type EventReply } from './wire';

/**
 * A lean Kong-side load driver for one plugin-server socket: `lanes` connections (Kong's keepalive pool), one
 * request in flight per connection, each lane running events back to back (HandleEvent, then a Step per PDK call,
 * answered as Kong would) so `lanes` events are in flight. No promise or encoder per message: the driver competes
 * with the server for the same CPUs, so the less it spends the closer the server gets to saturation.
 */
export interface RunOptions {
  instanceId: number;
  eventName?: string;
  /** Stop starting events after this long. */
  durationMs?: number;
  /** Stop starting events after this many. */
  maxEvents?: number;
  /** Lanes used (default: all). */
  inFlight?: number;
}

export interface RunResult {
  events: number;
  /** Events answered with an RPC error (e.g. "no plugin instance"). */
  errors: number;
  /** RPC messages Kong sent (HandleEvent + Steps). */
  messages: number;
  elapsedMs: number;
  driverCpuUs: number;
}

interface Lane {
  readonly socket: net.Socket;
  readonly decoder: StreamDecoder;
  msgid: number;
  onReply: ((error: unknown, result: unknown) => void) | undefined;
  /** The connection broke or the server answered out of protocol. */
  onFail: ((err: Error) => void) | undefined;
}

const HANDLE_EVENT = 'plugin.HandleEvent';

export class LoadDriver {
  private msgid = 0;
  private readonly stepTemplates = new Map<string, RequestTemplate>();
  private readonly handleTemplates = new Map<string, RequestTemplate>();

  private constructor(private readonly lanes: Lane[]) {}

  static async connect(socketPath: string, lanes: number): Promise<LoadDriver> {
    const connected = await Promise.all(Array.from({ length: lanes }, () => openLane(socketPath)));
    return new LoadDriver(connected);
  }

  close(): void {
    for (const lane of this.lanes) lane.socket.destroy();
  }

  /** One RPC on the first lane (StartInstance, CloseInstance...): resolves the result, rejects the error string. */
  call(method: string, arg: unknown): Promise<unknown> {
    const lane = this.lanes[0];
    return new Promise((resolve, reject) => {
      const msgid = this.nextMsgid();
      lane.msgid = msgid;
      lane.onReply = (error, result) => {
        lane.onReply = lane.onFail = undefined;
        if (error == null) resolve(result);
        else reject(new Error(String(error)));
      };
      lane.onFail = reject;
      lane.socket.write(encodeRequest(msgid, method, arg));
    });
  }

  async startInstance(name: string, config: Record<string, unknown> = {}): Promise<number> {
    const started = (await this.call('plugin.StartInstance', { Name: name, Config: instanceConfig(`bench-${name}`, config) })) as { Id: number };
    return started.Id;
  }

  run(options: RunOptions): Promise<RunResult> {
    const lanes = this.lanes.slice(0, options.inFlight ?? this.lanes.length);
    const handle = this.handleTemplate(options.instanceId, options.eventName ?? 'access');
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
    let started = 0;
    let events = 0;
    let errors = 0;
    let messages = 0;
    let active = 0;
    let stopping = false;
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();

    return new Promise((resolve, reject) => {
      const timer = options.durationMs === undefined ? undefined : setTimeout(() => (stopping = true), options.durationMs);
      // A server that stops answering must not hang the bench.
      const guard = setTimeout(() => fail(new Error(`run did not finish (${events} events done, ${active} lanes busy)`)), (options.durationMs ?? 0) + 60_000);
      const fail = (err: Error) => {
        stopping = true;
        if (timer) clearTimeout(timer);
        clearTimeout(guard);
        for (const lane of lanes) lane.onReply = lane.onFail = undefined;
        reject(err);
      };
      const finish = () => {
        if (timer) clearTimeout(timer);
        clearTimeout(guard);
        for (const lane of lanes) lane.onFail = undefined;
        const cpu = process.cpuUsage(cpuBefore);
        resolve({ events, errors, messages, elapsedMs: performance.now() - t0, driverCpuUs: cpu.user + cpu.system });
      };
      const send = (lane: Lane, bytes: Buffer) => {
        messages++;
        lane.socket.write(bytes);
      };
      const startEvent = (lane: Lane): void => {
        if (stopping || started >= maxEvents) {
          lane.onReply = undefined;
          if (--active === 0) finish();
          return;
        }
        started++;
        const msgid = this.nextMsgid();
        lane.msgid = msgid;
        send(lane, handle.build(msgid));
      };
      const onReply = (lane: Lane, error: unknown, result: unknown): void => {
        if (error != null) {
          errors++;
          events++;
          return startEvent(lane);
        }
        const reply = result as EventReply;
        const call = pdkCallOf(reply);
        if (!call || TERMINAL_CALLS.has(call.Method)) {
          events++;
          return startEvent(lane);
        }
        const msgid = this.nextMsgid();
        lane.msgid = msgid;
        send(lane, this.stepTemplate(call.Method).build(msgid, reply.EventId));
      };
      for (const lane of lanes) {
        lane.onReply = (error, result) => {
          try {
            onReply(lane, error, result);
          } catch (err) {
            fail(err as Error);
          }
        };
        lane.onFail = fail;
        active++;
      }
      for (const lane of lanes) startEvent(lane);
    });
  }

  private nextMsgid(): number {
    this.msgid = (this.msgid + 1) % 0xfffffff0;
    return this.msgid;
  }

  private handleTemplate(instanceId: number, eventName: string): RequestTemplate {
    const key = `${instanceId}:${eventName}`;
    let template = this.handleTemplates.get(key);
    if (!template) {
      template = new RequestTemplate(HANDLE_EVENT, { InstanceId: instanceId, EventName: eventName });
      this.handleTemplates.set(key, template);
    }
    return template;
  }

  private stepTemplate(method: string): RequestTemplate {
    let template = this.stepTemplates.get(method);
    if (!template) {
      const answer = KONG_ANSWERS[method];
      template = new RequestTemplate('plugin.Step', answer === undefined ? { EventId: 0 } : { EventId: 0, Data: answer });
      this.stepTemplates.set(method, template);
    }
    return template;
  }
}

function openLane(socketPath: string): Promise<Lane> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    const lane: Lane = { socket, decoder: new StreamDecoder(), msgid: 0, onReply: undefined, onFail: undefined };
    const onValue = (message: unknown) => {
      const [type, msgid, error, result] = message as [number, number, unknown, unknown];
      const onReply = lane.onReply;
      if (!onReply) return;
      if (type !== 1 || msgid !== lane.msgid) {
        socket.destroy();
        return lane.onFail?.(new Error(`unexpected RPC response (${type}, msgid ${msgid} != ${lane.msgid})`));
      }
      onReply(error, result);
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      try {
        lane.decoder.push(chunk, onValue);
      } catch (err) {
        socket.destroy();
        lane.onFail?.(err as Error);
      }
    });
    socket.on('close', () => lane.onFail?.(new Error('plugin server closed the connection')));
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => socket.destroy());
      resolve(lane);
    });
    socket.once('error', reject);
  });
}
