import type http from 'node:http';
import type { DemoUpstream } from './demo-upstream';

/**
 * The demo JSON API behind kong.yml's `demo-json-api` service (route /demo): a small orders API plus an echo
 * endpoint. Every path also answers under a version prefix (/v1/..., /v2/...), reported as `api_version`, so
 * versioning plugins can be tried against it.
 *
 *   GET  /health              {"status":"ok"}
 *   GET  /orders              the orders (?status=, ?limit=)
 *   GET  /orders/:id          one order, or 404
 *   POST /orders              201, the JSON body echoed back as a new order (nothing is stored)
 *   ANY  /anything[/...]      what reached the upstream: method, path, query, headers, body
 */

interface Order {
  id: string;
  status: 'pending' | 'shipped' | 'delivered';
  total: number;
  currency: string;
  customer: { name: string; email: string; phone: string };
  items: Array<{ sku: string; quantity: number; price: number }>;
}

const ORDERS: readonly Order[] = Object.freeze([
  { id: 'ord_1001', status: 'shipped', total: 59.9, currency: 'EUR', customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0018' }, items: [{ sku: 'BOOK-042', quantity: 2, price: 29.95 }] },
  { id: 'ord_1002', status: 'pending', total: 12.5, currency: 'EUR', customer: { name: 'Alan Turing', email: 'alan@example.org', phone: '+44 161 496 0732' }, items: [{ sku: 'MUG-007', quantity: 1, price: 12.5 }] },
  { id: 'ord_1003', status: 'delivered', total: 249, currency: 'USD', customer: { name: 'Grace Hopper', email: 'grace@example.net', phone: '+1 202 555 0147' }, items: [{ sku: 'KBD-101', quantity: 1, price: 249 }] },
]);

const VERSION_PREFIX = /^\/(v\d+)(?=\/|$)/;

function send(response: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(payload);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  response.end(body);
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return query;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function echo(request: http.IncomingMessage, url: URL, body: Buffer, apiVersion: string | null) {
  const isJson = /\bjson\b/i.test(request.headers['content-type'] ?? '');
  const json = isJson && body.length ? parseJson(body) : { ok: false as const };
  return {
    method: request.method,
    path: url.pathname,
    api_version: apiVersion,
    query: queryObject(url.searchParams),
    raw_query: url.search.slice(1),
    headers: request.headers,
    body: body.toString('utf8'),
    json: json.ok ? json.value : null,
  };
}

function listOrders(params: URLSearchParams): Order[] {
  const status = params.get('status');
  const limit = Number(params.get('limit') ?? ORDERS.length);
  const matching = status ? ORDERS.filter((o) => o.status === status) : ORDERS;
  return matching.slice(0, Number.isInteger(limit) && limit >= 0 ? limit : ORDERS.length);
}

function handle(request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://json-api.local');
  const version = VERSION_PREFIX.exec(url.pathname);
  const apiVersion = version ? version[1] : null;
  const path = (version ? url.pathname.slice(version[0].length) : url.pathname) || '/';
  const method = request.method ?? 'GET';
  const versionHeader: Record<string, string> = apiVersion ? { 'X-API-Version': apiVersion } : {};

  if (path === '/anything' || path.startsWith('/anything/')) return send(response, 200, echo(request, url, body, apiVersion), versionHeader);
  if (path === '/health') return send(response, 200, { status: 'ok', api_version: apiVersion }, versionHeader);
  if (path === '/orders') {
    if (method === 'GET') {
      const orders = listOrders(url.searchParams);
      return send(response, 200, { api_version: apiVersion, count: orders.length, orders }, versionHeader);
    }
    if (method === 'POST') {
      const parsed = parseJson(body);
      if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
        return send(response, 400, { error: 'request body must be a JSON object' }, versionHeader);
      }
      const order = { id: 'ord_new', status: 'pending', ...(parsed.value as Record<string, unknown>), created_at: new Date().toISOString() };
      return send(response, 201, { api_version: apiVersion, order }, { ...versionHeader, Location: `${apiVersion ? `/${apiVersion}` : ''}/orders/ord_new` });
    }
    return send(response, 405, { error: `method ${method} not allowed on /orders` }, { ...versionHeader, Allow: 'GET, POST' });
  }
  const orderPath = /^\/orders\/([^/]+)$/.exec(path);
  if (orderPath) {
    if (method !== 'GET') return send(response, 405, { error: `method ${method} not allowed on /orders/:id` }, { ...versionHeader, Allow: 'GET' });
    const order = ORDERS.find((o) => o.id === orderPath[1]);
    if (!order) return send(response, 404, { error: `order ${orderPath[1]} not found` }, versionHeader);
    return send(response, 200, { api_version: apiVersion, order }, versionHeader);
  }
  return send(response, 404, { error: 'not found', path: url.pathname }, versionHeader);
}

export const jsonApi: DemoUpstream = { name: 'json-api', port: 9101, handle };
