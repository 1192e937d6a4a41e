import net from 'node:net';
import { Decoder, Encoder } from '@msgpack/msgpack';

/** An error string the plugin server answered with (Kong's `return nil, data[3]`). */
export class RpcError extends Error {
  override get name(): string {
    return 'RpcError';
  }
}

/**
 * A broken protocol invariant: Kong asserts the answer is a response (type 1) with the request's msgid; the failed
 * assert is a Lua error, so the plugin's phase fails with 500 instead of being logged and skipped.
 */
export class RpcAssertError extends RpcError {
  override get name(): string {
    return 'RpcAssertError';
  }
}

interface PooledConnection {
  socket: net.Socket;
  chunks: ChunkQueue;
  pending: { msgid: number; resolve(v: unknown): void; reject(e: Error): void; received(): void } | undefined;
  idleTimer?: NodeJS.Timeout;
}

/** lua_socket_keepalive_timeout's default: Kong's setkeepalive() closes a pooled connection idle this long. */
const KEEPALIVE_MS = 60_000;

/**
 * The socket's bytes as an async iterable for @msgpack/msgpack's stream decoder: an independent decoder, so a bug
 * in the server's own codec (shared/server/codec) cannot hide behind the same bug here.
 */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  private readonly queued: Uint8Array[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(chunk: Uint8Array): void {
    this.queued.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const next = this.queued.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

// Lua nil fields are absent from maps: {EventId=1, Data=nil} packs as a one-key map.
/** Sees every message in both directions: 'K->P' (Kong to plugin server) and 'P->K'. */
export type RpcTrace = (direction: 'K->P' | 'P->K', message: unknown) => void;

const encoder = new Encoder({ ignoreUndefined: true });

/**
 * Kong's side of one plugin server's socket for one nginx worker (`Rpc` in mp_rpc.lua): a msgid counter, one
 * connection per call taken from a keepalive pool (256 per worker, like lua_socket_pool_size), exactly one request
 * in flight per connection, and the response's msgid checked against the request's.
 */
export class RpcClient {
  private msgid = 0;
  private readonly idle: PooledConnection[] = [];
  private readonly all = new Set<PooledConnection>();
  callCount = 0;

  constructor(
    readonly socketPath: string,
    private readonly options: { poolSize?: number; timeoutMs?: number; keepaliveMs?: number; trace?: RpcTrace; onNotification?: (label: string, args: unknown) => void } = {},
  ) {}

  async call(method: string, ...args: unknown[]): Promise<unknown> {
    const msgid = ++this.msgid;
    const connection = this.takeIdle() ?? (await this.connect());
    this.callCount++;
    return new Promise((resolve, reject) => {
      // ngx.socket's read timeout applies to each receive, not to the whole answer
      const timeoutMs = this.options.timeoutMs ?? 60_000;
      const expire = () => {
        connection.pending = undefined;
        connection.socket.destroy();
        reject(new RpcError('timeout'));
      };
      let timer = setTimeout(expire, timeoutMs);
      connection.pending = {
        msgid,
        received: () => {
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
        },
        resolve: (value) => {
          clearTimeout(timer);
          this.release(connection);
          resolve(value);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const request = [0, msgid, method, args];
      this.options.trace?.('K->P', request);
      connection.socket.write(encoder.encode(request));
    });
  }

  close(): void {
    for (const connection of this.all) connection.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private takeIdle(): PooledConnection | undefined {
    const connection = this.idle.pop();
    if (connection) clearTimeout(connection.idleTimer);
    return connection;
  }

  private release(connection: PooledConnection): void {
    if (connection.socket.destroyed) return;
    if (this.idle.length < (this.options.poolSize ?? 256)) {
      this.idle.push(connection);
      connection.idleTimer = setTimeout(() => connection.socket.end(), this.options.keepaliveMs ?? KEEPALIVE_MS);
      connection.idleTimer.unref();
    } else {
      this.all.delete(connection);
      connection.socket.end();
    }
  }

  private connect(): Promise<PooledConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const connection: PooledConnection = { socket, chunks: new ChunkQueue(), pending: undefined };
      const onValue = (message: unknown) => {
        this.options.trace?.('P->K', message);
        if (Array.isArray(message) && message[0] === 2) {
          // a notification [2, label, args] (mp_rpc.lua: Rpc:notification); Kong keeps reading for its answer
          this.options.onNotification?.(String(message[1]), message[2]);
          return;
        }
        const pending = connection.pending;
        connection.pending = undefined;
        if (!pending) return;
        const [type, msgid, error, result] = message as [number, number, unknown, unknown];
        if (type !== 1) {
          socket.destroy();
          return pending.reject(new RpcAssertError('RPC response expected from Go plugin server'));
        }
        if (msgid !== pending.msgid) {
          socket.destroy();
          return pending.reject(new RpcAssertError(`unexpected RPC response ID from Go plugin server (${msgid} != ${pending.msgid})`));
        }
        if (error !== null && error !== undefined) {
          this.release(connection);
          return pending.reject(new RpcError(String(error)));
        }
        pending.resolve(result);
      };
      const decoding = async () => {
        for await (const message of new Decoder().decodeStream(connection.chunks)) onValue(message);
      };
      decoding().catch((err: Error) => socket.destroy(err));
      socket.on('data', (chunk: Buffer) => {
        connection.pending?.received();
        connection.chunks.push(chunk);
      });
      socket.on('close', () => {
        connection.chunks.end();
        clearTimeout(connection.idleTimer);
        this.all.delete(connection);
        const idleAt = this.idle.indexOf(connection);
        if (idleAt >= 0) this.idle.splice(idleAt, 1);
        connection.pending?.reject(new RpcError('no data'));
        connection.pending = undefined;
      });
      let connected = false;
      socket.once('connect', () => {
        connected = true;
        this.all.add(connection);
        resolve(connection);
      });
      // after connecting, errors surface through 'close' (the pending call rejects with "no data", as in Kong)
      socket.on('error', (err) => {
        if (!connected) reject(err);
      });
    });
  }
}
