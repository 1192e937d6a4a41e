/**
 * The fields of Kong 3.9.3's bundled plugins and entities that kong.yml may use, as a small typed table (field names,
 * types, one_of values; written from kong/plugins/<name>/schema.lua and daos.lua, kong/db/schema/entities/*.lua at
 * tag 3.9.3 — none of Kong's code is copied). spec/01-schema/kong-yml-bundled.spec.ts checks kong.yml against it
 * and, where a Kong git mirror is available, checks every entry against Kong's Lua source again.
 *
 * Top-level config fields are listed completely for every plugin here; nested records only where kong.yml or a
 * likely edit uses them (`fields` absent: the record's content is not checked offline, `deck gateway validate`
 * checks it in the deck workflow).
 */
export type FieldType = 'string' | 'boolean' | 'number' | 'integer' | 'array' | 'set' | 'record' | 'map';

export interface FieldRule {
  type: FieldType;
  one_of?: readonly (string | number)[];
  /** array/set elements */
  elements?: FieldRule;
  /** record fields (absent: not checked deeper) */
  fields?: Readonly<Record<string, FieldRule>>;
  /** map values */
  values?: FieldRule;
}

const str: FieldRule = { type: 'string' };
const bool: FieldRule = { type: 'boolean' };
const num: FieldRule = { type: 'number' };
const int: FieldRule = { type: 'integer' };
const strings: FieldRule = { type: 'array', elements: str };
const record = (fields?: Record<string, FieldRule>): FieldRule => ({ type: 'record', ...(fields ? { fields } : {}) });

const HTTP_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

const transformerRequestRecord = (withUri: boolean) => record({ body: strings, headers: strings, querystring: strings, ...(withUri ? { uri: str } : {}) });
const transformerResponseRecord = (withTypes: boolean) =>
  record({ json: strings, headers: strings, ...(withTypes ? { json_types: { type: 'array', elements: { type: 'string', one_of: ['boolean', 'number', 'string'] } } } : {}) });

/** plugin name -> its `config` record's fields */
export const BUNDLED_PLUGIN_CONFIG: Readonly<Record<string, Readonly<Record<string, FieldRule>>>> = {
  'key-auth': {
    key_names: strings, hide_credentials: bool, anonymous: str, key_in_header: bool, key_in_query: bool, key_in_body: bool,
    run_on_preflight: bool, realm: str,
  },
  jwt: {
    uri_param_names: { type: 'set', elements: str }, cookie_names: { type: 'set', elements: str }, key_claim_name: str,
    secret_is_base64: bool, claims_to_verify: { type: 'set', elements: { type: 'string', one_of: ['exp', 'nbf'] } }, anonymous: str,
    run_on_preflight: bool, maximum_expiration: num, header_names: { type: 'set', elements: str }, realm: str,
  },
  oauth2: {
    scopes: strings, mandatory_scope: bool, provision_key: str, token_expiration: num, enable_authorization_code: bool,
    enable_implicit_grant: bool, enable_client_credentials: bool, enable_password_grant: bool, hide_credentials: bool,
    accept_http_if_already_terminated: bool, anonymous: str, global_credentials: bool, auth_header_name: str,
    refresh_token_ttl: num, reuse_refresh_token: bool, pkce: { type: 'string', one_of: ['none', 'lax', 'strict'] },
    realm: str,
  },
  'ldap-auth': {
    ldap_host: str, ldap_port: int, ldaps: bool, start_tls: bool, verify_ldap_host: bool, base_dn: str, attribute: str,
    cache_ttl: num, hide_credentials: bool, timeout: num, keepalive: num, anonymous: str, header_type: str, realm: str,
  },
  acl: { allow: strings, deny: strings, hide_groups_header: bool, always_use_authenticated_groups: bool },
  'ip-restriction': { allow: strings, deny: strings, status: num, message: str },
  cors: {
    origins: strings, headers: strings, exposed_headers: strings,
    methods: { type: 'array', elements: { type: 'string', one_of: HTTP_METHODS } },
    max_age: num, credentials: bool, private_network: bool, preflight_continue: bool,
  },
  'request-size-limiting': {
    allowed_payload_size: int, size_unit: { type: 'string', one_of: ['megabytes', 'kilobytes', 'bytes'] }, require_content_length: bool,
  },
  'request-transformer': {
    http_method: str, remove: transformerRequestRecord(false), rename: transformerRequestRecord(false), replace: transformerRequestRecord(true),
    add: transformerRequestRecord(false), append: transformerRequestRecord(false),
  },
  'response-transformer': {
    remove: transformerResponseRecord(false), rename: record({ headers: strings, json: strings }), replace: transformerResponseRecord(true),
    add: transformerResponseRecord(true), append: transformerResponseRecord(true),
  },
  'proxy-cache': {
    response_code: { type: 'array', elements: int }, request_method: { type: 'array', elements: { type: 'string', one_of: ['HEAD', 'GET', 'POST', 'PATCH', 'PUT'] } },
    content_type: strings, cache_ttl: int, strategy: { type: 'string', one_of: ['memory'] }, cache_control: bool, ignore_uri_case: bool,
    storage_ttl: int, memory: record({ dictionary_name: str }), vary_query_params: strings, vary_headers: strings,
    response_headers: record({ age: bool, 'X-Cache-Status': bool, 'X-Cache-Key': bool }),
  },
  prometheus: {
    per_consumer: bool, status_code_metrics: bool, ai_metrics: bool, latency_metrics: bool, bandwidth_metrics: bool, upstream_health_metrics: bool,
  },
  opentelemetry: {
    traces_endpoint: str, logs_endpoint: str, headers: { type: 'map', values: str }, resource_attributes: { type: 'map', values: str },
    queue: record(), batch_span_count: int, batch_flush_delay: int, connect_timeout: int, send_timeout: int, read_timeout: int,
    http_response_header_for_traceid: str,
    header_type: { type: 'string', one_of: ['preserve', 'ignore', 'b3', 'b3-single', 'w3c', 'jaeger', 'ot', 'aws', 'gcp', 'datadog'] },
    sampling_rate: num, propagation: record(),
  },
  'correlation-id': { header_name: str, generator: { type: 'string', one_of: ['uuid', 'uuid#counter', 'tracker'] }, echo_downstream: bool },
  // pre-function/schema.lua delegates to _schema.lua: arrays of Lua chunks per phase
  'pre-function': { certificate: strings, rewrite: strings, access: strings, header_filter: strings, body_filter: strings, log: strings },
};

