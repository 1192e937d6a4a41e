import type http from 'node:http';

/**
 * A demo upstream the dev gateway (`npm start`) starts on 127.0.0.1:<port>, next to the plugin servers.
 * kong.yml's demo services point at these ports. Each plugin that needs its own kind of upstream (a SOAP service,
 * a JSON API returning PII, ...) adds one module under devkit/upstreams/ and lists it in ./index.ts.
 */
export interface DemoUpstream {
  name: string;
  port: number;
  /** Plain node:http handler; return a promise when the handler is async. */
  handle(request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void | Promise<void>;
}
