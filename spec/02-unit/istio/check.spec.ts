import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { main } from '../../../devkit/validate/cli';

const ROOT = path.join(__dirname, '..', '..', '..');
const KONG_YML = path.join(ROOT, 'kong.yml');
const ISTIO = path.join(ROOT, 'istio');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'kong-plugins', ...args], { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'istio-check-'));
  fs.cpSync(ISTIO, path.join(tmp, 'istio'), { recursive: true });
  fs.copyFileSync(KONG_YML, path.join(tmp, 'kong.yml'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const kongYml = () => path.join(tmp, 'kong.yml');
const istioDir = () => path.join(tmp, 'istio');
function editKong(change: (doc: any) => void): void {
  const doc = YAML.parse(fs.readFileSync(kongYml(), 'utf8'));
  change(doc);
  fs.writeFileSync(kongYml(), YAML.stringify(doc));
}
function editManifests(file: string, change: (docs: any[]) => any[]): void {
  const full = path.join(istioDir(), file);
  const docs = YAML.parseAllDocuments(fs.readFileSync(full, 'utf8')).map((d) => d.toJS());
  fs.writeFileSync(full, change(docs).map((d) => YAML.stringify(d)).join('---\n'));
}
const service = (doc: any, name: string) => doc.services.find((s: any) => s.name === name);

describe('kong-plugins istio check', () => {
  it('passes on the shipped kong.yml and istio/', async () => {
    const result = await run('istio', 'check', KONG_YML, ISTIO);
    expect(result).toEqual({ code: 0, out: expect.stringMatching(/0 error\(s\), 0 warning\(s\): in sync\n$/), err: '' });
  });

  it('a route with no ALLOW in the mesh', async () => {
    editManifests('generated/zero-trust/apis.yaml', (docs) => docs.filter((d) => d.metadata.name !== 'allow-kong-catalog'));
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.code).toBe(1);
    expect(result.err).toContain("error: route catalog: Kong's GET /, GET /sample, HEAD /, HEAD /sample to apis/catalog matches no ALLOW rule for cluster.local/ns/kong/sa/kong (ALLOW policies there: apis/deny-by-default)");
    expect(result.err).toMatch(/1 error\(s\), 0 warning\(s\)\n$/);
  });

  it('an ALLOW that no longer covers the methods Kong routes', async () => {
    editKong((doc) => (service(doc, 'catalog').routes[0].methods = ['GET', 'HEAD', 'POST']));
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.code).toBe(1);
    expect(result.err).toContain("error: route catalog: Kong's POST /, POST /sample to apis/catalog matches no ALLOW rule");
  });

  it('a policy that denies what Kong routes', async () => {
    editManifests('zero-trust/service-to-service.yaml', (docs) => [
      ...docs,
      { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'no-writes', namespace: 'istio-system' }, spec: { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'], paths: ['/sample'] } }] }] } },
    ]);
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.code).toBe(1);
    expect(result.err).toContain("error: route pii-samples: Kong's DELETE /sample to apis/pii-samples is denied by DENY policy istio-system/no-writes");
    // catalog routes GET/HEAD only: the DENY does not concern it
    expect(result.err).not.toContain('route catalog');
  });

  it('an issuer accepted by Kong only, and one accepted by the mesh only', async () => {
    editKong((doc) => doc.consumers[0].jwt_secrets.push({ key: 'acme-next', algorithm: 'HS256', secret: 'another-demo-secret-0123456789abcdef' }));
    editManifests('generated/zero-trust/apis.yaml', (docs) =>
      docs.map((d) => (d.kind === 'RequestAuthentication' ? { ...d, spec: { ...d.spec, jwtRules: [...d.spec.jwtRules, { issuer: 'https://login.example.com', jwksUri: 'https://login.example.com/jwks' }] } } : d)),
    );
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.code).toBe(1);
    expect(result.err).toContain('error: service tenant-api: issuer acme-next is accepted by Kong (plugin jwt on route tenant-api-jwt (consumer acme-app)) but no RequestAuthentication for apis/tenant-api accepts it');
    expect(result.err).toContain('error: service tenant-api: issuer https://login.example.com is accepted by RequestAuthentication apis/jwt-tenant-api (generated/zero-trust/apis.yaml) for apis/tenant-api but by no Kong plugin on its routes');
  });

  it('an issuer whose keys istiod cannot find', async () => {
    editManifests('generated/zero-trust/apis.yaml', (docs) => docs.map((d) => (d.kind === 'RequestAuthentication' ? { ...d, spec: { ...d.spec, jwtRules: d.spec.jwtRules.map(({ jwks: _jwks, ...rule }: any) => rule) } } : d)));
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.err).toContain('issuer acme-issuer has neither jwks nor jwksUri and is no https URL to discover keys from: istiod rejects every token it signs');
  });

  it('a new Kong service that was not regenerated', async () => {
    editKong((doc) => doc.services.push({ name: 'billing', url: 'http://127.0.0.1:9103', routes: [{ name: 'billing', paths: ['/billing'] }] }));
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.code).toBe(1);
    expect(result.err).toContain('error: service billing: no Service apis/billing in the mesh (Kong targets billing.apis.svc.cluster.local:9103)');
    // ...and regenerating fixes it
    expect((await run('istio', 'generate', kongYml(), '--out', path.join(istioDir(), 'generated'))).code).toBe(0);
    expect(await run('istio', 'check', kongYml(), istioDir())).toMatchObject({ code: 0 });
  });

  it('preserve_host and an https service: Envoy could not apply the mesh policy', async () => {
    editKong((doc) => {
      service(doc, 'catalog').routes[0].preserve_host = true;
      service(doc, 'secure-api').url = 'https://127.0.0.1:9101';
    });
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.err).toContain('error: route catalog: preserve_host sends the client');
    expect(result.err).toContain('error: service secure-api: Kong speaks https to it');
  });

  it('warns on retry amplification and timeout inversions, and fails on them with --warnings-as-errors', async () => {
    editManifests('generated/traffic/apis.yaml', (docs) =>
      docs.map((d) => (d.kind === 'VirtualService' && d.metadata.name === 'catalog' ? { ...d, spec: { ...d.spec, http: [{ ...d.spec.http[0], timeout: '90s', retries: { attempts: 3, perTryTimeout: '30s' } }] } } : d)),
    );
    editManifests('generated/traffic/apis.yaml', (docs) => docs.filter((d) => !(d.kind === 'VirtualService' && d.metadata.name === 'pii-samples')));
    const result = await run('istio', 'check', kongYml(), istioDir());
    expect(result.code).toBe(0);
    expect(result.out).toContain('warning: service catalog: retry amplification: Kong retries 5 times and VirtualService apis/catalog (generated/traffic/apis.yaml) retries 3 times: up to 24 upstream tries for one request');
    expect(result.out).toContain("warning: service catalog: timeout inversion: Kong's read_timeout 60000 ms is shorter than VirtualService apis/catalog (generated/traffic/apis.yaml)'s timeout 90s");
    expect(result.out).toContain("warning: service catalog: timeout inversion: 4 tries of 30s in VirtualService apis/catalog (generated/traffic/apis.yaml) outlast Kong's read_timeout 60000 ms");
    expect(result.out).toContain("warning: service pii-samples: retry amplification: Kong retries 5 times and Istio's defaults (no VirtualService for pii-samples.apis.svc.cluster.local) retries 2 times: up to 18 upstream tries");
    expect(result.out).toContain("warning: service pii-samples: timeout inversion: Kong's read_timeout is 60000 ms and Istio's defaults (no VirtualService for pii-samples.apis.svc.cluster.local) sets no timeout");
    expect((await run('istio', 'check', kongYml(), istioDir(), '--warnings-as-errors')).code).toBe(1);
  });

  it('no mesh-wide STRICT mTLS', async () => {
    editManifests('generated/zero-trust/peer-authentication.yaml', (docs) => docs.map((d) => ({ ...d, spec: { mtls: { mode: 'PERMISSIVE' } } })));
    expect((await run('istio', 'check', kongYml(), istioDir())).err).toContain('error: mesh: no STRICT PeerAuthentication without selector in istio-system');
  });

  it('exit 2 for unusable input', async () => {
    expect(await run('istio', 'check', path.join(tmp, 'missing.yml'), istioDir())).toMatchObject({ code: 2, err: expect.stringContaining('no such file') });
    expect(await run('istio', 'check', kongYml(), path.join(tmp, 'nowhere'))).toMatchObject({ code: 2, err: expect.stringContaining('not a directory') });
  });
});

