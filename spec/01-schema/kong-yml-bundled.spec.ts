import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { BUNDLED_PLUGIN_CONFIG, ENTITIES, pluginSchemaPath, type FieldRule } from './kong-bundled-schemas';

/**
 * kong.yml's bundled-plugin configs, routes and consumer credentials against the fields of Kong 3.9.3's schemas
 * (kong-bundled-schemas.ts), offline. Custom plugins are `kong-plugins validate`'s job (validate-cli.spec.ts).
 * Where a git mirror of Kong is present (KONG_GIT_DIR, default /work/.mirror/Kong+kong/repo), every table entry is
 * checked against Kong's Lua at tag 3.9.3 as well; without it that part is skipped and says so.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const KONG_TAG = '3.9.3';
const KONG_GIT_DIR = process.env.KONG_GIT_DIR ?? '/work/.mirror/Kong+kong/repo';

type Raw = Record<string, unknown>;
interface PluginUse {
  where: string;
  name: string;
  config: unknown;
}

/** Problems of `value` against `rule`, with dotted paths. */
export function checkValue(value: unknown, rule: FieldRule, at: string): string[] {
  const problems: string[] = [];
  const typeOk = (() => {
    switch (rule.type) {
      case 'string': return typeof value === 'string' && value.length > 0; // Kong's implicit len_min = 1
      case 'boolean': return typeof value === 'boolean';
      case 'number': return typeof value === 'number';
      case 'integer': return Number.isInteger(value);
      case 'array': case 'set': return Array.isArray(value);
      case 'record': case 'map': return !!value && typeof value === 'object' && !Array.isArray(value);
    }
  })();
  if (!typeOk) return [`${at}: expected ${rule.type}, got ${JSON.stringify(value)}`];
  if (rule.one_of && !rule.one_of.includes(value as string | number)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${rule.one_of.join(', ')}`);
  if (rule.elements) (value as unknown[]).forEach((v, i) => problems.push(...checkValue(v, rule.elements!, `${at}[${i}]`)));
  if (rule.type === 'set' && new Set((value as unknown[]).map((v) => JSON.stringify(v))).size !== (value as unknown[]).length) problems.push(`${at}: duplicate elements`);
  if (rule.values) for (const [k, v] of Object.entries(value as Raw)) problems.push(...checkValue(v, rule.values, `${at}.${k}`));
  if (rule.fields) problems.push(...checkRecord(value as Raw, rule.fields, at));
  return problems;
}

export function checkRecord(value: Raw, fields: Readonly<Record<string, FieldRule>>, at: string): string[] {
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const rule = fields[key];
    if (!rule) problems.push(`${at}.${key}: unknown field`);
    else if (v !== null) problems.push(...checkValue(v, rule, `${at}.${key}`));
  }
  return problems;
}

/** Every plugin entry of a declarative config, wherever it is nested. */
export function pluginUses(doc: Raw): PluginUse[] {
  const uses: PluginUse[] = [];
  const add = (list: unknown, where: string) => {
    for (const p of (list ?? []) as Raw[]) uses.push({ where: `${where} plugin ${String(p.name)}`, name: String(p.name), config: p.config ?? {} });
  };
  add(doc.plugins, 'global');
  for (const s of (doc.services ?? []) as Raw[]) {
    add(s.plugins, `service ${String(s.name)}`);
    for (const r of (s.routes ?? []) as Raw[]) add(r.plugins, `route ${String(r.name)}`);
  }
  for (const r of (doc.routes ?? []) as Raw[]) add(r.plugins, `route ${String(r.name)}`);
  for (const c of (doc.consumers ?? []) as Raw[]) add(c.plugins, `consumer ${String(c.username)}`);
  return uses;
}

const CUSTOM_PLUGINS = new Set(fs.readdirSync(path.join(ROOT, 'plugins')));

/** All problems of a declarative document's bundled parts. */
export function checkDocument(doc: Raw): string[] {
  const problems: string[] = [];
  for (const use of pluginUses(doc)) {
    if (CUSTOM_PLUGINS.has(use.name)) continue;
    const fields = BUNDLED_PLUGIN_CONFIG[use.name];
    if (!fields) {
      problems.push(`${use.where}: bundled plugin not in kong-bundled-schemas.ts (add its fields from Kong ${KONG_TAG})`);
      continue;
    }
    problems.push(...checkRecord(use.config as Raw, fields, `${use.where}: config`));
  }
  const routes = [
    ...((doc.services ?? []) as Raw[]).flatMap((s) => ((s.routes ?? []) as Raw[]).map((r) => ({ r, at: `service ${String(s.name)} route ${String(r.name)}` }))),
    ...((doc.routes ?? []) as Raw[]).map((r) => ({ r, at: `route ${String(r.name)}` })),
  ];
  for (const { r, at } of routes) {
    const fields = Object.fromEntries(Object.entries(r).filter(([key]) => key !== 'plugins' && key !== 'service'));
    problems.push(...checkRecord(fields, ENTITIES.routes.fields, at));
  }
  for (const c of (doc.consumers ?? []) as Raw[]) {
    for (const entity of ['keyauth_credentials', 'jwt_secrets', 'oauth2_credentials', 'acls'] as const) {
      ((c[entity] ?? []) as Raw[]).forEach((cred, i) => problems.push(...checkRecord(cred, ENTITIES[entity].fields, `consumer ${String(c.username)} ${entity}[${i}]`)));
    }
  }
  return problems;
}

const kongYml = YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')) as Raw;

describe('kong.yml: bundled plugins, routes and credentials against Kong 3.9.3 schema fields (offline)', () => {
  it('configures every bundled plugin the deployment delivers', () => {
    const used = new Set(pluginUses(kongYml).map((u) => u.name));
    const wanted = ['key-auth', 'jwt', 'oauth2', 'ldap-auth', 'acl', 'ip-restriction', 'cors', 'request-size-limiting', 'request-transformer',
      'response-transformer', 'proxy-cache', 'prometheus', 'opentelemetry', 'correlation-id'];
    expect(wanted.filter((name) => !used.has(name))).toEqual([]);
  });

  it('configures every custom plugin under plugins/', () => {
    const used = new Set(pluginUses(kongYml).map((u) => u.name));
    expect([...CUSTOM_PLUGINS].filter((name) => fs.existsSync(path.join(ROOT, 'plugins', name, 'index.ts')) && !used.has(name))).toEqual([]);
  });

  it('uses only known fields with the right types and one_of values', () => {
    expect(checkDocument(kongYml)).toEqual([]);
  });

  it('has an HTTPS-only route that redirects plain HTTP (route protocols, not a plugin)', () => {
    const routes = ((kongYml.services ?? []) as Raw[]).flatMap((s) => (s.routes ?? []) as Raw[]);
    const redirecting = routes.filter((r) => JSON.stringify(r.protocols) === '["https"]' && [301, 302, 307, 308].includes(r.https_redirect_status_code as number));
    expect(redirecting.map((r) => r.name)).toContain('secure-api');
  });

  it('expresses tenants as tagged consumers with ACL groups (Kong OSS has no consumer_groups)', () => {
    expect(kongYml.consumer_groups).toBeUndefined();
    const consumers = (kongYml.consumers ?? []) as Raw[];
    expect(consumers.length).toBeGreaterThanOrEqual(2);
    for (const c of consumers) {
      expect((c.tags as string[]).some((t) => t.startsWith('tenant:'))).toBe(true);
      expect(((c.acls ?? []) as Raw[]).length).toBeGreaterThan(0);
    }
  });

  it('catches a broken copy: unknown field, wrong type, value outside one_of, unknown bundled plugin, bad redirect code', () => {
    const broken = YAML.parse(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')) as Raw;
    const globals = broken.plugins as Raw[];
    (globals.find((p) => p.name === 'correlation-id')!.config as Raw).generator = 'uuid4';
    (globals.find((p) => p.name === 'prometheus')!.config as Raw).per_consumer = 'yes';
    globals.push({ name: 'rate-limiting', config: { minute: 5 } });
    const services = broken.services as Raw[];
    const secure = (services.find((s) => s.name === 'secure-api')!.routes as Raw[])[0];
    secure.https_redirect_status_code = 303;
    ((secure.plugins as Raw[])[0].config as Raw).allowlist = ['127.0.0.1'];
    const problems = checkDocument(broken);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringContaining('global plugin correlation-id: config.generator: "uuid4" is not one of'),
      expect.stringContaining('global plugin prometheus: config.per_consumer: expected boolean'),
      expect.stringContaining('global plugin rate-limiting: bundled plugin not in kong-bundled-schemas.ts'),
      expect.stringContaining('route secure-api.https_redirect_status_code: 303 is not one of'),
      expect.stringContaining('route secure-api plugin ip-restriction: config.allowlist: unknown field'),
    ]));
  });
});

/** A file of Kong's tree at KONG_TAG, or undefined when no mirror is here. */
function kongSource(file: string): string | undefined {
  const run = spawnSync('git', ['-C', KONG_GIT_DIR, 'show', `${KONG_TAG}:${file}`], { encoding: 'utf8', maxBuffer: 8 << 20 });
  return run.status === 0 ? run.stdout : undefined;
}

const mirror = fs.existsSync(KONG_GIT_DIR) && kongSource('kong/meta.lua') !== undefined;
const withMirror = mirror ? describe : describe.skip;
const mirrorNote = mirror ? `(Kong git mirror ${KONG_GIT_DIR} at ${KONG_TAG})` : `[SKIPPED: no Kong git mirror at ${KONG_GIT_DIR}; set KONG_GIT_DIR]`;

/** Problems of a table entry against the Lua source: field declared, inline type equal, one_of values present. */
function crossCheck(lua: string, fields: Readonly<Record<string, FieldRule>>, at: string): string[] {
  const problems: string[] = [];
  const lines = lua.split('\n');
  for (const [name, rule] of Object.entries(fields)) {
    const decl = new RegExp(`\\{\\s*(?:${name.replace(/[-]/g, '\\-')}|\\[\\s*"${name}"\\s*\\])\\s*=`);
    const line = lines.find((l) => decl.test(l));
    if (!line) {
      problems.push(`${at}.${name}: not declared in Kong's source`);
      continue;
    }
    const inline = /\btype\s*=\s*"(\w+)"/.exec(line);
    // an inline type on the declaration line must agree (number/integer matters: Kong refuses 1.5 for an integer)
    if (inline && !/elements\s*=/.test(line.slice(0, inline.index)) && inline[1] !== rule.type) problems.push(`${at}.${name}: Kong says ${inline[1]}, the table says ${rule.type}`);
    for (const value of [...(rule.one_of ?? []), ...(rule.elements?.one_of ?? [])]) {
      if (!lua.includes(typeof value === 'string' ? `"${value}"` : String(value))) problems.push(`${at}.${name}: one_of value ${JSON.stringify(value)} not in Kong's source`);
    }
  }
  return problems;
}

