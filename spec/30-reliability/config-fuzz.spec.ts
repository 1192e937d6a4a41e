import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { fillDefaults, validateConfig, type KongFields } from '../../devkit/emulator/kong-schema';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { FUZZ } from './fuzz-budget';

interface PluginModule {
  Name: string;
  /** The config record's fields, as the plugin server reports them (Kong wraps them in fields[].config). */
  Schema: KongFields;
  checkConfig(raw: unknown): string[];
}

/** What Kong and `kong-plugins validate` do with a config: defaults filled, Kong's schema checks, then the plugin's. */
function validate(plugin: PluginModule, raw: unknown): string[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return ['config: expected a record'];
  const fields = plugin.Schema;
  const filled = fillDefaults(fields, raw as Record<string, unknown>);
  const kongErrors = validateConfig(fields, filled);
  if (kongErrors.length) return kongErrors;
  return plugin.checkConfig(structuredClone(filled));
}

const PLUGINS = fs.readdirSync(path.join(ROOT, 'plugins')).filter((name) => fs.existsSync(path.join(ROOT, 'plugins', name, 'index.ts')));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (name: string): PluginModule => require(path.join(ROOT, 'plugins', name, 'index.ts')) as PluginModule;

/** Every config kong.yml gives a plugin of ours, by plugin name. */
function demoConfigs(): Map<string, Array<Record<string, unknown>>> {
  const out = new Map<string, Array<Record<string, unknown>>>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record.name === 'string' && PLUGINS.includes(record.name) && record.config && typeof record.config === 'object') {
      out.set(record.name, [...(out.get(record.name) ?? []), record.config as Record<string, unknown>]);
    }
    Object.values(record).forEach(visit);
  };
  visit(YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')));
  return out;
}

/** Replaces the value at a random path of `config` (by a walk chosen by `choices`) with `value`. */
function mutate(config: unknown, choices: number[], value: unknown): unknown {
  const copy = structuredClone(config);
  let node: unknown = copy;
  for (let i = 0; i < choices.length; i++) {
    if (!node || typeof node !== 'object') break;
    const keys = Object.keys(node as object);
    if (keys.length === 0) break;
    const key = keys[choices[i] % keys.length];
    const child = (node as Record<string, unknown>)[key];
    if (i === choices.length - 1 || !child || typeof child !== 'object') {
      (node as Record<string, unknown>)[key] = value;
      break;
    }
    node = child;
  }
  return copy;
}

/** checkConfig must answer: a list of strings, never an exception, quickly. */
function answers(plugin: PluginModule, config: unknown, through: 'pipeline' | 'checkConfig' = 'pipeline'): string[] {
  const started = Date.now();
  let problems: string[];
  try {
    problems = through === 'pipeline' ? validate(plugin, config) : plugin.checkConfig(config);
  } catch (err) {
    throw new Error(`${plugin.Name}: checkConfig threw on ${JSON.stringify(config)?.slice(0, 400)}: ${(err as Error).stack}`);
  }
  expect(Array.isArray(problems)).toBe(true);
  for (const p of problems) expect(typeof p === 'string' && p.length > 0).toBe(true);
  // a config Kong's schema accepted must get the plugin's own words, not a JavaScript TypeError's
  if (through === 'pipeline') expect(problems.filter((p) => /Cannot read properties|is not a function|is not iterable|undefined \(reading/.test(p))).toEqual([]);
  expect(Date.now() - started).toBeLessThan(3000);
  return problems;
}

const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('', ' ', '\u0000', '(a+)+$', '.*'.repeat(50), 'x'.repeat(100_000), -1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2, NaN, [], {}, null, true, '__proto__'),
  fc.string({ maxLength: 200 }),
);

describe('every plugin config schema under fuzzing (definePlugin checkConfig): a clear error, never a crash or a hang', () => {
  const demos = demoConfigs();

  it.each(PLUGINS)('%s: random values anywhere', (name) => {
    const plugin = load(name);
    fc.assert(
      fc.property(hostile, (config) => {
        answers(plugin, config, 'checkConfig');
        answers(plugin, config);
      }),
      { numRuns: FUZZ.runs(150), interruptAfterTimeLimit: FUZZ.timeMs(4000) },
    );
  });

  it.each(PLUGINS.filter((name) => demos.has(name)))('%s: kong.yml demo configs pass, and with one value replaced anywhere an answer comes', (name) => {
    const plugin = load(name);
    for (const config of demos.get(name)!) expect(answers(plugin, config)).toEqual([]);
    fc.assert(
      fc.property(fc.constantFrom(...demos.get(name)!), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), hostile, (config, choices, value) => {
        answers(plugin, mutate(config, choices, value));
      }),
      { numRuns: FUZZ.runs(200), interruptAfterTimeLimit: FUZZ.timeMs(6000) },
    );
  });
});

