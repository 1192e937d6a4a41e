import net from 'node:net';

export interface RedisProbe {
  host: string;
  port: number;
  reachable: boolean;
  /** Why not, when not reachable. */
  detail?: string;
}

/**
 * Is a Redis server answering at host:port? Sends one inline PING and waits for a reply line: `+PONG`, or an
 * error such as `-NOAUTH` (a Redis that wants a password is still a Redis). Never throws.
 */
export function probeRedis(host: string, port: number, timeoutMs = 500): Promise<RedisProbe> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host, port });
    let reply = '';
    const done = (reachable: boolean, detail?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ host, port, reachable, ...(detail ? { detail } : {}) });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (!reply.includes('\r\n')) return;
      if (reply.startsWith('+PONG') || reply.startsWith('-')) done(true);
      else done(false, `unexpected reply ${JSON.stringify(reply.slice(0, 40))}: not Redis`);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
    socket.once('close', () => done(false, 'connection closed without a reply'));
  });
}
