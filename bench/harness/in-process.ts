import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { StreamDecoder, encode, encodeCallReply, encodeDataReply } from '../../shared/server/codec';
import { PluginServer } from '../../shared/server/plugin-server';
import { loadPluginDirectory } from '../../shared/server/plugin-module';
import { listen } from '../../shared/server/socket-listener';
import { KONG_ANSWERS, RequestTemplate, TERMINAL_CALLS, instanceConfig, pdkCallOf, type EventReply } from './wire';

/**
 * Both plugin servers' userland, driven in this process through fake connections: the real connection handler of
 * each server (ours: shared/server/socket-listener; stock: kong-pdk's listener.js) receives the same request
 * bytes Kong sends and writes its answers to a socket stand-in. Everything a server process does per event runs
 * here except the kernel and libuv: the difference to the process's CPU per event is the syscall/event-loop share.
 */
export interface FakeConnection {
  feed(chunk: Buffer): void;
}

export interface InProcessServer {
  readonly label: string;
  readonly instanceId: number;
  /** The id the server will give the next event (both servers number events sequentially). */
  nextEventId(): number;
  connect(onWrite: (data: Uint8Array) => void): FakeConnection;
  close(): void;
}

class FakeSocket {
  destroyed = false;
  encoder: unknown;
  private onData: ((chunk: Buffer) => void) | undefined;

  constructor(private readonly onWrite: (data: Uint8Array) => void) {}

  setNoDelay(): this {
    return this;
  }

  on(event: string, listener: (...args: any[]) => void): this {
    if (event === 'data') this.onData = listener;
    return this;
  }

  write(data: Uint8Array): boolean {
    this.onWrite(data);
    return true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  feed(chunk: Buffer): void {
    this.onData!(chunk);
  }
}

type ConnectionHandler = (socket: FakeSocket) => void;

/** Runs `setup` with net.createServer replaced, returning the connection handler the server registered. */
function captureConnectionHandler(setup: () => void): ConnectionHandler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require('node:net') as { createServer: unknown };
  const original = net.createServer;
  let handler: ConnectionHandler | undefined;
  const fakeServer = {
    listen: (_path: string, callback?: () => void) => callback?.(),
    once: () => fakeServer,
    off: () => fakeServer,
    on: () => fakeServer,
  };
  net.createServer = (...args: unknown[]) => {
    handler = args.find((a) => typeof a === 'function') as ConnectionHandler;
    return fakeServer;
  };
  try {
    setup();
  } finally {
    net.createServer = original;
  }
  if (!handler) throw new Error('server registered no connection handler');
  return handler;
}

