import fs from 'node:fs';
import net from 'node:net';
import { childLogger } from '../observability/log';
import { StreamDecoder } from './codec';
import { sendError } from './events';
import type { PluginServer } from './plugin-server';

/**
 * Serves a PluginServer on a unix socket. Kong sends one request per connection at a time, but every complete
 * value in a chunk is dispatched, so a pipelining client is served instead of crashing the process.
 */
export function listen(server: PluginServer, socketPath: string): Promise<net.Server> {
  const log = childLogger({ component: 'socket-listener', socket: socketPath });
  removeStaleSocket(socketPath);
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay?.(true);
    const decoder = new StreamDecoder();
    const onValue = (message: unknown) => {
      if (!Array.isArray(message) || message[0] !== 0 || typeof message[2] !== 'string') {
        log.warn('malformed request dropped');
        return;
      }
      const reply = { socket, msgid: message[1] as number };
      try {
        server.dispatch(message[2], message[3], reply);
      } catch (err) {
        log.error({ err }, 'dispatch failed');
        sendError(reply, err instanceof Error ? err.message : String(err));
      }
    };
    socket.on('data', (chunk) => {
      try {
        decoder.push(chunk, onValue);
      } catch (err) {
        log.warn({ error: (err as Error).message }, 'undecodable data, closing connection');
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  (listener as net.Server & { connectedSockets?: Set<net.Socket> }).connectedSockets = sockets;
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(socketPath, () => {
      listener.off('error', reject);
      log.info('listening');
      resolve(listener);
    });
  });
}

export function connectedSockets(listener: net.Server): Set<net.Socket> {
  return (listener as net.Server & { connectedSockets?: Set<net.Socket> }).connectedSockets ?? new Set();
}

/** A socket file left by an earlier server process is replaced, as kong-pdk does (Kong respawns crashed servers). */
function removeStaleSocket(socketPath: string): void {
  try {
    fs.unlinkSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
