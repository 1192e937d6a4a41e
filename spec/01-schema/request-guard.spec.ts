import path from 'node:path';
import { checkSchemaDefinition, fillDefaults, validateConfig, type KongFields } from '../../devkit/emulator/kong-schema';
import { Schema, checkConfig } from '../../plugins/request-guard';

/** The dumped schema passes Kong's metaschema rules; bad configs are refused naming the field (0-based paths). */
const fields = Schema as unknown as KongFields;
const ORDERS = path.join(__dirname, '../fixtures/request-guard/openapi/split/orders.yaml');
const check = (config: Record<string, unknown>) => checkConfig(fillDefaults(fields, config));

describe('request-guard schema', () => {
  it('is a valid Kong plugin schema, and an empty config is valid with every default', () => {
    expect(checkSchemaDefinition(fields)).toEqual([]);
    const filled = fillDefaults(fields, {});
    expect(validateConfig(fields, filled)).toEqual([]);
    expect(filled).toMatchObject({ unknown_operation: 'reject', error_detail: 'production', multipart: 'refuse', injection: { sql: 'block', crlf: 'block' }, limits: { max_body_bytes: 1048576, max_json_depth: 32 } });
    expect(check({})).toEqual([]);
  });

  it('refuses what Kong refuses: unknown actions, limits out of range, a bad base_path', () => {
    expect(validateConfig(fields, fillDefaults(fields, { injection: { sql: 'maybe' } })).join()).toMatch(/injection\.sql/);
    expect(check({ limits: { max_json_depth: 0 } }).join()).toMatch(/limits\.max_json_depth/);
    expect(check({ base_path: 'no-slash' }).join()).toMatch(/base_path/);
  });

  it('refuses contracts it cannot load, naming the field', () => {
    expect(check({ openapi_spec: 'openapi: 2.0\npaths: {}' }).join()).toMatch(/openapi_spec: openapi must be 3\.0\.x or 3\.1\.x/);
    expect(check({ openapi_spec: '{"openapi":"3.1.0","paths":{"/a":{"get":{"parameters":[{"$ref":"#/components/parameters/nope"}]}}}}' }).join()).toMatch(/openapi_spec: \$ref "#\/components\/parameters\/nope" .*points nowhere/);
    expect(check({ openapi_spec: '{"openapi":"3.0.3","paths":{"/a":{"$ref":"http://example.com/a.json"}}}' }).join()).toMatch(/not a local file/);
    expect(check({ json_schema: 'not json' }).join()).toMatch(/json_schema: is not JSON/);
    expect(check({ free_text: ['query'] }).join()).toMatch(/free_text/);
    expect(check({ openapi_file: ORDERS, free_text: ['body/snippet', 'body/items/*/sku'] })).toEqual([]);
  });
});
