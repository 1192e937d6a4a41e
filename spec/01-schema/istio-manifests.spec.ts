import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generate } from '../../devkit/istio/generate';
import { loadManifests, yamlFiles, type K8sObject, type Manifest } from '../../devkit/istio/model';
import { semanticFindings } from '../../devkit/istio/semantics';
import { readTopology } from '../../devkit/istio/topology';

const ROOT = path.join(__dirname, '..', '..');
const ISTIO = path.join(ROOT, 'istio');
const VALIDATOR = path.join(__dirname, 'istio-schema-validate.mjs');

interface Result {
  file: string;
  index: number;
  schema?: string;
  errors: string[];
  unknown: string[];
}

/** IstioOperator's CRD leaves spec opaque (x-kubernetes-preserve-unknown-fields): istioctl validates it, not the CRD. */
const OPAQUE: Record<string, string[]> = { IstioOperator: ['/spec'] };

function validate(objects: { file: string; index: number; object: unknown }[]): Result[] {
  const run = spawnSync(process.execPath, [VALIDATOR, ROOT], { input: JSON.stringify(objects), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`validator failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Result[];
}

const manifests = loadManifests(ISTIO);
let results: Result[] = [];
beforeAll(() => {
  results = validate(manifests);
});

describe('every shipped manifest against the registry schemas (Istio CRDs: @kubernetes-models/istio, Kubernetes: kubernetes-models)', () => {
  it('ships the kinds each mesh concern needs', () => {
    const kinds = new Set(manifests.map((m) => m.object.kind));
    for (const kind of ['PeerAuthentication', 'AuthorizationPolicy', 'RequestAuthentication', 'DestinationRule', 'VirtualService', 'Telemetry', 'Sidecar', 'ResourceQuota', 'LimitRange', 'Deployment', 'Service', 'Namespace', 'ConfigMap', 'IstioOperator', 'ProxyConfig']) {
      expect(kinds).toContain(kind);
    }
  });

  it.each(manifests.map((m) => [`${m.file}#${m.index} ${m.object.kind} ${m.object.metadata.name}`, m] as const))('%s', (_name, m: Manifest) => {
    const result = results.find((r) => r.file === m.file && r.index === m.index)!;
    expect(result.schema).toBeDefined();
    expect(result.errors).toEqual([]);
    expect(result.unknown.filter((p) => !(OPAQUE[m.object.kind] ?? []).includes(p))).toEqual([]);
  });
});

describe('the schema validation catches what it should (planted errors)', () => {
  const planted = (object: K8sObject) => validate([{ file: 'planted', index: 0, object }])[0];
  const policy = (spec: unknown): K8sObject => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'apis' }, spec });

  it('an unknown enum value', () => {
    expect(planted(policy({ action: 'PERMIT' })).errors.join()).toMatch(/\/spec\/action/);
  });
  it('a misspelt field (the CRD schemas do not reject it; the read tracing does)', () => {
    const result = planted(policy({ action: 'ALLOW', rules: [{ form: [{ source: { principals: ['x'] } }] }] }));
    expect(result.errors).toEqual([]);
    expect(result.unknown).toEqual(['/spec/rules/0/form']);
  });
  it('a wrong type in a DestinationRule and a VirtualService field of Istio >= 1.2x (retryOn) accepted', () => {
    expect(planted({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd' }, spec: { host: 'x', trafficPolicy: { loadBalancer: { simple: 'FASTEST' } } } }).errors).not.toEqual([]);
    const vs = planted({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v' }, spec: { hosts: ['x'], http: [{ retries: { attempts: 'three' } }] } });
    expect(vs.errors.join()).toMatch(/attempts/);
  });
  it('Kubernetes objects: a missing required field and an unknown one', () => {
    const deployment = (container: Record<string, unknown>): K8sObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { spec: { containers: [container] } } } });
    expect(planted(deployment({ image: 'x' })).errors.join()).toMatch(/name/);
    expect(planted(deployment({ name: 'c', imagee: 'x' })).unknown).toEqual(['/spec/template/spec/containers/0/imagee']);
  });
  it('a kind no package knows', () => {
    expect(planted({ apiVersion: 'security.istio.io/v1', kind: 'AuthorisationPolicy', metadata: { name: 'x' } }).errors.join()).toMatch(/no schema/);
  });
});