function scratchSocketPath(): { socketPath: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kps-bench-inproc-'));
  return { socketPath: path.join(dir, 'never-created.sock'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function startedInstanceId(handler: ConnectionHandler, plugin: string): number {
  let id: number | undefined;
  const socket = new FakeSocket((data) => {
    const [, , error, result] = decode(data) as [number, number, unknown, { Id: number }];
    if (error) throw new Error(String(error));
    id = result.Id;
  });
  handler(socket);
  socket.feed(Buffer.from(encode([0, 1, 'plugin.StartInstance', [{ Name: plugin, Config: instanceConfig(`inproc-${plugin}`) }]])));
  return id!;
}

export async function ourServerInProcess(pluginsDir: string, plugin: string): Promise<InProcessServer> {
  const { plugins } = loadPluginDirectory(pluginsDir);
  const server = new PluginServer(plugins);
  const scratch = scratchSocketPath();
  let listening: Promise<unknown> | undefined;
  const handler = captureConnectionHandler(() => {
    listening = listen(server, scratch.socketPath);
  });
  await listening;
  // StartInstance answers synchronously in our server.
  const instanceId = startedInstanceId(handler, plugin);
  return {
    label: 'ours',
    instanceId,
    nextEventId: () => (server as unknown as { nextEventId: number }).nextEventId,
    connect(onWrite) {
      const socket = new FakeSocket(onWrite);
      handler(socket);
      return socket;
    },
    close() {
      server.close();
      scratch.cleanup();
    },
  };
}

export async function stockServerInProcess(pluginsDir: string, plugin: string): Promise<InProcessServer> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Server = require('kong-pdk/server');
  const Listener = require('kong-pdk/listener');
  const colorLog = require(require.resolve('node-color-log', { paths: [path.dirname(require.resolve('kong-pdk/server'))] }));
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The CLI's logger at its default level: debug() calls are level-checked, as in the process (warn: keep stdout quiet).
  const logger = colorLog.createNamedLogger('bench');
  logger.setLevel('warn');
  const ps = new Server(pluginsDir, logger);
  ps.close(); // as the CLI does
  const scratch = scratchSocketPath();
  const handler = captureConnectionHandler(() => new Listener(ps, scratch.socketPath).serve());
  // kong-pdk answers StartInstance from a promise.
  const instanceId = (await ps.StartInstance({ Name: plugin, Config: instanceConfig(`inproc-${plugin}`) })).Id as number;
  return {
    label: 'stock',
    instanceId,
    nextEventId: () => ps.eventID as number,
    connect(onWrite) {
      const socket = new FakeSocket(onWrite);
      handler(socket);
      return socket;
    },
    close() {
      scratch.cleanup();
    },
  };
}

/** The request sequence of one event (HandleEvent, then one Step per non-terminal PDK call) and the server's replies. */
export interface EventScript {
  requests: RequestTemplate[];
  /** Decoded replies the server sent for one event, in order (for the codec micro-benchmark). */
  replies: unknown[];
  methods: string[];
}

/**
 * Learns the event flow by running one event with the replies decoded, and checks that event ids are predicted
 * correctly; the timed runs then replay it without decoding anything.
 */
export async function learnScript(server: InProcessServer, eventName = 'access'): Promise<EventScript> {
  const handle = new RequestTemplate('plugin.HandleEvent', { InstanceId: server.instanceId, EventName: eventName });
  const requests = [handle];
  const replies: unknown[] = [];
  const methods: string[] = [];
  const eventId = server.nextEventId();
  await new Promise<void>((resolve, reject) => {
    const connection = server.connect((data) => {
      const message = decode(data) as [number, number, unknown, EventReply];
      replies.push(message);
      if (message[2] != null) return reject(new Error(`${server.label}: ${String(message[2])}`));
      const reply = message[3];
      if (reply.EventId !== eventId) return reject(new Error(`${server.label}: event id ${reply.EventId}, predicted ${eventId}`));
      const call = pdkCallOf(reply);
      if (!call || TERMINAL_CALLS.has(call.Method)) return resolve();
      methods.push(call.Method);
      const answer = KONG_ANSWERS[call.Method];
      const step = new RequestTemplate('plugin.Step', answer === undefined ? { EventId: 0 } : { EventId: 0, Data: answer });
      requests.push(step);
      setImmediate(() => connection.feed(step.build(requests.length, eventId)));
    });
    connection.feed(handle.build(1));
  });
  return { requests, replies, methods };
}

export interface InProcessResult {
  events: number;
  cpuUsPerEvent: number;
  wallUsPerEvent: number;
}

/** Replays `script` for `events` events with `lanes` in flight; each reply triggers the lane's next request. */
export function driveInProcess(server: InProcessServer, script: EventScript, lanes: number, events: number): Promise<InProcessResult> {
  const steps = script.requests.length;
  interface Lane {
    connection: FakeConnection;
    step: number;
    eventId: number;
  }
  let ready: Lane[] = [];
  let errors = 0;
  const laneList: Lane[] = [];
  for (let i = 0; i < lanes; i++) {
    const lane: Lane = { connection: undefined as unknown as FakeConnection, step: 0, eventId: 0 };
    // Replies are [1, msgid=1, error, result]: byte 3 is nil (0xc0) unless the server answered with an error.
    lane.connection = server.connect((data) => {
      if (data[3] !== 0xc0) errors++;
      ready.push(lane);
    });
    laneList.push(lane);
  }
  let started = 0;
  let done = 0;
  const advance = (lane: Lane): void => {
    if (lane.step === steps) {
      done++;
      lane.step = 0;
    }
    if (lane.step === 0) {
      if (started === events) return;
      started++;
      lane.eventId = server.nextEventId();
      lane.step = 1;
      lane.connection.feed(script.requests[0].build(1));
      return;
    }
    const request = script.requests[lane.step++];
    lane.connection.feed(request.build(1, lane.eventId));
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`${server.label}: in-process run stalled at ${done}/${events}`)), 60_000);
    const tick = () => {
      try {
        while (ready.length) {
          const batch = ready;
          ready = [];
          for (const lane of batch) advance(lane);
        }
      } catch (err) {
        clearTimeout(guard);
        return reject(err as Error);
      }
      if (done === events) {
        clearTimeout(guard);
        if (errors) return reject(new Error(`${server.label}: ${errors} error replies during the in-process run`));
        const cpu = process.cpuUsage(cpu0);
        return resolve({ events, cpuUsPerEvent: (cpu.user + cpu.system) / events, wallUsPerEvent: ((performance.now() - t0) * 1000) / events });
      }
      setImmediate(tick);
    };
    for (const lane of laneList) advance(lane);
    setImmediate(tick);
  });
}