/** Where each plugin's schema lives in Kong's tree. */
export const pluginSchemaPath = (name: string) => (name === 'pre-function' || name === 'post-function' ? `kong/plugins/pre-function/_schema.lua` : `kong/plugins/${name}/schema.lua`);

const PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const;

/** Entities kong.yml uses, with the fields it may use (declarative nesting: routes in services, credentials in consumers). */
export const ENTITIES: Readonly<Record<string, { source: string; fields: Readonly<Record<string, FieldRule>> }>> = {
  routes: {
    source: 'kong/db/schema/entities/routes.lua',
    fields: {
      name: str, protocols: { type: 'set', elements: { type: 'string', one_of: PROTOCOLS } }, methods: { type: 'set', elements: str },
      hosts: strings, paths: strings, headers: { type: 'map', values: strings }, https_redirect_status_code: { type: 'integer', one_of: [426, 301, 302, 307, 308] },
      regex_priority: int, strip_path: bool, path_handling: { type: 'string', one_of: ['v0', 'v1'] }, preserve_host: bool,
      request_buffering: bool, response_buffering: bool, snis: { type: 'set', elements: str }, sources: { type: 'set', elements: record() },
      destinations: { type: 'set', elements: record() }, tags: { type: 'set', elements: str }, expression: str, priority: int,
    },
  },
  keyauth_credentials: { source: 'kong/plugins/key-auth/daos.lua', fields: { key: str, tags: { type: 'set', elements: str } } },
  jwt_secrets: {
    source: 'kong/plugins/jwt/daos.lua',
    fields: {
      key: str, secret: str, rsa_public_key: str, tags: { type: 'set', elements: str },
      algorithm: { type: 'string', one_of: ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'] },
    },
  },
  oauth2_credentials: {
    source: 'kong/plugins/oauth2/daos.lua',
    fields: {
      name: str, client_id: str, client_secret: str, hash_secret: bool, redirect_uris: strings, tags: { type: 'set', elements: str },
      client_type: { type: 'string', one_of: ['confidential', 'public'] },
    },
  },
  acls: { source: 'kong/plugins/acl/daos.lua', fields: { group: str, tags: { type: 'set', elements: str } } },
};
