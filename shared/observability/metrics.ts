import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { rootLogger } from './log';

/**
 * One registry per process, shared by the plugin server and every plugin instance in it.
 * Metric objects are created once at module load (get-or-create), never per request.
 */
export const registry = new Registry();
let defaultsCollected = false;

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as unknown as T | undefined;
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return existing<Counter<L>>(name) ?? new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return existing<Gauge<L>>(name) ?? new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets?: number[],
): Histogram<L> {
  return existing<Histogram<L>>(name) ?? new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

/**
 * Keeps a label's cardinality bounded: the first `limit` distinct values pass, later ones collapse to `overflow`.
 * Unbounded label values (consumer ids, tenants) would otherwise grow the registry without limit.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(
    private readonly limit: number,
    private readonly overflow = '__other__',
  ) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.limit) return this.overflow;
    this.seen.add(raw);
    return raw;
  }
}

/** Serves GET /metrics on 127.0.0.1:<port> (0 picks a free port). Resolves with the bound server. */
export function serveMetrics(port: number, host = '127.0.0.1'): Promise<http.Server> {
  if (!defaultsCollected) {
    collectDefaultMetrics({ register: registry });
    defaultsCollected = true;
  }
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.unref();
      rootLogger.info({ address: server.address() }, 'metrics endpoint listening');
      resolve(server);
    });
  });
}

/** A gauge read at scrape time from a plain counter: no prom-client work on the hot path. */
export function sampledGauge(name: string, help: string, read: () => number): Gauge {
  return (
    existing<Gauge>(name) ??
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    })
  );
}
