import { checkConfig, Priority, Schema, Version } from '../../plugins/istio-policy-sync';

const base = { workload: { namespace: 'apis' }, source: { kind: 'inline', manifests: '# none\n' } };
const ap = (spec: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: apis}\nspec: ${spec}\n`;

describe('istio-policy-sync schema', () => {
  it('exports a Kong schema, version and integer priority', () => {
    expect(Version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number.isInteger(Priority)).toBe(true);
    expect(JSON.stringify(Schema)).toContain('"workload"');
  });
  it('accepts a minimal config', () => {
    expect(checkConfig(base)).toEqual([]);
  });
  it('refuses what Istio\'s webhook refuses, naming the field, document and object', () => {
    const cases: [string, RegExp][] = [
      [ap('{action: BLOCK}'), /source\.manifests: inline: document 1 \(AuthorizationPolicy apis\/p\): action "BLOCK"/],
      [ap('{action: CUSTOM}'), /CUSTOM policy needs provider\.name/],
      [ap('{action: DENY, provider: {name: x}}'), /provider is only allowed with action CUSTOM/],
      [ap('{rules: [{from: [{source: {ipBlocks: [10.0.0.0/40]}}]}]}'), /ipBlocks: "10\.0\.0\.0\/40" is not an IP or CIDR/],
      [ap('{rules: [{to: [{operation: {ports: [http]}}]}]}'), /ports: "http" is not a port/],
      [ap('{rules: [{to: [{operation: {paths: ["/a/{**}/b"]}}]}]}'), /\{\*\*\} must be the last segment/],
      [ap('{rules: [{when: [{key: request.nope, values: [x]}]}]}'), /key "request\.nope" is not a supported attribute/],
      [ap('{rules: [{when: [{key: source.ip}]}]}'), /values or notValues is required/],
      [ap('{rules: [{from: [{source: {}}]}]}'), /source must not be empty/],
      // shapes YAML allows and the CRD schema does not (found by config-fuzz: a TypeError instead of the field's name)
      [ap('{rules: [{to: {operation: {ports: ["80"]}}}]}'), /rules\[0\]\.to must be a list/],
      [ap('{rules: [{from: [{source: {ipBlocks: 10.0.0.1}}]}]}'), /rules\[0\]\.from\[0\]\.source\.ipBlocks must be a list/],
      [ap('{rules: [{to: [{operation: {paths: "/a"}}]}]}'), /rules\[0\]\.to\[0\]\.operation\.paths must be a list/],
      [ap('{rules: [{when: [{key: source.ip, values: 10.0.0.1}]}]}'), /rules\[0\]\.when\[0\]\.values must be a list/],
      [ap('{rules: [allow]}'), /rules\[0\] must be a mapping/],
      ['apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec: {mtls: {mode: ON}}\n', /mtls\.mode "ON"/],
      ['apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: x}\nspec: {jwtRules: [{jwksUri: "https://x"}]}\n', /jwtRules\[0\]\.issuer is required/],
      ['a: [', /source\.manifests: inline: document 1:/],
    ];
    for (const [manifests, message] of cases) expect(checkConfig({ ...base, source: { kind: 'inline', manifests } }).join('\n')).toMatch(message);
  });
  it('ignores other kinds (a whole istio/ folder can be read)', () => {
    expect(checkConfig({ ...base, source: { kind: 'inline', manifests: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: [x]}\n' } })).toEqual([]);
  });
  it('cross-field rules: source fields per kind, unique providers, principal shape', () => {
    expect(checkConfig({ ...base, source: { kind: 'directory' } })).toEqual([expect.stringContaining('source.directory: is required')]);
    expect(checkConfig({ ...base, source: { kind: 'kubernetes' } })).toEqual([expect.stringContaining('source.api_server: is required')]);
    const provider = { name: 'opa', envoy_ext_authz_http: { service: 'opa', port: 9191 } };
    expect(checkConfig({ ...base, extension_providers: [provider, provider] }).join()).toContain('extension_providers[1].name');
    expect(checkConfig({ ...base, kong_identity: { principal: 'kong' } }).join()).toContain('kong_identity.principal');
    expect(checkConfig({ ...base, mode: 'audit' }).join()).toContain('mode');
  });
});
