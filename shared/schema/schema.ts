import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { recordParts, type FieldMap, type InferFields, type KongFieldDef } from './fields';

/** Fields Kong adds to every plugin's Config (plugins_iterator / plugin_servers); never part of a plugin's schema. */
const KONG_EXTRA_FIELDS = new Set(['route_id', 'service_id', 'consumer_id', 'plugin_instance_name']);

export interface InstanceMeta {
  pluginId?: string;
  routeId?: string;
  serviceId?: string;
  consumerId?: string;
  instanceName?: string;
  seq?: number;
}

/** A cross-field rule: returns `[field path, message]` for a violation, or undefined. */
export type ConfigCheck<C> = (config: C) => [string, string] | undefined | void;

export class ConfigError extends Error {
  constructor(
    readonly plugin: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for plugin "${plugin}": ${problems.join('; ')}`);
  }

  override get name(): string {
    return 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
addFormats(ajv);

export interface PluginSchema<C> {
  readonly plugin: string;
  /** Kong's `Schema` export: the config record's fields. */
  readonly kong: Array<Record<string, KongFieldDef>>;
  readonly json: Record<string, unknown>;
  /** Validates Kong's Config (extras split off into meta); throws ConfigError naming every bad field. */
  parse(raw: unknown): { config: C; meta: InstanceMeta };
}

export function defineSchema<F extends FieldMap>(plugin: string, fields: F, checks: Array<ConfigCheck<InferFields<F>>> = []): PluginSchema<InferFields<F>> {
  const { kong, json } = recordParts(fields);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(json);
  } catch (err) {
    throw new Error(`plugin ${plugin}: schema does not compile: ${(err as Error).message}`);
  }
  return {
    plugin,
    kong: kong.fields as Array<Record<string, KongFieldDef>>,
    json,
    parse(raw: unknown) {
      const input = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(plugin, ['config: must be an object']);
      const { config, meta } = splitKongFields(input as Record<string, unknown>);
      dropVaultReferences(json, config);
      normalizeEmptyArrays(json, config);
      if (!validate(config)) throw new ConfigError(plugin, describeErrors(validate.errors ?? []));
      const typed = config as InferFields<F>;
      const problems: string[] = [];
      for (const check of checks) {
        const violation = check(typed);
        if (violation) problems.push(`config.${violation[0]}: ${violation[1]}`);
      }
      if (problems.length) throw new ConfigError(plugin, problems);
      return { config: typed, meta };
    },
  };
}

/**
 * For a referenceable field holding `{vault://...}`, Kong resolves the value in place and adds a `"$refs"` key
 * (`{field = "{vault://...}"}`) to the record that holds the field (db/schema/init.lua, process_auto_fields). It is
 * bookkeeping, not config: drop it from every record, nested ones and records inside arrays and maps included.
 */
const VAULT_REFS_KEY = '$refs';

function dropVaultReferences(schema: Record<string, unknown>, value: unknown): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = schema.items as Record<string, unknown> | undefined;
    if (items) for (const element of value) dropVaultReferences(items, element);
    return;
  }
  const record = value as Record<string, unknown>;
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties) {
    delete record[VAULT_REFS_KEY];
    for (const [name, child] of Object.entries(properties)) dropVaultReferences(child, record[name]);
    return;
  }
  const values = schema.additionalProperties;
  if (values && typeof values === 'object') for (const inner of Object.values(record)) dropVaultReferences(values as Record<string, unknown>, inner);
}

/**
 * cjson encodes an empty Lua table as {} unless it carries Kong's array metatable; where the schema says array,
 * an empty object means an empty array.
 */
function normalizeEmptyArrays(schema: Record<string, unknown>, value: unknown): void {
  if (!value || typeof value !== 'object') return;
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const [name, child] of Object.entries(properties)) {
      const current = record[name];
      const types = Array.isArray(child.type) ? child.type : [child.type];
      if (types.includes('array') && isEmptyObject(current)) record[name] = [];
      else normalizeEmptyArrays(child, current);
    }
  }
  const items = schema.items as Record<string, unknown> | undefined;
  if (items && Array.isArray(value)) for (const element of value) normalizeEmptyArrays(items, element);
}

function isEmptyObject(value: unknown): boolean {
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0;
}

function splitKongFields(input: Record<string, unknown>): { config: Record<string, unknown>; meta: InstanceMeta } {
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key.startsWith('__') || KONG_EXTRA_FIELDS.has(key)) continue;
    config[key] = value;
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    config,
    meta: {
      pluginId: text(input.__plugin_id),
      routeId: text(input.route_id),
      serviceId: text(input.service_id),
      consumerId: text(input.consumer_id),
      instanceName: text(input.plugin_instance_name),
      seq: typeof input.__seq__ === 'number' ? input.__seq__ : undefined,
    },
  };
}

/** ajv's errors as `config.a.b[2].c: rule message`, one per field and rule, noise from anyOf branches removed. */
export function describeErrors(errors: ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const error of errors) {
    let path = 'config' + error.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
    let message = error.message ?? error.keyword;
    if (error.keyword === 'required') path += '.' + String(error.params.missingProperty);
    if (error.keyword === 'required') message = 'required field missing';
    if (error.keyword === 'additionalProperties') {
      path += '.' + String(error.params.additionalProperty);
      message = 'unknown field';
    }
    if (error.keyword === 'type' && Array.isArray(error.params.type)) message = `must be ${(error.params.type as string[]).filter((t) => t !== 'null').join(' or ')}`;
    if (error.keyword === 'enum') message = `must be one of: ${(error.params.allowedValues as unknown[]).filter((v) => v !== null).join(', ')}`;
    out.add(`${path}: ${message} (${error.keyword})`);
  }
  return [...out];
}