describe('kong-plugins istio generate', () => {
  it('writes the generated folder, removes files kong.yml no longer gives, keeps hand-written ones', async () => {
    const out = path.join(tmp, 'out');
    fs.mkdirSync(path.join(out, 'traffic'), { recursive: true });
    fs.writeFileSync(path.join(out, 'traffic', 'gone.yaml'), '# Generated by `kong-plugins istio generate kong.yml`\n');
    fs.writeFileSync(path.join(out, 'mine.yaml'), '# hand-written\n');
    const result = await run('istio', 'generate', kongYml(), '--out', out);
    expect(result).toMatchObject({ code: 0, out: expect.stringMatching(/files, \d+ objects written to/) });
    expect(fs.existsSync(path.join(out, 'traffic', 'gone.yaml'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'mine.yaml'))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'zero-trust', 'apis.yaml'), 'utf8')).toBe(fs.readFileSync(path.join(ISTIO, 'generated', 'zero-trust', 'apis.yaml'), 'utf8'));
  });

  it('a tenant, a tagged service and strip_path: false shape namespaces and ALLOW paths', async () => {
    editKong((doc) => {
      doc.services.push({ name: 'initech-ledger', url: 'http://127.0.0.1:9104/ledger', tags: ['tenant:initech'], routes: [{ name: 'ledger', paths: ['/ledger'], strip_path: false, methods: ['get'] }] });
    });
    const result = await run('istio', 'generate', kongYml());
    expect(result.code).toBe(0);
    const docs = YAML.parseAllDocuments(result.out).map((d) => d.toJS()).filter(Boolean);
    const allow = docs.find((d) => d.metadata.name === 'allow-kong-initech-ledger');
    expect(allow.metadata.namespace).toBe('tenant-initech');
    expect(allow.spec.rules[0].to[0].operation).toEqual({ methods: ['GET'], paths: ['/ledger/ledger*'] });
    expect(docs.find((d) => d.kind === 'Namespace' && d.metadata.name === 'tenant-initech').metadata.labels).toMatchObject({ 'istio-injection': 'enabled', 'kong-plugins/tenant': 'initech' });
    const config = YAML.parse(docs.find((d) => d.kind === 'ConfigMap').data['kong.yml']);
    expect(config.services.find((s: any) => s.name === 'initech-ledger').url).toBe('http://initech-ledger.tenant-initech.svc.cluster.local:9104/ledger');
  });

  it('Kong retries 0: the mesh retries, within Kong\'s read timeout', async () => {
    editKong((doc) => Object.assign(service(doc, 'catalog'), { retries: 0, read_timeout: 3000, connect_timeout: 500 }));
    const docs = YAML.parseAllDocuments((await run('istio', 'generate', kongYml())).out).map((d) => d.toJS()).filter(Boolean);
    const vs = docs.find((d) => d.kind === 'VirtualService' && d.metadata.name === 'catalog');
    expect(vs.spec.http[0]).toMatchObject({ timeout: '3s', retries: { attempts: 2, perTryTimeout: '1s' } });
    expect(docs.find((d) => d.kind === 'DestinationRule' && d.metadata.name === 'catalog').spec.trafficPolicy.connectionPool.tcp.connectTimeout).toBe('0.5s');
  });
});
