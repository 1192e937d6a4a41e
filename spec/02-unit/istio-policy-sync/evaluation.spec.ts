import { compilePolicy, decide, F, T, U, UNKNOWN, WorkloadPolicies, type Attributes, type Policy } from '../../../shared/istio/engine';
import { workloadPath } from '../../../plugins/istio-policy-sync/attributes';
import { parseManifests } from '../../../plugins/istio-policy-sync/manifests';
import { PolicySnapshot } from '../../../plugins/istio-policy-sync/policy-set';

const attrs = (over: Partial<Attributes> = {}): Attributes => ({
  principal: 'cluster.local/ns/kong/sa/kong',
  namespace: 'kong',
  sourceIp: '10.0.0.5',
  remoteIp: '203.0.113.7',
  destinationIp: UNKNOWN,
  port: 8080,
  sni: UNKNOWN,
  method: 'GET',
  path: '/orders/1',
  host: 'orders',
  headers: {},
  ...over,
});
const policy = (spec: Policy['spec'], name = 'p'): Policy => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: 'apis' }, spec });

describe('three-valued matching', () => {
  it('an unknowable attribute makes the field unknown; missing ones follow Istio (values never, notValues always)', () => {
    const when = (c: object) => compilePolicy(policy({ rules: [{ when: [c as never] }] })).match;
    expect(when({ key: 'destination.ip', values: ['10.0.0.0/8'] })(attrs())).toBe(U);
    expect(when({ key: 'destination.ip', values: ['10.0.0.0/8'] })(attrs({ destinationIp: '10.1.1.1' }))).toBe(T);
    expect(when({ key: 'request.headers[x-a]', values: ['*'] })(attrs())).toBe(F);
    expect(when({ key: 'request.headers[x-a]', notValues: ['*'] })(attrs())).toBe(T);
    expect(when({ key: 'request.auth.claims[n]', values: ['1'] })(attrs({ claims: { n: 1 } }))).toBe(U);
  });
  it('decide: unknown DENY defers, but an ALLOW set that surely does not match still denies', () => {
    const unknownDeny = compilePolicy(policy({ action: 'DENY', rules: [{ when: [{ key: 'connection.sni', values: ['x'] }] }] }, 'u'));
    const allowPost = compilePolicy(policy({ rules: [{ to: [{ operation: { methods: ['POST'] } }] }] }, 'post'));
    const allowGet = compilePolicy(policy({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }, 'get'));
    expect(decide([unknownDeny], [], attrs())).toMatchObject({ decision: 'unknown', policy: 'apis/u' });
    expect(decide([unknownDeny], [allowPost], attrs())).toMatchObject({ decision: 'deny', reason: 'no-allow-match' });
    expect(decide([unknownDeny], [allowGet], attrs())).toMatchObject({ decision: 'unknown' });
    expect(decide([], [allowGet], attrs())).toMatchObject({ decision: 'allow', policy: 'apis/get' });
  });
  it('dry-run and CUSTOM/AUDIT policies are grouped apart', () => {
    const dry = { ...policy({ action: 'DENY', rules: [{}] }, 'dry'), metadata: { name: 'dry', namespace: 'apis', annotations: { 'istio.io/dry-run': 'true' } } };
    const set = new WorkloadPolicies([compilePolicy(dry), compilePolicy(policy({ action: 'AUDIT', rules: [{}] }, 'a'))]);
    expect([set.deny.length, set.dryDeny.length, set.audit.length, set.allow.length]).toEqual([0, 1, 1, 0]);
  });
});

describe('the path the workload receives (Kong v0 path handling, escaping, BASE)', () => {
  it('strips the route prefix, prepends the service path, re-escapes and decodes unreserved escapes only', () => {
    expect(workloadPath('/mesh/orders/1', { stripPrefix: '/mesh' })).toBe('/orders/1');
    expect(workloadPath('/mesh/orders/1', { stripPrefix: '/mesh', servicePath: '/api' })).toBe('/api/orders/1');
    expect(workloadPath('/mesh', { stripPrefix: '/mesh', servicePath: '/api/' })).toBe('/api'); // Kong: no trailing slash asked for
    expect(workloadPath('/mesh/', { stripPrefix: '/mesh', servicePath: '/api/' })).toBe('/api/');
    expect(workloadPath('/a b', {})).toBe('/a%20b');
    expect(workloadPath('/a%2fb', {})).toBe('/a%2Fb');
    expect(workloadPath('/%7euser', {})).toBe('/~user');
  });
});

describe('PeerAuthentication precedence', () => {
  const pa = (name: string, namespace: string, spec: object) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: ${JSON.stringify(spec)}\n---\n`;
  const view = (yaml: string) => new PolicySnapshot(parseManifests(yaml, 't'), 'istio-system', 1).forWorkload({ namespace: 'apis', labels: { app: 'orders' } });
  it('workload > namespace > mesh > PERMISSIVE; UNSET inherits; port level overrides', () => {
    expect(view('').mtls(8080)).toEqual({ mode: 'PERMISSIVE' });
    expect(view(pa('m', 'istio-system', { mtls: { mode: 'STRICT' } })).mtls(8080)).toEqual({ mode: 'STRICT', policy: 'istio-system/m' });
    expect(view(pa('m', 'istio-system', { mtls: { mode: 'STRICT' } }) + pa('n', 'apis', { mtls: { mode: 'UNSET' } })).mtls(8080).mode).toBe('STRICT');
    expect(view(pa('m', 'istio-system', { mtls: { mode: 'STRICT' } }) + pa('n', 'apis', { mtls: { mode: 'DISABLE' } })).mtls(8080).mode).toBe('DISABLE');
    const portLevel = pa('w', 'apis', { selector: { matchLabels: { app: 'orders' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '9090': { mode: 'PERMISSIVE' } } });
    expect(view(portLevel).mtls(9090).mode).toBe('PERMISSIVE');
    expect(view(portLevel).mtls(8080)).toEqual({ mode: 'STRICT', policy: 'apis/w' });
  });
});
