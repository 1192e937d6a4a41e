/**
 * Kong's handling of a plugin's config schema (kong/db/schema/init.lua) as far as the emulator needs it:
 * validate a kong.yml plugin config the way Kong would reject it, and fill defaults the way Kong stores it
 * (missing fields with a default get it, records are filled recursively, other missing fields become null).
 */
export interface KongField {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'set' | 'map' | 'record' | 'foreign' | 'json';
  required?: boolean;
  default?: unknown;
  one_of?: unknown[];
  between?: [number, number];
  gt?: number;
  len_min?: number;
  len_max?: number;
  elements?: KongField;
  keys?: KongField;
  values?: KongField;
  fields?: Array<Record<string, KongField>>;
  description?: string;
  referenceable?: boolean;
  encrypted?: boolean;
  nullable?: boolean;
  [other: string]: unknown;
}

export type KongFields = Array<Record<string, KongField>>;

const KNOWN_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'set', 'map', 'record', 'foreign', 'json']);

/** Field attributes Kong's metaschema knows (field_schema plus its validators, kong/db/schema/metaschema.lua). */
const KNOWN_ATTRIBUTES = new Set([
  'type', 'required', 'reference', 'description', 'examples', 'auto', 'unique', 'unique_across_ws', 'on_delete',
  'default', 'abstract', 'generate_admin_api', 'immutable', 'err', 'encrypted', 'referenceable', 'json_schema',
  'elements', 'keys', 'values', 'fields', 'entity_checks', 'shorthand_fields', 'nullable', 'len_eq', 'len_min',
  'len_max', 'between', 'eq', 'ne', 'gt', 'match', 'not_match', 'match_all', 'match_none', 'match_any',
  'starts_with', 'one_of', 'not_one_of', 'contains', 'is_regex', 'timestamp', 'uuid', 'custom_validator',
  'mutually_exclusive_subsets',
]);

/** attribute_types: attributes only some types may carry. */
const ATTRIBUTE_TYPES: Record<string, string[]> = {
  between: ['integer', 'number'],
  len_eq: ['array', 'set', 'string', 'map'],
  match: ['string'],
  one_of: ['string', 'number', 'integer'],
  contains: ['array', 'set'],
  is_regex: ['string'],
  timestamp: ['number', 'integer'],
  uuid: ['string'],
};

/** Checks the dumped schema itself the way Kong's metaschema would refuse to load it. */
export function checkSchemaDefinition(fields: unknown, path = 'config'): string[] {
  const problems: string[] = [];
  if (!Array.isArray(fields)) return [`${path}: fields must be an array`];
  for (const entry of fields) {
    if (!entry || typeof entry !== 'object' || Object.keys(entry).length !== 1) {
      problems.push(`${path}: each field must be a table with one key`);
      continue;
    }
    const [name, field] = Object.entries(entry as Record<string, KongField>)[0];
    problems.push(...checkField(`${path}.${name}`, field));
  }
  return problems;
}

function checkField(where: string, field: KongField): string[] {
  const problems: string[] = [];
  if (!field || !KNOWN_TYPES.has(field.type)) return [`${where}: unknown type ${String(field?.type)}`];
  for (const attribute of Object.keys(field)) {
    if (!KNOWN_ATTRIBUTES.has(attribute)) problems.push(`${where}: unknown field attribute '${attribute}'`);
    const types = ATTRIBUTE_TYPES[attribute];
    if (types && !types.includes(field.type)) problems.push(`${where}: field of type '${field.type}' cannot have attribute '${attribute}'`);
  }
  if (field.description !== undefined && (typeof field.description !== 'string' || field.description.length < 10 || field.description.length > 500)) {
    problems.push(`${where}.description: length must be between 10 and 500`);
  }
  if ((field.type === 'array' || field.type === 'set') && !field.elements) problems.push(`${where}: field of type '${field.type}' must declare 'elements'`);
  if (field.type === 'map' && (!field.keys || !field.values)) problems.push(`${where}: field of type 'map' must declare 'keys' and 'values'`);
  if (field.type === 'record') problems.push(...checkSchemaDefinition(field.fields, where));
  for (const nested of ['elements', 'keys', 'values'] as const) {
    const inner = field[nested];
    if (inner) problems.push(...checkField(`${where}.${nested}`, inner));
  }
  if (field.default !== undefined && field.default !== null) problems.push(...validateValue(field, field.default, `${where}.default`));
  return problems;
}