withMirror(`kong-bundled-schemas.ts against Kong's Lua ${mirrorNote}`, () => {
  it.each(Object.keys(BUNDLED_PLUGIN_CONFIG))('%s: every config field of the table is declared in its schema.lua', (name) => {
    const lua = kongSource(pluginSchemaPath(name));
    expect(lua).toBeDefined();
    const companions = name === 'request-size-limiting' ? [kongSource('kong/plugins/request-size-limiting/handler.lua') ?? ''] : name === 'proxy-cache' ? [kongSource('kong/plugins/proxy-cache/strategies/init.lua') ?? ''] : [];
    expect(crossCheck([lua!, ...companions].join('\n'), BUNDLED_PLUGIN_CONFIG[name], name)).toEqual([]);
  });

  it.each(Object.keys(ENTITIES))('%s: every field of the table is declared in Kong\'s entity schema', (entity) => {
    const lua = kongSource(ENTITIES[entity].source);
    expect(lua).toBeDefined();
    const extra = entity === 'routes' ? [kongSource('kong/db/schema/typedefs.lua') ?? ''] : [];
    expect(crossCheck([lua!, ...extra].join('\n'), ENTITIES[entity].fields, entity)).toEqual([]);
  });

  it('the cross-check fails on a field Kong does not have', () => {
    const lua = kongSource(pluginSchemaPath('cors'))!;
    expect(crossCheck(lua, { allow_origins: { type: 'array' } }, 'cors')).toEqual(['cors.allow_origins: not declared in Kong\'s source']);
    expect(crossCheck(lua, { max_age: { type: 'string' } }, 'cors')).toEqual(['cors.max_age: Kong says number, the table says string']);
  });
});
