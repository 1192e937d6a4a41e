import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { ISSUER, istioPluginDir, startExtAuthz, startJwks, type ExtAuthz, type Jwks } from '../helpers/istio-mesh';
import { freePort } from '../helpers/ports';

const WORKLOAD = { namespace: 'apis', labels: { app: 'orders' }, port: 8080, host: 'orders.apis.svc.cluster.local:8080' };
const KONG = { principal: 'cluster.local/ns/kong/sa/kong', pod_ip: '10.0.0.5' };

const denyDelete = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-delete, namespace: apis}
spec:
  selector: {matchLabels: {app: orders}}
  action: DENY
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
`;
const allowKong = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-kong, namespace: apis}
spec:
  rules: [{from: [{source: {principals: [cluster.local/ns/kong/sa/kong]}}], to: [{operation: {paths: [/orders, "/orders/{*}"]}}]}]
`;

/** A stand-in Kubernetes API server: LIST and WATCH (chunked JSON lines) for the three security.istio.io kinds. */
async function startApiServer() {
  const objects: Record<string, unknown[]> = { authorizationpolicies: [], requestauthentications: [], peerauthentications: [] };
  const watchers: { resource: string; res: http.ServerResponse }[] = [];
  let rv = 1;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const resource = url.pathname.split('/').pop() as string;
    if (req.headers.authorization !== 'Bearer test-token') {
      res.writeHead(401);
      return res.end();
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      watchers.push({ resource, res });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: String(rv) }, items: objects[resource] ?? [] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    emit(resource: string, type: 'ADDED' | 'DELETED', object: Record<string, any>) {
      object.metadata.resourceVersion = String(++rv);
      for (const w of watchers.filter((x) => x.resource === resource)) w.res.write(JSON.stringify({ type, object }) + '\n');
    },
    watching: (resource: string) => watchers.some((w) => w.resource === resource),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

describe.each(SERVER_KINDS)('istio-policy-sync through the Kong emulator (%s server)', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;
  let jwks: Jwks;
  let extAuthz: ExtAuthz;
  let api: Awaited<ReturnType<typeof startApiServer>>;
  let metricsPort: number;
  const dir = istioPluginDir();
  const policyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-policies-'));

  beforeAll(async () => {
    upstream = await startUpstream();
    jwks = await startJwks();
    extAuthz = await startExtAuthz();
    api = await startApiServer();
    metricsPort = await freePort();
    fs.writeFileSync(path.join(policyDir, 'deny.yaml'), denyDelete);
    const ra = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: apis}
spec:
  jwtRules: [{issuer: "${ISSUER}", jwksUri: "${jwks.url}", outputClaimToHeaders: [{header: x-tenant, claim: tenant}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: need-jwt, namespace: apis}
spec:
  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]
`;
    const custom = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: apis}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
`;
    const plugin = (config: Record<string, unknown>) => [{ name: 'istio-policy-sync', config: { workload: WORKLOAD, kong_identity: KONG, ...config } }];
    const opa = { name: 'opa', envoy_ext_authz_http: { service: extAuthz.host, port: extAuthz.port, path_prefix: '/check', include_request_headers_in_check: ['x-ext-authz'], headers_to_upstream_on_allow: ['x-user', 'content-*', 'connection', 'keep-alive'], headers_to_downstream_on_deny: ['x-ext-authz-check-result', 'content-*'], headers_to_downstream_on_allow: ['set-cookie'] } };
    kong = await startKong({
      kind,
      pluginsDir: dir,
      workers: 2,
      env: { KONG_PLUGINS_METRICS_PORT: String(metricsPort) },
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'orders',
            url: upstream.url,
            routes: [
              { name: 'inline', paths: ['/inline'], strip_path: true, plugins: plugin({ source: { manifests: denyDelete + '---\n' + allowKong }, workload: { ...WORKLOAD, strip_prefix: '/inline', service_path: '/orders' } }) },
              { name: 'dry', paths: ['/dry'], strip_path: true, plugins: plugin({ mode: 'dry_run', source: { manifests: denyDelete }, workload: { ...WORKLOAD, strip_prefix: '/dry' } }) },
              { name: 'dir', paths: ['/dir'], strip_path: true, plugins: plugin({ source: { kind: 'directory', directory: policyDir, reload_interval_ms: 50 } }) },
              { name: 'jwt', paths: ['/jwt'], strip_path: true, plugins: plugin({ source: { manifests: ra } }) },
              { name: 'custom', paths: ['/custom'], strip_path: true, plugins: plugin({ source: { manifests: custom }, extension_providers: [opa], workload: { ...WORKLOAD, strip_prefix: '/custom' } }) },
              { name: 'k8s', paths: ['/k8s'], strip_path: true, plugins: plugin({ source: { kind: 'kubernetes', api_server: api.url, token: 'test-token', namespaces: ['apis'] } }) },
              { name: 'none', paths: ['/none'], strip_path: true, plugins: plugin({ source: { manifests: '# no policies\n' } }) },
            ],
          },
        ],
      },
    });
  }, 30_000);
  afterAll(async () => {
    await kong.close();
    await Promise.all([upstream.close(), jwks.close(), extAuthz.close(), api.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(policyDir, { recursive: true, force: true });
  });

  const last = () => upstream.requests[upstream.requests.length - 1];
  const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as Record<string, unknown>;

  it('denies what a DENY policy matches with a problem naming it; allows what ALLOW matches; PDK calls per request', async () => {
    const denied = await kong.request({ method: 'DELETE', path: '/inline/1' });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toBe('application/problem+json');
    expect(json(denied.body)).toEqual({
      type: 'urn:kong-plugins:istio-policy-sync:mesh-authorization-denied',
      title: 'Denied by the mesh authorization policy',
      status: 403,
      detail: 'the DENY policy apis/no-delete matches this request',
      code: 'mesh-authorization-denied',
      reason: 'deny-policy',
      policy: 'apis/no-delete',
      action: 'DENY',
      workload: 'apis/app=orders',
    });
    expect(denied.context.pdkCalls).toBe(3); // get_method, get_path, exit
    // the workload sees service_path + the stripped path: /orders/1, which allow-kong allows
    const allowed = await kong.request({ path: '/inline/1' });
    expect(allowed.status).toBe(200);
    expect(last().url).toBe('/1');
    expect(allowed.context.pdkCalls).toBe(2); // get_method, get_path; nothing written
    const notAllowed = await kong.request({ path: '/inline/1/2' }); // /orders/1/2: {*} is one segment
    expect(notAllowed.status).toBe(403);
    expect(json(notAllowed.body)).toMatchObject({ reason: 'no-allow-match', policy: 'apis/allow-kong' });
  });

  it('no policy for the workload: no PDK call at all', async () => {
    const res = await kong.request({ method: 'DELETE', path: '/none/x' });
    expect(res.status).toBe(200);
    expect(res.context.pdkCalls).toBe(0);
  });

  it('dry_run: nothing blocked, the decision goes upstream in a header', async () => {
    const res = await kong.request({ method: 'DELETE', path: '/dry/1' });
    expect(res.status).toBe(200);
    expect(last().headers['x-mesh-authz-decision']).toBe('deny; reason=deny-policy; policy="apis/no-delete"; status=403');
    expect(res.context.pdkCalls).toBe(2); // get_method, set_headers
  });

  it('directory: hot reload on change; a bad file keeps the last good set and is reported', async () => {
    expect((await kong.request({ method: 'DELETE', path: '/dir/1' })).status).toBe(403);
    fs.writeFileSync(path.join(policyDir, 'deny.yaml'), denyDelete.replace('DELETE', 'PATCH'));
    await until(async () => (await kong.request({ method: 'DELETE', path: '/dir/1' })).status === 200);
    expect((await kong.request({ method: 'PATCH', path: '/dir/1' })).status).toBe(403);
    fs.writeFileSync(path.join(policyDir, 'broken.yaml'), 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: bad, namespace: apis}\nspec: {action: DENY, rules: [{to: [{operation: {ports: [http]}}]}]}\n');
    if (kind === 'ours') await until(async () => (await metrics()).includes('kong_plugins_istio_policy_load_failures_total{source="directory:'));
    else await new Promise((r) => setTimeout(r, 300));
    expect((await kong.request({ method: 'PATCH', path: '/dir/1' })).status).toBe(403); // last good set kept
    fs.rmSync(path.join(policyDir, 'broken.yaml'));
  });

  it('JWT: no token = no identity (denied by requestPrincipals), valid token allowed with claim headers, bad token 401; JWKS fetched once', async () => {
    const none = await kong.request({ path: '/jwt/x' });
    expect(none.status).toBe(403);
    const token = await jwks.sign({ iss: ISSUER, sub: 'alice', tenant: 'acme' });
    for (let i = 0; i < 5; i++) {
      const ok = await kong.request({ path: '/jwt/x', headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
    }
    expect(last().headers['x-tenant']).toBe('acme');
    expect(last().headers.authorization).toBe(`Bearer ${token}`); // forwarded: the sidecar must verify it too
    const forged = await jwks.sign({ iss: ISSUER, sub: 'alice' }, { foreignKey: true });
    const bad = await kong.request({ path: '/jwt/x', headers: { authorization: `Bearer ${forged}` } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="mesh", error="invalid_token"');
    expect(json(bad.body)).toMatchObject({ code: 'mesh-authentication-failed', detail: 'Jwt verification fails', policy: 'apis/jwt' });
    expect(jwks.fetches).toBeLessThanOrEqual(1); // one plugin server process, keys cached (jose's remote set)
  });

  it('CUSTOM: the provider gets an ext_authz check (method, prefix + path, allowed headers); allow adds its headers upstream, deny answers its status', async () => {
    const before = extAuthz.checks.length;
    const ok = await kong.request({ method: 'POST', path: '/custom/admin/users?q=1', headers: { 'x-ext-authz': 'allow', 'x-secret': 's', 'Content-Type': 'application/json' }, body: '{"a":1}' });
    expect(ok.status).toBe(200);
    // the provider's own framing (Content-Length: 0, Connection, Keep-Alive) never lands on the request, even when listed
    expect([last().headers['content-type'], last().headers['content-length'], last().body.toString()]).toEqual(['application/json', '7', '{"a":1}']);
    const check = extAuthz.checks[before];
    expect(check.method).toBe('POST');
    expect(check.url).toBe('/check/admin/users?q=1');
    expect(check.headers['x-ext-authz']).toBe('allow');
    expect(check.headers['x-secret']).toBeUndefined();
    expect(check.headers.host).toBe(WORKLOAD.host);
    expect(last().headers['x-user']).toBe('alice');
    // each of the provider's cookies stays its own Set-Cookie for the client (joined, they would be one broken cookie)
    expect(ok.headers.getAll('set-cookie')).toEqual(['session=s1; Path=/', 'csrf=c1; Path=/']);
    expect(last().headers['x-not-forwarded']).toBeUndefined();
    const denied = await kong.request({ path: '/custom/admin/users', headers: { 'x-ext-authz': 'no' } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('x-ext-authz-check-result')).toBe('denied');
    // nor on the problem answer: its Content-Type and Content-Length are the problem's, not the provider's text/plain body's
    expect([denied.headers.get('content-type'), denied.headers.get('content-length')]).toEqual(['application/problem+json', String(denied.body.length)]);
    expect(json(denied.body)).toMatchObject({ reason: 'custom-deny', policy: 'apis/ext', action: 'CUSTOM', detail: 'denied by ext_authz for header x-ext-authz' });
    const unmatched = extAuthz.checks.length;
    expect((await kong.request({ path: '/custom/public' })).status).toBe(200);
    expect(extAuthz.checks.length).toBe(unmatched);
  });

  it('Kubernetes watch: policies added and deleted on the API server apply without restart', async () => {
    // Kong starts an instance on its first request: that starts the watch (a request before the first list is left to the mesh)
    expect((await kong.request({ method: 'DELETE', path: '/k8s/1' })).status).toBe(200);
    await until(async () => api.watching('authorizationpolicies'));
    expect((await kong.request({ method: 'DELETE', path: '/k8s/1' })).status).toBe(200);
    const policy = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'no-delete', namespace: 'apis' }, spec: { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] } };
    api.emit('authorizationpolicies', 'ADDED', policy);
    await until(async () => (await kong.request({ method: 'DELETE', path: '/k8s/1' })).status === 403);
    api.emit('authorizationpolicies', 'DELETED', policy);
    await until(async () => (await kong.request({ method: 'DELETE', path: '/k8s/1' })).status === 200);
  });

  async function metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return res.text();
  }

  (kind === 'ours' ? it : it.skip)('metrics per policy, action and decision (our server serves them)', async () => {
    const text = await metrics();
    expect(text).toMatch(/kong_plugins_istio_authz_decisions_total\{policy="apis\/no-delete",action="DENY",decision="deny",mode="enforce"\} \d+/);
    expect(text).toMatch(/kong_plugins_istio_authz_decisions_total\{policy="apis\/no-delete",action="DENY",decision="deny",mode="dry_run"\} \d+/);
    expect(text).toMatch(/kong_plugins_istio_ext_authz_calls_total|kong_plugins_istio_policies_loaded\{source="directory:/);
  });
});
