import { checkSchemaDefinition, fillDefaults, resolveVaultReferences, validateConfig, type KongFields } from '../../devkit/emulator/kong-schema';

/** Kong 3.9.3's schema rules as the emulator and `kong-plugins validate` apply them (kong/db/schema/init.lua). */
const validate = (fields: KongFields, config: Record<string, unknown>) => validateConfig(fields, fillDefaults(fields, config));

describe('Kong schema rules (db/schema/init.lua, metaschema.lua at 3.9.3)', () => {
  it('gives every string without len_min an implicit len_min = 1 (validate_field), for fields, elements, map keys and values', () => {
    const fields: KongFields = [
      { plain: { type: 'string' } },
      { maybe_empty: { type: 'string', len_min: 0 } },
      { list: { type: 'array', elements: { type: 'string' } } },
      { labels: { type: 'map', keys: { type: 'string' }, values: { type: 'string' } } },
    ];
    expect(validate(fields, { plain: '' })).toEqual(['config.plain: length must be at least 1']);
    expect(validate(fields, { maybe_empty: '' })).toEqual([]);
    expect(validate(fields, { list: ['a', ''] })).toEqual(['config.list[1]: length must be at least 1']);
    expect(validate(fields, { labels: { a: '' } })).toEqual(['config.labels.a: length must be at least 1']);
    expect(validate(fields, { labels: { '': 'x' } })).toEqual(['config.labels. (key): length must be at least 1']);
  });

  it('counts string length in bytes, as Lua\'s # does', () => {
    expect(validate([{ s: { type: 'string', len_max: 3 } }], { s: 'äbc' })).toEqual(['config.s: length must be at most 3']);
  });

  it('runs Kong\'s validators with Kong\'s messages', () => {
    const fields: KongFields = [
      { path: { type: 'string', starts_with: '/' } },
      { id: { type: 'string', uuid: true } },
      { re: { type: 'string', is_regex: true } },
      { host: { type: 'string', match: '^[%w%.%-]+$' } },
      { token: { type: 'string', not_match: '%s' } },
      { mode: { type: 'string', eq: 'on' } },
      { other: { type: 'string', ne: 'off' } },
      { tags: { type: 'array', elements: { type: 'string' }, contains: 'core' } },
      { pair: { type: 'array', elements: { type: 'integer' }, len_eq: 2 } },
      { name: { type: 'string', not_one_of: ['admin'] } },
      { code: { type: 'string', match_any: { patterns: ['^A', '^B'], err: 'must start with A or B' } } },
    ];
    const good = { path: '/x', id: '8a1e7c1e-0000-4000-8000-000000000001', re: '^a+$', host: 'api.example.com', token: 'abc', mode: 'on', other: 'on', tags: ['core'], pair: [1, 2], name: 'bob', code: 'A1' };
    expect(validate(fields, good)).toEqual([]);
    expect(
      validate(fields, { path: 'x', id: 'nope', re: '(', host: 'bad host', token: 'a b', mode: 'off', other: 'off', tags: ['x'], pair: [1], name: 'admin', code: 'C' }),
    ).toEqual([
      'config.path: should start with: /',
      'config.id: expected a valid UUID',
      'config.re: not a valid regex: (',
      'config.host: invalid value: bad host',
      'config.token: invalid value: a b',
      'config.mode: value must be on',
      'config.other: value must not be off',
      'config.tags: expected to contain: core',
      'config.pair: length must be 2',
      'config.name: must not be one of: admin',
      'config.code: must start with A or B',
    ]);
  });

  it('reports the first failing validator in Kong\'s order (one_of before len_min)', () => {
    expect(validate([{ s: { type: 'string', one_of: ['a', 'b'] } }], { s: '' })).toEqual(['config.s: expected one of: a, b']);
  });

  it('expands only required records; an optional record without a default is stored as null (handle_missing_field)', () => {
    const inner: KongFields = [{ depth: { type: 'integer', default: 2 } }];
    const fields: KongFields = [{ filled: { type: 'record', required: true, fields: inner } }, { optional: { type: 'record', fields: inner } }];
    expect(fillDefaults(fields, {})).toEqual({ filled: { depth: 2 }, optional: null });
  });

  it('removes duplicates from sets (make_set) instead of refusing them', () => {
    expect(fillDefaults([{ s: { type: 'set', elements: { type: 'string' } } }], { s: ['a', 'b', 'a'] })).toEqual({ s: ['a', 'b'] });
  });

  it('runs entity checks of a record field', () => {
    const fields: KongFields = [
      {
        auth: {
          type: 'record',
          required: true,
          fields: [{ user: { type: 'string' } }, { password: { type: 'string' } }, { mode: { type: 'string' } }, { key: { type: 'string' } }],
          entity_checks: [{ mutually_required: ['user', 'password'] }, { conditional: { if_field: 'mode', if_match: { eq: 'key' }, then_field: 'key', then_match: { required: true } } }],
        },
      },
    ];
    expect(validate(fields, { auth: { user: 'u', password: 'p' } })).toEqual([]);
    expect(validate(fields, { auth: { user: 'u', mode: 'key' } })).toEqual([
      "config.auth: all or none of these fields must be set: 'user', 'password'",
      'config.auth.key: required field missing',
    ]);
  });

  it('skips validation of a referenceable field holding a vault reference (it is checked once resolved)', () => {
    const fields: KongFields = [{ secret: { type: 'string', referenceable: true, len_min: 32 } }, { other: { type: 'string', len_min: 32 } }];
    expect(validate(fields, { secret: '{vault://env/my-secret}' })).toEqual([]);
    expect(validate(fields, { other: '{vault://env/my-secret}' })).toEqual(['config.other: length must be at least 32']);
  });

  it('resolves env vault references in place and records them in "$refs" of the record that holds them', () => {
    const fields: KongFields = [
      { token: { type: 'string', referenceable: true } },
      { redis: { type: 'record', required: true, fields: [{ password: { type: 'string', referenceable: true } }, { host: { type: 'string' } }] } },
      { keys: { type: 'array', elements: { type: 'string', referenceable: true } } },
      { missing: { type: 'string', referenceable: true } },
    ];
    const env = { MY_TOKEN: 't0k3n', REDIS_PASS: 'pw', JSON_KEYS: '{"a":"key-a"}' };
    const resolved = resolveVaultReferences(
      fields,
      { token: '{vault://env/my-token}', redis: { password: '{vault://env/redis_pass}', host: 'h' }, keys: ['plain', '{vault://env/json-keys/a}'], missing: '{vault://env/nope}' },
      env,
    );
    expect(resolved).toEqual({
      token: 't0k3n',
      redis: { password: 'pw', host: 'h', $refs: { password: '{vault://env/redis_pass}' } },
      keys: ['plain', 'key-a'],
      // an unresolvable reference becomes "" (resolve_reference), still named in $refs
      missing: '',
      $refs: { token: '{vault://env/my-token}', keys: { '2': '{vault://env/json-keys/a}' }, missing: '{vault://env/nope}' },
    });
  });

  it('refuses schema attributes Kong\'s metaschema does not know (there is no `nullable`)', () => {
    expect(checkSchemaDefinition([{ r: { type: 'record', nullable: true, fields: [] } }])).toEqual(["config.r: unknown field attribute 'nullable'"]);
    expect(checkSchemaDefinition([{ r: { type: 'string', between: [1, 2] } }])).toEqual(["config.r: field of type 'string' cannot have attribute 'between'"]);
    expect(checkSchemaDefinition([{ r: { type: 'string', len_min: 1.5 } }])).toEqual(['config.r.len_min: expected an integer']);
    expect(checkSchemaDefinition([{ r: { type: 'string', transient: true, deprecation: { message: 'm', removal_in_version: '4.0' } } }])).toEqual([]);
  });
});
