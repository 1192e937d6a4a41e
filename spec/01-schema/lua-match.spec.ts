import fs from 'node:fs';
import path from 'node:path';
import { luaPatternFind } from '../../devkit/emulator/lua-pattern';
import { fillDefaults, validateConfig, type KongFields } from '../../devkit/emulator/kong-schema';
import type { PluginSchema } from '../../shared/schema';

/**
 * Every string field that carries both a JavaScript `pattern` (checked at instance start) and a Lua `lua_match`
 * (Kong's `match`, checked when kong.yml loads) says the same thing in both: on a set of probes both accept or both
 * refuse. Lua's matcher is the emulator's port of lstrlib, itself cross-checked against luajit
 * (spec/02-unit/emulator/lua-pattern.spec.ts). And Kong refuses at load what the instance start would refuse.
 */
const PLUGINS = fs.readdirSync(path.join(__dirname, '..', '..', 'plugins')).filter((name) => fs.existsSync(path.join(__dirname, '..', '..', 'plugins', name, 'schema.ts')));

const PROBES = ['/', '/a', '/a/b-c_d.e', 'a', 'a/', '/a?b', '/a#b', '/é', 'US', 'us', 'U', 'USA', 'application/json', 'text/*', '*/*', 'application/vnd.api+json', 'bad type', 'a/b/c', 'A_b', '_x', '1x', 'x-y', 'X-Header', 'has space', '%', 'a%b', 'x.y-z', '-x', '.x', 'name.v2', "x!#$&'*+.^_`|~-y", 'x"y', 'x:y'];

interface Paired {
  path: string;
  pattern: string;
  luaMatch: string;
}

/** Fields with both rules, by walking Kong's fields and the JSON Schema side by side. */
function paired(kong: Array<Record<string, any>>, json: Record<string, any>, prefix: string, out: Paired[]): Paired[] {
  for (const entry of kong) {
    const [name, def] = Object.entries(entry)[0];
    const schema = json?.properties?.[name];
    visit(def, schema, `${prefix}${name}`, out);
  }
  return out;
}

function visit(def: Record<string, any>, schema: Record<string, any> | undefined, where: string, out: Paired[]): void {
  const plain = schema?.anyOf ? schema.anyOf.find((s: any) => s.type !== 'null') : schema;
  if (def.type === 'string' && def.match) out.push({ path: where, pattern: plain?.pattern, luaMatch: def.match });
  if (def.type === 'record') paired(def.fields, plain, `${where}.`, out);
  if ((def.type === 'array' || def.type === 'set') && def.elements) visit(def.elements, plain?.items, `${where}[]`, out);
}

it('Kong checks the Lua form of 17 patterns or more when kong.yml loads', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const count = PLUGINS.map((plugin) => (require(`../../plugins/${plugin}`) as { schema: PluginSchema<unknown> }).schema).reduce((n, s) => n + paired(s.kong, s.json, 'config.', []).length, 0);
  expect(count).toBeGreaterThanOrEqual(17);
});

describe.each(PLUGINS)('%s: lua_match and pattern agree', (plugin) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const schema = (require(`../../plugins/${plugin}`) as { schema: PluginSchema<unknown> }).schema;
  const fields = paired(schema.kong, schema.json, 'config.', []);

  it('on every probe, for every field with both', () => {
    const disagreements: string[] = [];
    for (const f of fields) {
      expect(f.pattern).toBeDefined();
      const js = new RegExp(f.pattern, 'u');
      for (const probe of PROBES) if (js.test(probe) !== luaPatternFind(probe, f.luaMatch)) disagreements.push(`${f.path} ${JSON.stringify(probe)}: JS ${js.test(probe)}, Lua ${!js.test(probe)}`);
    }
    expect(disagreements).toEqual([]);
  });
});

describe('Kong refuses at load what the instance start would refuse', () => {
  it.each([
    ['bot-guard', { behaviour: { trap_paths: ['/.env', 'wp-admin'] } }, 'config.behaviour.trap_paths[1]: invalid value: wp-admin'],
    ['rest-to-soap', { wsdl_path: '/x.wsdl', endpoint_path: 'calc.asmx' }, 'config.endpoint_path: invalid value: calc.asmx'],
    ['request-guard', { base_path: '/api?x' }, 'config.base_path: invalid value: /api?x'],
    ['pii-masking', { default_region: 'usa' }, 'config.default_region: invalid value: usa'],
    ['tenant-quota', { plans: [{ name: 'gold plan', limits: [] }] }, 'config.plans[0].name: invalid value: gold plan'],
  ])('%s %j', (plugin, config, where) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = (require(`../../plugins/${plugin}`) as { schema: PluginSchema<unknown> }).schema;
    const kong = schema.kong as unknown as KongFields;
    expect(validateConfig(kong, fillDefaults(kong, config as Record<string, unknown>))).toContain(where);
  });
});
