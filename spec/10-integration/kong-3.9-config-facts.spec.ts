import path from 'node:path';
import { KongEmulator } from '../../devkit/emulator/kong';
import { PluginServerProcess } from '../../devkit/emulator/plugin-server-process';
import { SERVER_KINDS, startUpstream, type TestUpstream } from '../helpers/kong-harness';

/**
 * The configuration-side facts of "Kong 3.9 behaviours the emulator must reproduce" (facts 2, 3, 17, 18, 19 of
 * ../shared/kong-plugin-server.md), read in Kong's Lua at tag 3.9.3 and checked from the plugin's side under both
 * plugin servers. The PDK-side facts are in kong-3.9-facts.spec.ts.
 */
const PLUGINS = path.join(__dirname, '..', 'fixtures', 'config-facts-plugins');
const ALICE = '6f1e0b54-7a8f-4c43-9d7e-8c2f6a1b0001';
const json = (body: Buffer) => JSON.parse(body.toString()) as Record<string, any>;

function declarative(upstreamUrl: string, plugins: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return {
    _format_version: '3.0',
    consumers: [{ username: 'alice', id: ALICE }],
    services: [{ name: 'svc', url: upstreamUrl, routes: [{ name: 'r', paths: ['/'], plugins }] }],
    ...extra,
  };
}

describe.each(SERVER_KINDS)('Kong 3.9.3 configuration facts under the %s server', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;

  beforeAll(async () => {
    upstream = await startUpstream();
    kong = new KongEmulator({ vaultEnv: { CF_SECRET: 'top-secret', CF_REDIS_PASSWORD: 'redis-secret' } });
    await kong.addServer({ kind, pluginsDir: PLUGINS });
  });
  afterAll(async () => {
    await kong.close();
    await upstream.close();
  });

  // db/schema/init.lua validate_field: `if not field.len_min then field.len_min = 1 end` for every string
  it('fact 2: "" in a string field without len_min is refused when the config loads (implicit len_min = 1)', () => {
    expect(() => kong.configure(declarative(upstream.url, [{ name: 'cf-config', config: { label: '' } }]))).toThrow(
      /plugin cf-config on route r: config\.label: length must be at least 1/,
    );
    expect(() => kong.configure(declarative(upstream.url, [{ name: 'cf-config', config: { redis: { password: '' } } }]))).toThrow(/config\.redis\.password: length must be at least 1/);
  });

  // db/schema/init.lua process_auto_fields (select): a referenceable field's {vault://...} is resolved in place and
  // collected into data["$refs"] of the record that holds it; kong/vaults/env reads NAME upper-cased, - as _
  it('fact 3: a vault reference is resolved and "$refs" added to each record that holds one; the instance gets it in Config', async () => {
    kong.configure(declarative(upstream.url, [{ name: 'cf-config', config: { secret: '{vault://env/cf-secret}', redis: { password: '{vault://env/cf-redis-password}' } } }]));
    const config = json((await kong.request({ path: '/' })).body);
    expect(config).toMatchObject({
      label: 'default-label',
      secret: 'top-secret',
      $refs: { secret: '{vault://env/cf-secret}' },
      redis: { password: 'redis-secret', port: 6379, $refs: { password: '{vault://env/cf-redis-password}' } },
    });
  });

  // db/dao/plugins.lua sort_by_handler_priority: `if prio_a == prio_b ... return a.name > b.name`
  it('fact 17: plugins of equal priority run by name, descending', async () => {
    kong.configure(declarative(upstream.url, [{ name: 'cf-order-a' }, { name: 'cf-order-b' }]));
    const res = await kong.request({ path: '/' });
    expect(res.headers.getAll('x-order')).toEqual(['cf-order-b', 'cf-order-a']);
  });

  // plugins_iterator.lua get_next_and_collect -> load_configuration_through_combos: each plugin's config is looked
  // up when its turn comes, with ctx.authenticated_consumer as set by the (higher-priority) plugins before it
  it('fact 18: a consumer-scoped config applies once a higher-priority plugin authenticated that consumer', async () => {
    kong.configure(
      declarative(upstream.url, [{ name: 'cf-auth' }, { name: 'cf-config', config: { label: 'route-wide' } }], {
        plugins: [{ name: 'cf-config', consumer: ALICE, config: { label: 'for-alice' } }],
      }),
    );
    expect(json((await kong.request({ path: '/' })).body).label).toBe('route-wide');
    expect(json((await kong.request({ path: '/', headers: { 'x-consumer-id': ALICE } })).body).label).toBe('for-alice');
    expect(json((await kong.request({ path: '/', headers: { 'x-consumer-id': 'someone-else' } })).body).label).toBe('route-wide');
  });
});

describe('fact 19: loading plugin info and schemas as Kong 3.9.3 does', () => {
  const info = (overrides: Record<string, unknown>) => ({ Name: 'p', Version: '1.0.0', Priority: 1, Phases: ['access'], Schema: { name: 'p', fields: [{ config: { type: 'record', fields: [] } }] }, ...overrides });
  const query = (printed: unknown, exitCode = 0) =>
    new PluginServerProcess({
      name: 'q',
      socket: '/nonexistent.sock',
      startCommand: [],
      queryCommand: [process.execPath, '-e', `process.stdout.write(${JSON.stringify(JSON.stringify(printed))}); process.exit(${exitCode})`],
    }).query();

  // plugin_servers/process.lua query_external_plugin_info: io.popen, read, close; the exit status is never looked at
  it('ignores the query command\'s exit status: only what it printed decides', () => {
    expect(query([info({})], 3).map((i) => i.Name)).toEqual(['p']);
    expect(() => query('not a table', 0)).toThrow(/not a plugin info table/);
  });

  // db/dao/plugins.lua load_plugin_handler: valid_priority (an integer) and valid_version (a string, x.y.z)
  it('requires an integer Priority and a string x.y.z Version', () => {
    expect(() => query([info({ Priority: 1.5 })])).toThrow(/PRIORITY field is not a valid integer number/);
    expect(() => query([info({ Version: undefined })])).toThrow(/VERSION field does not follow the "x.y.z" format, got: "undefined"/);
    expect(() => query([info({ Version: 1 })])).toThrow(/VERSION field does not follow the "x.y.z" format/);
    expect(() => query([info({ Version: '1.0' })])).toThrow(/VERSION field does not follow the "x.y.z" format/);
  });

  // metaschema.lua field_schema and validators: there is no `nullable`
  it('refuses schema attributes the metaschema does not have (nullable) and runs validators on defaults', () => {
    const schema = (fields: unknown[]) => ({ name: 'p', fields: [{ config: { type: 'record', fields } }] });
    expect(() => query([info({ Schema: schema([{ r: { type: 'record', nullable: true, fields: [] } }]) })])).toThrow(/unknown field attribute 'nullable'/);
    expect(() => query([info({ Schema: schema([{ s: { type: 'string', starts_with: '/', default: 'x' } }]) })])).toThrow(/config\.s\.default: should start with: \//);
  });
});
