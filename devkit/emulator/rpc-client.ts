import net from 'node:net';
import { Encoder } from '@msgpack/msgpack';
import { StreamDecoder } from '../../shared/server/codec';

/** An error string the plugin server answered with (Kong's `return nil, data[3]`). */
export class RpcError extends Error {
  override get name(): string {
    return 'RpcError';
  }
}

interface PooledConnection {
  socket: net.Socket;
  decoder: StreamDecoder;
  pending: { msgid: number; resolve(v: unknown): void; reject(e: Error): void } | undefined;
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
    private readonly options: { poolSize?: number; timeoutMs?: number; trace?: RpcTrace; onNotification?: (label: string, args: unknown) => void } = {},
  ) {}

  async call(method: string, ...args: unknown[]): Promise<unknown> {
    const msgid = ++this.msgid;
    const connection = this.idle.pop() ?? (await this.connect());
    this.callCount++;
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.timeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        connection.pending = undefined;
        connection.socket.destroy();
        reject(new RpcError('timeout'));
      }, timeoutMs);
      connection.pending = {
        msgid,
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

  private release(connection: PooledConnection): void {
    if (connection.socket.destroyed) return;
    if (this.idle.length < (this.options.poolSize ?? 256)) this.idle.push(connection);
    else {
      this.all.delete(connection);
      connection.socket.end();
    }
  }

  private connect(): Promise<PooledConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const connection: PooledConnection = { socket, decoder: new StreamDecoder(), pending: undefined };
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
        if (type !== 1 || msgid !== pending.msgid) {
          socket.destroy();
          return pending.reject(new RpcError(`unexpected RPC response ID from plugin server (${msgid} != ${pending.msgid})`));
        }
        if (error !== null && error !== undefined) {
          this.release(connection);
          return pending.reject(new RpcError(String(error)));
        }
        pending.resolve(result);
      };
      socket.on('data', (chunk) => {
        try {
          connection.decoder.push(chunk, onValue);
        } catch (err) {
          socket.destroy(err as Error);
        }
      });
      socket.on('close', () => {
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
