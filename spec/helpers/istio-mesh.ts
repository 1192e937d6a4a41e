import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import YAML from 'yaml';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS, type ServerKind } from '../../devkit/emulator/plugin-server-process';
import { startKong, startUpstream, type TestUpstream } from './kong-harness';

/**
 * Real local peers for istio-policy-sync tests: a JWKS server (the issuer's keys, with a fetch counter), an
 * ext_authz HTTP provider (decides on the `x-ext-authz` header: allow, deny, slow), and the conformance runner that
 * drives a table of cases (policy + request -> decision) through the built plugin in the Kong emulator.
 */

export const ISSUER = 'https://issuer.example.com';
export const OTHER_ISSUER = 'https://other.example.com';

/** JWT claims (jose is ESM-only: jest cannot load it, so tests sign with node:crypto). */
export type JWTPayload = Record<string, unknown>;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function signRs256(claims: JWTPayload, key: crypto.KeyObject, kid: string): string {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.sign('sha256', Buffer.from(input), key))}`;
}

export interface Jwks {
  url: string;
  fetches: number;
  sign(claims: JWTPayload, options?: { expiresIn?: number; kid?: string; foreignKey?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function startJwks(): Promise<Jwks> {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const state = { fetches: 0 };
  const server = http.createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return {
    url,
    get fetches() {
      return state.fetches;
    },
    sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const exp = typeof options.expiresIn === 'number' ? options.expiresIn : now + 3600;
      return Promise.resolve(signRs256({ iat: now, exp, ...claims }, options.foreignKey ? foreign.privateKey : privateKey, options.kid ?? 'k1'));
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface ExtAuthz {
  host: string;
  port: number;
  checks: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** `x-ext-authz: allow` -> 200 with x-ext-authz-check-result and x-user; `slow` -> answers after 2 s; else 403 with a body. */
export async function startExtAuthz(): Promise<ExtAuthz> {
  const checks: ExtAuthz['checks'] = [];
  const server = http.createServer((req, res) => {
    checks.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const verdict = req.headers['x-ext-authz'];
    if (verdict === 'slow') {
      setTimeout(() => {
        res.writeHead(200);
        res.end();
      }, 2000).unref();
      return;
    }
    if (verdict === 'allow') {
      res.writeHead(200, { 'x-ext-authz-check-result': 'allowed', 'x-user': 'alice', 'x-not-forwarded': 'x', 'set-cookie': ['session=s1; Path=/', 'csrf=c1; Path=/'] });
      return res.end();
    }
    const denial = 'denied by ext_authz for header x-ext-authz';
    res.writeHead(403, { 'x-ext-authz-check-result': 'denied', 'content-type': 'text/plain', 'content-length': String(denial.length) });
    res.end(denial);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    checks,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Only this plugin in the plugin directory. */
export function istioPluginDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-plugins-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'istio-policy-sync'), path.join(dir, 'istio-policy-sync'));
  return dir;
}

// ---- conformance table -------------------------------------------------------------------------------------------

export interface CaseRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  client_ip?: string;
  /** Claims of a token signed by the local issuer, sent as `Authorization: Bearer`. */
  jwt?: JWTPayload & { _expired?: boolean; _foreign_key?: boolean; _header?: string; _prefix?: string; _param?: string; _cookie?: string };
}

export interface ConformanceCase {
  name: string;
  /** Where the expectation comes from (Istio docs URL, section). */
  source: string;
  rule: string;
  /** Manifests (objects), `{{JWKS}}` in strings replaced by the local JWKS URL. */
  policies: Record<string, unknown>[];
  workload?: Record<string, unknown>;
  kong_identity?: Record<string, unknown>;
  root_namespace?: string;
  request?: CaseRequest;
  expect: { decision: 'allow' | 'deny' | 'unknown'; status?: number; policy?: string; reason?: string };
}

export const DEFAULT_WORKLOAD = { namespace: 'foo', labels: { app: 'httpbin' }, port: 8000, host: 'httpbin.foo.svc.cluster.local:8000' };
export const DEFAULT_IDENTITY = { principal: 'cluster.local/ns/kong/sa/kong', pod_ip: '10.0.0.5' };

export function loadCases(dir: string): ConformanceCase[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => YAML.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ConformanceCase[]);
}

function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  return value;
}

export interface ConformanceRun {
  kong: KongEmulator;
  upstream: TestUpstream;
  jwks: Jwks;
  extAuthz: ExtAuthz;
  /** Runs one case through the plugin: the dry_run route (decision header upstream) and the enforce route (status). */
  run(index: number): Promise<{ decision: string; header: string; status: number; body: Record<string, unknown> | undefined }>;
  close(): Promise<void>;
}

export async function startConformance(kind: ServerKind, cases: ConformanceCase[], pluginsDir: string): Promise<ConformanceRun> {
  const upstream = await startUpstream();
  const jwks = await startJwks();
  const extAuthz = await startExtAuthz();
  const vars = { JWKS: jwks.url, EXT_AUTHZ_HOST: extAuthz.host, EXT_AUTHZ_PORT: String(extAuthz.port) };
  const providers = [
    { name: 'ext-authz-http', envoy_ext_authz_http: { service: extAuthz.host, port: extAuthz.port, include_request_headers_in_check: ['x-ext-authz'], headers_to_upstream_on_allow: ['x-ext-authz-check-result', 'x-user'], headers_to_downstream_on_deny: ['x-ext-authz-check-result'], timeout_ms: 500 } },
    { name: 'ext-authz-open', envoy_ext_authz_http: { service: extAuthz.host, port: extAuthz.port, include_request_headers_in_check: ['x-ext-authz'], timeout_ms: 300, fail_open: true } },
    { name: 'ext-authz-closed', envoy_ext_authz_http: { service: extAuthz.host, port: extAuthz.port, include_request_headers_in_check: ['x-ext-authz'], timeout_ms: 300, status_on_error: 503 } },
  ];
  const routes = cases.flatMap((c, i) => {
    const manifests = (substitute(c.policies, vars) as Record<string, unknown>[]).map((p) => YAML.stringify(p)).join('---\n');
    const config = (mode: string) => ({
      source: { kind: 'inline', manifests: manifests || '# none\n' },
      workload: { ...DEFAULT_WORKLOAD, ...(c.workload ?? {}), strip_prefix: `/${mode}/c${i}` },
      kong_identity: c.kong_identity ?? DEFAULT_IDENTITY,
      root_namespace: c.root_namespace ?? 'istio-system',
      extension_providers: providers,
      mode,
      audit_log: false,
    });
    return ['dry_run', 'enforce'].map((mode) => ({ name: `${mode}-c${i}`, paths: [`/${mode}/c${i}/`], strip_path: true, plugins: [{ name: 'istio-policy-sync', config: config(mode) }] }));
  });
  const kong = await startKong({ kind, pluginsDir, workers: 1, config: { _format_version: '3.0', services: [{ name: 'httpbin', url: upstream.url, routes }] } });

  const send = async (c: ConformanceCase, mode: string, index: number) => {
    const r = c.request ?? {};
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    let query = '';
    if (r.jwt) {
      const { _expired, _foreign_key, _header, _prefix, _param, _cookie, ...claims } = r.jwt;
      const token = await jwks.sign({ iss: ISSUER, sub: 'alice', ...claims }, { expiresIn: _expired ? Math.floor(Date.now() / 1000) - 3600 : undefined, foreignKey: Boolean(_foreign_key) });
      if (_param) query = `?${_param}=${token}`;
      else if (_cookie) headers.cookie = `${_cookie}=${token}`;
      else headers[_header ?? 'authorization'] = `${_prefix ?? 'Bearer '}${token}`;
    }
    const p = r.path ?? '/ip';
    const sep = query && p.includes('?') ? '&' + query.slice(1) : query;
    return kong.request({ method: r.method ?? 'GET', path: `/${mode}/c${index}${p}${sep}`, headers, clientIp: r.client_ip ?? '203.0.113.7' });
  };

  return {
    kong,
    upstream,
    jwks,
    extAuthz,
    async run(index) {
      const c = cases[index];
      const before = upstream.requests.length;
      const dry = await send(c, 'dry_run', index);
      const reached = upstream.requests.slice(before).pop();
      const header = (reached?.headers['x-mesh-authz-decision'] as string | undefined) ?? `(not proxied: ${dry.status} ${dry.body.toString('utf8').slice(0, 200)})`;
      const enforced = await send(c, 'enforce', index);
      let body: Record<string, unknown> | undefined;
      if (enforced.headers.get('content-type') === 'application/problem+json') body = JSON.parse(enforced.body.toString('utf8')) as Record<string, unknown>;
      return { decision: header.split(';')[0], header, status: enforced.status, body };
    },
    async close() {
      await kong.close();
      await Promise.all([upstream.close(), jwks.close(), extAuthz.close()]);
    },
  };
}
