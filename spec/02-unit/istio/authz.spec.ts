import { evaluate, pathMatch, stringMatch, type Policy } from '../../../devkit/istio/authz';

const ws = { namespace: 'apis', labels: { app: 'orders' } };
const kong = { principal: 'cluster.local/ns/kong/sa/kong', namespace: 'kong', method: 'GET', path: '/orders/1' };
const policy = (name: string, spec: Policy['spec'], namespace = 'apis', annotations?: Record<string, string>): Policy => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
  spec,
});
const allowKong = policy('allow-kong', { action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/kong/sa/kong'] } }], to: [{ operation: { methods: ['GET'], paths: ['/orders/*'] } }] }] });

describe('AuthorizationPolicy evaluation, as Istio orders it', () => {
  it('no ALLOW policy for the workload allows; an ALLOW spec: {} denies everything', () => {
    expect(evaluate([], ws, kong)).toMatchObject({ allowed: true, reason: 'no-allow-policies' });
    expect(evaluate([policy('deny-by-default', {})], ws, kong)).toMatchObject({ allowed: false, reason: 'no-allow-match', allowPolicies: ['apis/deny-by-default'] });
  });
  it('a matching ALLOW allows; fields are ANDed (method), values ORed', () => {
    expect(evaluate([policy('deny-by-default', {}), allowKong], ws, kong)).toMatchObject({ allowed: true, reason: 'allow', policy: 'apis/allow-kong' });
    expect(evaluate([allowKong], ws, { ...kong, method: 'POST' })).toMatchObject({ allowed: false });
    expect(evaluate([allowKong], ws, { ...kong, principal: 'cluster.local/ns/apis/sa/other' })).toMatchObject({ allowed: false });
  });
  it('DENY wins over ALLOW; AUDIT never decides; CUSTOM is reported as delegated', () => {
    const deny = policy('no-orders', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/orders/*'] } }] }] });
    const audit = policy('audit', { action: 'AUDIT', rules: [{}] });
    const custom = policy('ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] });
    expect(evaluate([allowKong, deny], ws, kong)).toMatchObject({ allowed: false, reason: 'deny', policy: 'apis/no-orders' });
    expect(evaluate([audit], ws, kong)).toMatchObject({ allowed: true, audited: ['apis/audit'] });
    expect(evaluate([allowKong, custom], ws, kong)).toMatchObject({ allowed: true, delegated: ['apis/ext'] });
  });
  it('dry-run policies are evaluated as a shadow only', () => {
    const dry = policy('dry', { action: 'DENY', rules: [{}] }, 'apis', { 'istio.io/dry-run': 'true' });
    expect(evaluate([dry], ws, kong)).toMatchObject({ allowed: true, dryRunMatches: ['apis/dry'] });
  });
  it('scope: root namespace mesh-wide, other namespaces not, selectors by labels, targetRefs not on sidecars', () => {
    const rootDeny = policy('root', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }, 'istio-system');
    expect(evaluate([rootDeny], ws, kong).allowed).toBe(false);
    expect(evaluate([policy('elsewhere', {}, 'other')], ws, kong).allowed).toBe(true);
    expect(evaluate([policy('sel', { selector: { matchLabels: { app: 'billing' } } })], ws, kong).allowed).toBe(true);
    expect(evaluate([policy('ref', { targetRefs: [{ kind: 'Service', name: 'orders' }] })], ws, kong).allowed).toBe(true);
  });
  it('notX negates; plaintext has no principal, so principals ["*"] needs mTLS', () => {
    const needPeer = policy('peer', { action: 'ALLOW', rules: [{ from: [{ source: { principals: ['*'] } }] }] });
    expect(evaluate([needPeer], ws, { ...kong, principal: undefined }).allowed).toBe(false);
    const notDelete = policy('nd', { action: 'ALLOW', rules: [{ to: [{ operation: { notMethods: ['DELETE'] } }] }] });
    expect(evaluate([notDelete], ws, { ...kong, method: 'DELETE' }).allowed).toBe(false);
    expect(evaluate([notDelete], ws, kong).allowed).toBe(true);
  });
  it('when conditions: headers, request.auth.claims (nested), source.ip CIDRs', () => {
    const when = policy('w', { action: 'ALLOW', rules: [{ when: [{ key: 'request.headers[X-Tenant]', values: ['acme'] }, { key: 'request.auth.claims[realm][role]', values: ['admin'] }, { key: 'source.ip', values: ['10.0.0.0/8'] }] }] });
    const request = { ...kong, headers: { 'x-tenant': 'acme' }, claims: { realm: { role: ['user', 'admin'] } }, sourceIp: '10.1.2.3' };
    expect(evaluate([when], ws, request).allowed).toBe(true);
    expect(evaluate([when], ws, { ...request, sourceIp: '192.168.0.1' }).allowed).toBe(false);
    expect(evaluate([when], ws, { ...request, headers: { 'x-tenant': 'globex' } }).allowed).toBe(false);
  });
});

describe('string and path matching', () => {
  it('exact, prefix*, *suffix, * presence', () => {
    expect(stringMatch('/a', '/a')).toBe(true);
    expect(stringMatch('/a*', '/abc')).toBe(true);
    expect(stringMatch('*.example.com', 'api.example.com')).toBe(true);
    expect(stringMatch('*', '')).toBe(false);
    expect(stringMatch('*', 'x')).toBe(true);
  });
  it('{*} one segment, {**} the rest', () => {
    expect(pathMatch('/carts/{*}', '/carts/1')).toBe(true);
    expect(pathMatch('/carts/{*}', '/carts/1/items')).toBe(false);
    expect(pathMatch('/carts/{*}/items/{**}', '/carts/1/items/2/3')).toBe(true);
    expect(pathMatch('/carts/{*}/items/{**}', '/carts/1/items/')).toBe(false);
  });
});
