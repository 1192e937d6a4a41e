import { checkSchemaDefinition, fillDefaults, validateConfig, type KongFields } from '../../devkit/emulator/kong-schema';
import { definePlugin } from '../../shared/plugin';
import { ConfigError, defineSchema, field } from '../../shared/schema';

const fields = {
  name: field.string({ required: true, len_min: 1, description: 'the name of the thing' }),
  mode: field.string({ one_of: ['fast', 'safe'] as const, default: 'safe', description: 'how it runs: fast or safe' }),
  limit: field.integer({ between: [1, 100], default: 10, description: 'the limit of requests' }),
  ratio: field.number({ gt: 0, description: 'a positive ratio' }),
  enabled: field.boolean({ default: true, description: 'turns it on or off' }),
  when: field.string({ format: 'date-time', description: 'an instant in time' }),
  tags: field.set(field.string(), { default: [], description: 'free-form tags' }),
  items: field.array(field.record({ id: field.string({ required: true, description: 'the item id' }), weight: field.integer({ default: 1, description: 'the item weight' }) }), {
    default: [],
    description: 'items to weigh',
  }),
  labels: field.map(field.string(), field.string(), { description: 'key-value labels' }),
  nested: field.record({ depth: field.integer({ default: 2, description: 'how deep it goes' }) }, { description: 'a nested record' }),
};

const schema = defineSchema('demo', fields, [(c) => (c.name === 'reserved' ? ['name', 'is reserved'] : undefined)]);

/** What Kong sends: schema-defaulted config (the emulator fills it as Kong does) plus Kong's extra fields. */
function asKongSendsIt(config: Record<string, unknown>) {
  return { ...fillDefaults(schema.kong as unknown as KongFields, config), route_id: 'r1', __plugin_id: 'p1', __seq__: 4, __key__: 'k', __ws_id: 'w' };
}