describe('documents inside configs: OpenAPI (request-guard), Istio manifests (istio-policy-sync), WSDL/XSD (rest-to-soap)', () => {
  const LAUGHS = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]><definitions>&lol9;</definitions>';
  const XXE = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><definitions xmlns="http://schemas.xmlsoap.org/wsdl/">&xxe;</definitions>';
  // YAML's billion laughs: aliases of aliases
  const YAML_LAUGHS = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n';
  const demos = demoConfigs();
  const text = (fragments: string[]) => fc.array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 20 })), { maxLength: 30 }).map((parts) => parts.join(''));

  it('request-guard: random and hostile openapi_spec texts (YAML aliases, deep nesting, $ref cycles) get an answer', () => {
    const plugin = load('request-guard');
    const base = demos.get('request-guard')![0];
    const spec = String(base.openapi_spec);
    const hostileDocs = [YAML_LAUGHS, 'openapi: 3.1.0\ninfo: {title: x, version: "1"}\npaths: {}\ncomponents: {schemas: {A: {$ref: "#/components/schemas/B"}, B: {$ref: "#/components/schemas/A"}}}\n', '['.repeat(5000) + ']'.repeat(5000), `{"openapi":"3.0.0","paths":{"/a":{"get":{"parameters":[{"name":"x","in":"query","schema":{"pattern":"(a+)+$"}}]}}}}`];
    for (const doc of hostileDocs) answers(plugin, { ...base, openapi_spec: doc });
    fc.assert(
      fc.property(fc.nat(spec.length), fc.nat(spec.length), text(['paths:', '$ref: ', "'#/", '{', '}', '[', ']', '\n  ', 'type: ', 'pattern: ', '&a ', '*a', 'openapi: 3.0.3\n']), (from, to, insert) => {
        answers(plugin, { ...base, openapi_spec: spec.slice(0, Math.min(from, to)) + insert + spec.slice(Math.max(from, to)) });
      }),
      { numRuns: FUZZ.runs(120), interruptAfterTimeLimit: FUZZ.timeMs(8000) },
    );
  });

  it('istio-policy-sync: random and hostile inline manifests get an answer', () => {
    const plugin = load('istio-policy-sync');
    const base = { workload: { namespace: 'apis', labels: { app: 'a' }, port: 80 }, kong_identity: { principal: 'cluster.local/ns/kong/sa/kong' } };
    const manifest = fs.readdirSync(path.join(ROOT, 'istio', 'generated', 'zero-trust')).filter((f) => f.endsWith('.yaml')).map((f) => fs.readFileSync(path.join(ROOT, 'istio', 'generated', 'zero-trust', f), 'utf8')).join('\n---\n');
    for (const doc of [YAML_LAUGHS, 'kind: AuthorizationPolicy\napiVersion: security.istio.io/v1\nmetadata: {name: x, namespace: apis}\nspec: {rules: [{to: [{operation: {paths: ["' + '*'.repeat(10000) + '"]}}]}]}\n', '---\n'.repeat(10000)]) {
      answers(plugin, { ...base, source: { manifests: doc } });
    }
    fc.assert(
      fc.property(fc.nat(manifest.length), fc.nat(manifest.length), text(['kind: ', 'spec:', 'rules:', '- ', '{', '}', '\n', '---\n', 'action: ', 'CUSTOM', 'DENY', 'paths: ["', '*', '&a ', '*a']), (from, to, insert) => {
        answers(plugin, { ...base, source: { manifests: manifest.slice(0, Math.min(from, to)) + insert + manifest.slice(Math.max(from, to)) } });
      }),
      { numRuns: FUZZ.runs(120), interruptAfterTimeLimit: FUZZ.timeMs(8000) },
    );
  });

  it('rest-to-soap: random, hostile (billion laughs, XXE) and mutated WSDL files get an answer; no entity is expanded or fetched', () => {
    const plugin = load('rest-to-soap');
    const base = demos.get('rest-to-soap')![0];
    const wsdlPath = path.join(ROOT, String(base.wsdl_path));
    const wsdl = fs.readFileSync(wsdlPath, 'utf8');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsdl-fuzz-'));
    try {
      const check = (content: string) => {
        const file = path.join(dir, 'service.wsdl');
        fs.writeFileSync(file, content);
        return answers(plugin, { ...base, wsdl_path: file });
      };
      for (const doc of [LAUGHS, XXE]) {
        const problems = check(doc);
        expect(problems.length).toBeGreaterThan(0);
        expect(problems.join(' ')).not.toContain('root:');
      }
      fc.assert(
        fc.property(fc.nat(wsdl.length), fc.nat(wsdl.length), text(['<', '>', '</', '<xsd:element name="a" type="tns:', '<xsd:import schemaLocation="', '&amp;', '&#', '<!DOCTYPE', ' minOccurs="', ' maxOccurs="unbounded"', '"']), (from, to, insert) => {
          check(wsdl.slice(0, Math.min(from, to)) + insert + wsdl.slice(Math.max(from, to)));
        }),
        { numRuns: FUZZ.runs(100), interruptAfterTimeLimit: FUZZ.timeMs(8000) },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