export function fillDefaults(fields: KongFields, input: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = input ?? {};
  for (const entry of fields) {
    const [name, field] = Object.entries(entry)[0];
    const value = fillField(field, source[name]);
    // handle_missing_field: a required field without a default stays absent (validation reports it)
    if (value === null && field.required && field.default === undefined) continue;
    out[name] = value;
  }
  for (const [name, value] of Object.entries(source)) if (!(name in out)) out[name] = value;
  return out;
}

function fillField(field: KongField, value: unknown): unknown {
  if (value === undefined || value === null) {
    if (field.default !== undefined) return structuredClone(field.default);
    if (field.type === 'record' && field.fields && field.nullable !== true) return fillDefaults(field.fields, {});
    return null;
  }
  if (field.type === 'record' && field.fields && typeof value === 'object') return fillDefaults(field.fields, value as Record<string, unknown>);
  if ((field.type === 'array' || field.type === 'set') && field.elements?.type === 'record' && Array.isArray(value)) {
    return value.map((element) => fillField(field.elements as KongField, element));
  }
  return value;
}

/** Returns Kong-style errors ("config.field: message"); empty when valid. Defaults must be filled first. */
export function validateConfig(fields: KongFields, config: Record<string, unknown>, path = 'config'): string[] {
  const problems: string[] = [];
  const known = new Set<string>();
  for (const entry of fields) {
    const [name, field] = Object.entries(entry)[0];
    known.add(name);
    const value = config[name];
    if (value === undefined || value === null) {
      if (field.required) problems.push(`${path}.${name}: required field missing`);
      continue;
    }
    problems.push(...validateValue(field, value, `${path}.${name}`));
  }
  for (const name of Object.keys(config)) if (!known.has(name)) problems.push(`${path}.${name}: unknown field`);
  return problems;
}

function validateValue(field: KongField, value: unknown, where: string): string[] {
  const problems: string[] = [];
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return [`${where}: expected a string`];
      if (field.len_min !== undefined && value.length < field.len_min) problems.push(`${where}: length must be at least ${field.len_min}`);
      if (field.len_max !== undefined && value.length > field.len_max) problems.push(`${where}: length must be at most ${field.len_max}`);
      break;
    case 'number':
    case 'integer':
      if (typeof value !== 'number') return [`${where}: expected a ${field.type}`];
      if (field.type === 'integer' && !Number.isInteger(value)) return [`${where}: expected an integer`];
      if (field.between && (value < field.between[0] || value > field.between[1])) problems.push(`${where}: value should be between ${field.between[0]} and ${field.between[1]}`);
      if (field.gt !== undefined && !(value > field.gt)) problems.push(`${where}: value must be greater than ${field.gt}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${where}: expected a boolean`];
      break;
    case 'array':
    case 'set': {
      // cjson decodes an empty JSON object as an empty table: Kong accepts {} for an empty array
      if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) break;
      if (!Array.isArray(value)) return [`${where}: expected an array`];
      if (field.len_min !== undefined && value.length < field.len_min) problems.push(`${where}: length must be at least ${field.len_min}`);
      if (field.len_max !== undefined && value.length > field.len_max) problems.push(`${where}: length must be at most ${field.len_max}`);
      value.forEach((element, i) => {
        if (field.elements) problems.push(...validateValue(field.elements, element, `${where}[${i + 1}]`));
      });
      break;
    }
    case 'map':
      if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected a map`];
      for (const [key, inner] of Object.entries(value)) {
        if (field.keys) problems.push(...validateValue(field.keys, key, `${where}.${key}(key)`));
        if (field.values && inner !== null) problems.push(...validateValue(field.values, inner, `${where}.${key}`));
      }
      break;
    case 'record':
      if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected a record`];
      problems.push(...validateConfig(field.fields ?? [], value as Record<string, unknown>, where));
      break;
    default:
      break;
  }
  if (field.one_of && !field.one_of.includes(value)) problems.push(`${where}: expected one of: ${field.one_of.join(', ')}`);
  return problems;
}
