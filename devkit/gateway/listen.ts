import type http from 'node:http';

/** A startup failure with a message meant for the developer as is (no stack trace needed). */
export class GatewayStartError extends Error {
  override readonly name = 'GatewayStartError';
}

/** server.listen as a promise; a busy or forbidden address becomes a GatewayStartError that says what to do. */
export function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new GatewayStartError(`${host}:${port} is already in use`));
      else if (err.code === 'EACCES') reject(new GatewayStartError(`no permission to listen on ${host}:${port}`));
      else if (err.code === 'EADDRNOTAVAIL') reject(new GatewayStartError(`${host} is not an address of this machine`));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
