import type http from 'node:http';
import type { KongEmulator } from '../emulator/kong';
import type { ClientRequest, EmulatedResponse } from '../emulator/request-context';
import { errorFields, type Logger } from '../../shared/observability/log';

const NO_BODY_STATUSES = new Set([204, 304]);

/** Request headers with every value kept (repeated headers stay separate values), names merged case-insensitively. */
export function requestHeaders(rawHeaders: readonly string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  const nameFor = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i].toLowerCase();
    let name = nameFor.get(lower);
    if (!name) {
      name = rawHeaders[i];
      nameFor.set(lower, name);
      headers[name] = [];
    }
    headers[name].push(rawHeaders[i + 1]);
  }
  return headers;
}

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as nginx's $remote_addr shows it: `127.0.0.1`. */
export function clientAddress(remote: string | undefined): string {
  if (!remote) return '127.0.0.1';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

/** What the emulator needs from a node request: the request line, every header, the body and both addresses. */
export function toClientRequest(request: http.IncomingMessage, body: Buffer): ClientRequest {
  const headers = requestHeaders(request.rawHeaders);
  const hostHeader = request.headers.host;
  return {
    method: request.method ?? 'GET',
    path: request.url ?? '/',
    headers,
    body,
    clientIp: clientAddress(request.socket.remoteAddress),
    scheme: 'http',
    host: hostHeader ? hostHeader.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : (request.socket.localAddress ?? 'localhost'),
    port: request.socket.localPort ?? 8000,
  };
}

/** Writes the emulated response: status, every header value in its casing, and the body unless HEAD/204/304. */
export function writeResponse(method: string, emulated: EmulatedResponse, response: http.ServerResponse): void {
  const bodiless = NO_BODY_STATUSES.has(emulated.status);
  for (const [name, values] of emulated.headers.rawEntries()) {
    if (bodiless && name.toLowerCase() === 'content-length') continue;
    response.setHeader(name, values.length === 1 ? values[0] : values);
  }
  response.statusCode = emulated.status;
  response.end(method === 'HEAD' || bodiless ? undefined : emulated.body);
}

export interface HttpBridge {
  listener: http.RequestListener;
  /** Requests (including their log phase) still running. */
  readonly inFlight: number;
  /** Resolves once every request and log phase in flight has finished, or after timeoutMs. */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * The node:http side of the dev gateway: each request goes through the emulator's rewrite/access/proxy/response
 * phases, is written back, and its log phase then runs in the background like Kong's log timer.
 */
export function createHttpBridge(kong: KongEmulator, log: Logger): HttpBridge {
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const serve = async (request: http.IncomingMessage, response: http.ServerResponse, body: Buffer): Promise<void> => {
    const started = Date.now();
    const method = (request.method ?? 'GET').toUpperCase();
    let handled;
    try {
      handled = await kong.handle(toClientRequest(request, body));
    } catch (err) {
      log.error({ ...errorFields(err), method, url: request.url }, 'request failed in the emulator');
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ message: 'An unexpected error occurred' }));
      return;
    }
    writeResponse(method, handled.response, response);
    log.debug({ method, url: request.url, status: handled.response.status, source: handled.response.source, ms: Date.now() - started }, 'request');
    await handled.logged.catch((err: unknown) => log.error(errorFields(err), 'log phase failed'));
  };

  const listener: http.RequestListener = (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', (err) => log.warn(errorFields(err), 'client request aborted'));
    request.on('end', () => track(serve(request, response, Buffer.concat(chunks))));
  };

  return {
    listener,
    get inFlight() {
      return pending.size;
    },
    async drain(timeoutMs: number) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.allSettled([...pending]).then(() => undefined), timeout]);
      clearTimeout(timer);
    },
  };
}