describe('schema builder: one definition, two schemas', () => {
  it('produces a Kong schema Kong accepts (metaschema-level checks)', () => {
    expect(checkSchemaDefinition(schema.kong)).toEqual([]);
    expect(schema.kong).toContainEqual({ mode: { type: 'string', one_of: ['fast', 'safe'], default: 'safe', description: 'how it runs: fast or safe' } });
    expect(schema.kong).toContainEqual({ limit: { type: 'integer', between: [1, 100], default: 10, description: 'the limit of requests' } });
    expect(schema.kong).toContainEqual({
      items: {
        type: 'array',
        elements: { type: 'record', fields: [{ id: { type: 'string', required: true, description: 'the item id' } }, { weight: { type: 'integer', default: 1, description: 'the item weight' } }] },
        default: [],
        description: 'items to weigh',
      },
    });
  });

  it('is checked against the metaschema rules Kong loads plugin schemas with', () => {
    expect(checkSchemaDefinition([{ x: { type: 'string', description: 'too short' } }])).toEqual(['config.x.description: length must be between 10 and 500']);
    expect(checkSchemaDefinition([{ x: { type: 'boolean', one_of: [true] } }])).toEqual(["config.x: field of type 'boolean' cannot have attribute 'one_of'"]);
    expect(checkSchemaDefinition([{ x: { type: 'string', pattern: '^a' } }])).toEqual(["config.x: unknown field attribute 'pattern'"]);
    expect(checkSchemaDefinition([{ x: { type: 'array' } }])).toEqual(["config.x: field of type 'array' must declare 'elements'"]);
  });

  it('accepts what Kong sends for a valid config, splitting off Kong\'s fields', () => {
    const { config, meta } = schema.parse(asKongSendsIt({ name: 'x', when: '2026-01-02T03:04:05Z', items: [{ id: 'a' }], labels: { a: 'b' } }));
    expect(config).toMatchObject({ name: 'x', mode: 'safe', limit: 10, ratio: null, enabled: true, items: [{ id: 'a', weight: 1 }], nested: { depth: 2 } });
    expect(config).not.toHaveProperty('__seq__');
    expect(meta).toEqual({ pluginId: 'p1', routeId: 'r1', serviceId: undefined, consumerId: undefined, instanceName: undefined, seq: 4 });
  });

  it.each([
    [{ name: '' }, 'config.name: must NOT have fewer than 1 characters (minLength)'],
    [{}, 'config.name: required field missing (required)'],
    [{ name: 'x', mode: 'turbo' }, 'config.mode: must be one of: fast, safe (enum)'],
    [{ name: 'x', limit: 0 }, 'config.limit: must be >= 1 (minimum)'],
    [{ name: 'x', limit: 2.5 }, 'config.limit: must be integer (type)'],
    [{ name: 'x', ratio: 0 }, 'config.ratio: must be > 0 (exclusiveMinimum)'],
    [{ name: 'x', when: 'yesterday' }, 'config.when: must match format "date-time" (format)'],
    [{ name: 'x', tags: ['a', 'a'] }, 'config.tags: must NOT have duplicate items (items ## 1 and 0 are identical) (uniqueItems)'],
    [{ name: 'x', items: [{ weight: 2 }] }, 'config.items[0].id: required field missing (required)'],
    [{ name: 'x', typo: 1 }, 'config.typo: unknown field (additionalProperties)'],
    [{ name: 'reserved' }, 'config.name: is reserved'],
  ])('rejects %j naming the field and the rule', (input, message) => {
    let error: unknown;
    try {
      schema.parse({ ...fillDefaults(schema.kong as unknown as KongFields, {}), ...input, __seq__: 1 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toContain(message);
    expect((error as Error).message).toContain('invalid configuration for plugin "demo"');
  });

  it('agrees with Kong-side validation on what is invalid', () => {
    const kongSide = (config: Record<string, unknown>) => validateConfig(schema.kong as unknown as KongFields, fillDefaults(schema.kong as unknown as KongFields, config));
    expect(kongSide({ name: 'x' })).toEqual([]);
    expect(kongSide({ name: 'x', mode: 'turbo' })).toEqual(['config.mode: expected one of: fast, safe']);
    expect(kongSide({ name: 'x', limit: 1000 })).toEqual(['config.limit: value should be between 1 and 100']);
    expect(kongSide({})).toEqual(['config.name: required field missing']);
  });

  it('refuses "" in a string field without len_min, as Kong does (implicit len_min = 1, db/schema/init.lua validate_field)', () => {
    const strings = defineSchema('strings', {
      plain: field.string({ description: 'a plain optional string' }),
      empty_ok: field.string({ len_min: 0, description: 'a string that may be empty' }),
      list: field.array(field.string(), { default: [], description: 'a list of strings' }),
      labels: field.map(field.string(), field.string(), { description: 'key-value labels' }),
    });
    const parse = (config: Record<string, unknown>) => () => strings.parse({ ...fillDefaults(strings.kong as unknown as KongFields, {}), ...config });
    expect(parse({ plain: '' })).toThrow(/config\.plain: must NOT have fewer than 1 characters/);
    expect(parse({ list: [''] })).toThrow(/config\.list\[0\]: must NOT have fewer than 1 characters/);
    expect(parse({ labels: { a: '' } })).toThrow(/config\.labels\.a: must NOT have fewer than 1 characters/);
    expect(parse({ empty_ok: '' })).not.toThrow();
    expect(parse({ plain: 'x', list: ['y'], labels: { a: 'b' } })).not.toThrow();
  });

  it('accepts and drops the "$refs" Kong adds to every record holding a resolved vault reference (process_auto_fields)', () => {
    const secretive = defineSchema('secretive', {
      password: field.string({ referenceable: true, description: 'a password, vault references accepted' }),
      redis: field.record({ password: field.string({ referenceable: true, description: 'the redis password' }) }),
      keys: field.array(field.record({ secret: field.string({ referenceable: true, description: 'one secret of many' }) }), { default: [], description: 'a list of secrets' }),
    });
    // what Kong 3.9 sends after resolving {vault://env/...} in three records: the value in place, the reference in $refs
    const sent = {
      password: 'resolved-1',
      $refs: { password: '{vault://env/top}' },
      redis: { password: 'resolved-2', $refs: { password: '{vault://env/redis}' } },
      keys: [{ secret: 'resolved-3', $refs: { secret: '{vault://env/key}' } }, { secret: 'plain' }],
    };
    const { config } = secretive.parse(sent);
    expect(config).toEqual({ password: 'resolved-1', redis: { password: 'resolved-2' }, keys: [{ secret: 'resolved-3' }, { secret: 'plain' }] });
  });

  it('accepts an empty array Kong encoded as {} (cjson without an array metatable)', () => {
    expect(() => schema.parse(asKongSendsIt({ name: 'x', tags: {} }))).not.toThrow();
  });
});

describe('definePlugin', () => {
  class Handler {
    constructor(readonly config: unknown) {}
    async access(): Promise<void> {}
    async log(): Promise<void> {}
  }
  const plugin = definePlugin({ name: 'demo-plugin', version: '1.0.0', priority: 900, fields: { name: fields.name }, failurePolicy: 'fail_open', Handler });

  it('exports the kong-pdk module shape with only the phases the handler has', () => {
    expect(plugin).toMatchObject({ Name: 'demo-plugin', Version: '1.0.0', Priority: 900 });
    expect(typeof plugin.Plugin.prototype.access).toBe('function');
    expect(typeof plugin.Plugin.prototype.log).toBe('function');
    expect(plugin.Plugin.prototype.rewrite).toBeUndefined();
    expect(plugin.Plugin.prototype.response).toBeUndefined();
  });

  it('adds a failure_policy field with the plugin\'s default', () => {
    expect(plugin.Schema).toContainEqual({
      failure_policy: expect.objectContaining({ type: 'string', one_of: ['fail_open', 'fail_closed'], default: 'fail_open' }),
    });
  });

  it('fails instance start on invalid config', () => {
    expect(() => new plugin.Plugin({ name: '', failure_policy: 'fail_open' })).toThrow(/config\.name/);
    expect(() => new plugin.Plugin({ name: 'ok', failure_policy: 'sometimes' })).toThrow(/config\.failure_policy: must be one of: fail_open, fail_closed/);
  });
});

describe('an unresolved vault reference (Kong sends "")', () => {
  // db/schema/init.lua resolve_reference returns `deref or ""` and keeps it: the instance must still start
  const schema = defineSchema('vault-probe', {
    password: field.string({ len_min: 1, referenceable: true, encrypted: true, description: 'A referenceable secret.' }),
    token_key: field.string({ len_min: 16, referenceable: true, description: 'A key that must be long enough.' }),
    name: field.string({ description: 'A plain string field.' }),
  });
  const parse = (config: Record<string, unknown>) => () => schema.parse({ ...config, __seq__: 1 });

  it('is taken by a referenceable field with len_min <= 1, so the plugin\'s own failure mode decides (not a 500 per request)', () => {
    expect(parse({ password: '', $refs: { password: '{vault://env/missing}' } })).not.toThrow();
  });

  it('still refuses where the field demands more (a token key), and a plain field keeps Kong\'s implicit len_min = 1', () => {
    expect(parse({ token_key: '' })).toThrow(/config.token_key/);
    expect(parse({ name: '' })).toThrow(/config.name/);
  });
});