/** A server that answers every request at once with a fixed reply: the cost of the fake Kong side itself. */
export function nullServer(): InProcessServer {
  const reply = Buffer.from(encode([1, 1, undefined, { Data: 'ret', EventId: 0 }]));
  let eventId = 0;
  return {
    label: 'null',
    instanceId: 0,
    nextEventId: () => eventId++,
    connect(onWrite) {
      return { feed: () => onWrite(reply) };
    },
    close() {},
  };
}

export interface CodecCost {
  decodeUs: number;
  encodeUs: number;
}

/** Our codec on one event's messages: StreamDecoder for the requests, the shared encoder for the replies. */
export function ourCodecCost(script: EventScript, iterations: number): CodecCost {
  const requests = script.requests.map((r, i) => r.build(i + 1, 1));
  const decoder = new StreamDecoder();
  let sink = 0;
  const onValue = (v: unknown) => {
    sink += (v as unknown[]).length;
  };
  const decodeUs = perIteration(iterations, () => {
    for (const request of requests) decoder.push(request, onValue);
  });
  // as the server writes them: PDK calls and final answers through the event-reply encoders
  const replies = (script.replies as Array<[number, number, unknown, EventReply]>).map(([, msgid, , result]) => ({ msgid, result }));
  const encodeUs = perIteration(iterations, () => {
    for (const { msgid, result } of replies) {
      const call = pdkCallOf(result);
      const bytes = call
        ? encodeCallReply(msgid, result.EventId!, call.Method, call.Args)
        : encodeDataReply(msgid, result.EventId!, result.Data);
      sink += bytes.length;
    }
  });
  if (sink === 0) throw new Error('codec loop optimised away');
  return { decodeUs, encodeUs };
}

/** kong-pdk's codec on the same messages: its listener decodes each chunk with decode() and encodes with an Encoder. */
export function stockCodecCost(script: EventScript, iterations: number): CodecCost {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const msgpack = require(require.resolve('@msgpack/msgpack', { paths: [path.dirname(require.resolve('kong-pdk/listener'))] }));
  /* eslint-enable @typescript-eslint/no-require-imports */
  const requests = script.requests.map((r, i) => r.build(i + 1, 1));
  const decoder = new msgpack.Decoder();
  const encoder = new msgpack.Encoder();
  let sink = 0;
  const decodeUs = perIteration(iterations, () => {
    for (const request of requests) sink += (decoder.decode(request) as unknown[]).length;
  });
  const replies = script.replies as unknown[][];
  const encodeUs = perIteration(iterations, () => {
    for (const reply of replies) sink += (encoder.encode([1, reply[1], undefined, reply[3]]) as Uint8Array).length;
  });
  if (sink === 0) throw new Error('codec loop optimised away');
  return { decodeUs, encodeUs };
}

function perIteration(iterations: number, body: () => void): number {
  for (let i = 0; i < Math.min(5000, iterations); i++) body();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) body();
  return ((performance.now() - t0) * 1000) / iterations;
}