describe('semantic checks of the shipped manifests', () => {
  it('find nothing on the shipped folder', () => {
    expect(semanticFindings(manifests)).toEqual([]);
  });

  const withChange = (file: string, name: string, change: (o: any) => void) =>
    manifests.map((m) => {
      if (m.file !== file || m.object.metadata.name !== name) return m;
      const object = structuredClone(m.object);
      change(object);
      return { ...m, object };
    });
  const messages = (ms: Manifest[]) => semanticFindings(ms).map((f) => f.message);

  it('a VirtualService subset no DestinationRule defines', () => {
    expect(messages(withChange('traffic/virtual-services.yaml', 'catalog', (o) => (o.spec.http[0].route[1].destination.subset = 'v3')))).toEqual([
      expect.stringMatching(/VirtualService mesh-examples\/catalog .*canary-90-10: subset v3 of catalog\.mesh-examples\.svc\.cluster\.local is defined by no DestinationRule/),
    ]);
  });
  it('weights that do not add up to 100', () => {
    expect(messages(withChange('traffic/virtual-services.yaml', 'catalog', (o) => (o.spec.http[0].route[1].weight = 20)))).toEqual([expect.stringMatching(/canary-90-10: weights add up to 110, not 100/)]);
  });
  it('a selector that matches no shipped workload', () => {
    expect(messages(withChange('zero-trust/service-to-service.yaml', 'catalog-readers', (o) => (o.spec.selector.matchLabels.app = 'catalogue')))).toEqual([expect.stringMatching(/AuthorizationPolicy mesh-examples\/catalog-readers .*selector \{"app":"catalogue"\} matches no shipped workload/)]);
  });
  it('a subset whose labels select no workload', () => {
    expect(messages(withChange('traffic/destination-rules.yaml', 'search', (o) => (o.spec.subsets[1].labels.version = 'v9')))).toEqual([expect.stringMatching(/subset v2 \{"version":"v9"\} matches no shipped workload/)]);
  });
  it('a host that resolves to no Service', () => {
    expect(messages(withChange('traffic/virtual-services.yaml', 'search', (o) => (o.spec.hosts = ['serch'])))).toEqual([expect.stringMatching(/VirtualService mesh-examples\/search .*host serch resolves to no shipped Service/)]);
  });
  it('an ALLOW with rules: [] (deny-all by accident) and an empty rule (allow-all by accident)', () => {
    expect(messages(withChange('zero-trust/service-to-service.yaml', 'checkout-from-cart', (o) => (o.spec.rules = [])))).toEqual([expect.stringMatching(/checkout-from-cart .*ALLOW with no rules matches nothing/)]);
    expect(messages(withChange('zero-trust/service-to-service.yaml', 'checkout-from-cart', (o) => o.spec.rules.push({})))).toEqual([expect.stringMatching(/checkout-from-cart .*rule 1 is empty: it allows every request/)]);
  });
  it('a ConfigMap, ServiceAccount or namespace that is not shipped', () => {
    expect(messages(withChange('kong/kong.yaml', 'kong', (o) => o.kind === 'Deployment' && (o.spec.template.spec.volumes[0].configMap.name = 'kong-config')))).toEqual([expect.stringMatching(/ConfigMap kong-config is not shipped/)]);
    expect(messages(withChange('traffic/workloads.yaml', 'cart-v1', (o) => (o.spec.template.spec.serviceAccountName = 'basket')))).toEqual([expect.stringMatching(/serviceAccountName basket is not shipped/)]);
    expect(messages(manifests.filter((m) => !(m.object.kind === 'Namespace' && m.object.metadata.name === 'mesh-examples')))[0]).toMatch(/namespace mesh-examples is not shipped/);
  });
  it('a Telemetry provider MeshConfig does not declare', () => {
    expect(messages(withChange('observability/telemetry.yaml', 'mesh-default', (o) => (o.spec.tracing[0].providers[0].name = 'zipkin')))).toEqual([expect.stringMatching(/Telemetry istio-system\/mesh-default .*provider zipkin is declared by no shipped MeshConfig/)]);
  });
});

describe('istio/generated is what kong.yml gives', () => {
  it('file for file, byte for byte (run `npm run istio:generate` after changing kong.yml)', () => {
    const files = generate(readTopology(path.join(ROOT, 'kong.yml')));
    const dir = path.join(ISTIO, 'generated');
    expect(yamlFiles(dir).sort()).toEqual(files.map((f) => f.path).sort());
    for (const f of files) expect(fs.readFileSync(path.join(dir, f.path), 'utf8')).toBe(f.text);
  });
});
