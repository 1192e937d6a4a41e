import http from 'node:http';
import https from 'node:https';

/**
 * Plain HTTP against a base URL (the dev gateway or a real Kong): what a client sees, nothing else. Every request
 * has a deadline, a fresh connection (no agent: one test's keep-alive socket never carries another's request) and
 * its body read whole as bytes.
 */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
}

export interface RequestOptions {
  method?: string;
  /** An object, or a flat [name, value, name, value, ...] list to send one header several times. */
  headers?: http.OutgoingHttpHeaders | string[];
  body?: string | Buffer;
  timeoutMs?: number;
}

export const REQUEST_TIMEOUT_MS = 5_000;

export function request(baseUrl: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const url = new URL(path, baseUrl);
  const client = url.protocol === 'https:' ? https : http;
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = client.request(
      { protocol: url.protocol, hostname: url.hostname, port: url.port, method: options.method ?? 'GET', path: url.pathname + url.search, headers: options.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${options.method ?? 'GET'} ${url.href}: no complete answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function json(reply: Reply): any {
  try {
    return JSON.parse(reply.text);
  } catch {
    throw new Error(`expected a JSON body, got ${reply.status} ${JSON.stringify(reply.text.slice(0, 300))}`);
  }
}

/** A header's single value (fails the test when it is absent or repeated where one value is meant). */
export function header(reply: Reply, name: string): string {
  const value = reply.headers[name.toLowerCase()];
  if (typeof value !== 'string') throw new Error(`expected one ${name} header, got ${JSON.stringify(value)} (status ${reply.status})`);
  return value;
}
