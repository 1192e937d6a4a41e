import { luaPatternFind } from './lua-pattern';

/**
 * Kong 3.9's handling of a plugin's config schema (kong/db/schema/init.lua, metaschema.lua), as the emulator and
 * `kong-plugins validate` need it: the metaschema checks a dumped schema must pass to load, the defaults Kong
 * stores (process_auto_fields, handle_missing_field), the validation kong.yml must pass (validate_field and its
 * validators in Kong's order, entity checks), and vault references as Kong resolves them.
 *
 * Paths use 0-based indices (`config.versions[0].sunset_at`), the suite's one index convention.
 */
export interface KongField {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'set' | 'map' | 'record' | 'foreign' | 'json' | 'any';
  required?: boolean;
  default?: unknown;
  one_of?: unknown[];
  not_one_of?: unknown[];
  between?: [number, number];
  gt?: number;
  eq?: unknown;
  ne?: unknown;
  len_eq?: number;
  len_min?: number;
  len_max?: number;
  match?: string;
  not_match?: string;
  match_all?: Array<{ pattern: string; err?: string }>;
  match_none?: Array<{ pattern: string; err?: string }>;
  match_any?: { patterns: string[]; err?: string };
  starts_with?: string;
  contains?: unknown;
  is_regex?: boolean;
  timestamp?: boolean;
  uuid?: boolean;
  mutually_exclusive_subsets?: string[][];
  elements?: KongField;
  keys?: KongField;
  values?: KongField;
  fields?: Array<Record<string, KongField>>;
  entity_checks?: EntityCheck[];
  description?: string;
  referenceable?: boolean;
  encrypted?: boolean;
  err?: string;
  [other: string]: unknown;
}

export type KongFields = Array<Record<string, KongField>>;

type EntityCheck = Record<string, unknown>;

const VALID_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'set', 'map', 'record', 'foreign', 'json', 'any', 'function']);

/** The validators of Schema.validators (metaschema.lua `validators`), in Schema.validators_order. */
const VALIDATORS_ORDER = [
  'eq', 'ne', 'not_one_of', 'one_of', 'gt', 'timestamp', 'uuid', 'is_regex', 'between', 'len_eq', 'len_min', 'len_max',
  'starts_with', 'not_match', 'match_none', 'match', 'match_all', 'match_any', 'contains', 'custom_validator',
  'mutually_exclusive_subsets',
] as const;

/** metaschema.lua field_schema: attributes that are not validators. There is no `nullable`. */
const FIELD_ATTRIBUTES = [
  'type', 'required', 'reference', 'description', 'examples', 'auto', 'unique', 'unique_across_ws', 'on_delete',
  'default', 'abstract', 'generate_admin_api', 'immutable', 'err', 'encrypted', 'referenceable', 'json_schema',
  'transient', 'deprecation', 'elements', 'keys', 'values', 'fields', 'entity_checks', 'shorthand_fields',
];
const KNOWN_ATTRIBUTES = new Set<string>([...FIELD_ATTRIBUTES, ...VALIDATORS_ORDER]);

/** metaschema.lua attribute_types: attributes only some types may carry. */
const ATTRIBUTE_TYPES: Record<string, string[]> = {
  between: ['integer', 'number'],
  len_eq: ['array', 'set', 'string', 'map'],
  match: ['string'],
  one_of: ['string', 'number', 'integer'],
  contains: ['array', 'set'],
  is_regex: ['string'],
  timestamp: ['number', 'integer'],
  uuid: ['string'],
  unique: ['string', 'number', 'integer', 'foreign'],
  unique_across_ws: ['string', 'number', 'integer', 'foreign'],
  abstract: ['string', 'number', 'integer', 'record', 'array', 'set', 'map'],
  json_schema: ['json'],
  transient: ['string', 'number', 'integer', 'array', 'set', 'boolean'],
};

const ENTITY_CHECKERS = new Set([
  'at_least_one_of', 'conditional_at_least_one_of', 'only_one_of', 'distinct', 'conditional', 'custom_entity_check',
  'mutually_required', 'mutually_exclusive', 'mutually_exclusive_sets',
]);

// ---- metaschema ----------------------------------------------------------------------------------------------

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
  if (!field || typeof field !== 'object' || !VALID_TYPES.has(field.type)) return [`${where}: unknown type ${String(field?.type)}`];
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
  if (field.between !== undefined && !(Array.isArray(field.between) && field.between.length === 2 && field.between.every((n) => typeof n === 'number'))) {
    problems.push(`${where}.between: expected an array of 2 numbers`);
  }
  for (const name of ['len_eq', 'len_min', 'len_max'] as const) {
    if (field[name] !== undefined && !Number.isInteger(field[name])) problems.push(`${where}.${name}: expected an integer`);
  }
  for (const check of field.entity_checks ?? []) {
    const names = Object.keys(check ?? {});
    if (names.length !== 1 || !ENTITY_CHECKERS.has(names[0])) problems.push(`${where}.entity_checks: unknown entity check ${names.join(',')}`);
  }
  for (const nested of ['elements', 'keys', 'values'] as const) {
    const inner = field[nested];
    if (inner) problems.push(...checkField(`${where}.${nested}`, inner));
  }
  if (field.default !== undefined && field.default !== null) problems.push(...validateValue(field, field.default, `${where}.default`));
  return problems;
}

// ---- defaults (process_auto_fields on insert) -------------------------------------------------------------------

/**
 * What Kong stores for a plugin config: a missing field gets its default; else an optional field becomes null
 * and a required record is expanded with its own defaults (handle_missing_field); sets lose duplicates (make_set).
 * An optional record without a default is null, not expanded: only `required` records are filled.
 */
export function fillDefaults(fields: KongFields, input: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = input ?? {};
  for (const entry of fields) {
    const [name, field] = Object.entries(entry)[0];
    const value = fillField(field, source[name]);
    if (value !== undefined) out[name] = value;
  }
  for (const [name, value] of Object.entries(source)) if (!(name in out)) out[name] = value;
  return out;
}

function fillField(field: KongField, value: unknown): unknown {
  if (value === undefined || value === null) {
    if (value === undefined && field.type === 'record' && field.required === true && field.default === undefined) return fillDefaults(field.fields ?? [], {});
    if (field.default !== undefined) return structuredClone(field.default);
    if (field.required !== true) return null;
    return undefined; // required and missing: validation reports it
  }
  if (field.type === 'record' && isTable(value)) return fillDefaults(field.fields ?? [], value as Record<string, unknown>);
  if ((field.type === 'array' || field.type === 'set') && Array.isArray(value)) {
    const elements = field.elements;
    const filled = elements?.type === 'record' ? value.map((element) => fillField(elements, element)) : value;
    return field.type === 'set' ? uniqueElements(filled) : filled;
  }
  if (field.type === 'map' && field.values?.type === 'record' && isTable(value)) {
    const values = field.values;
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fillField(values, v)]));
  }
  return value;
}

function uniqueElements(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = typeof v === 'object' ? JSON.stringify(v) : `${typeof v}:${String(v)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---- vault references ---------------------------------------------------------------------------------------

const REFERENCE = /^\{vault:\/\/[^}]+\}$/;

/**
 * Resolves `{vault://env/<name>}` in referenceable string fields (and referenceable elements of arrays and values
 * of maps) as Kong does when it reads the config (process_auto_fields, select): the value is replaced in place and
 * the record holding the field gets a `"$refs"` key naming the reference. Kong's env vault reads the variable
 * upper-cased with `-` turned into `_` (kong/vaults/env); an unresolvable reference becomes "" (resolve_reference).
 */
export function resolveVaultReferences(fields: KongFields, record: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  let refs: Record<string, unknown> | undefined;
  for (const entry of fields) {
    const [name, field] = Object.entries(entry)[0];
    const value = out[name];
    if (field.type === 'string' && field.referenceable && isReference(value)) {
      (refs ??= {})[name] = value;
      out[name] = dereference(value, env);
    } else if ((field.type === 'array' || field.type === 'set') && Array.isArray(value)) {
      const elements = field.elements;
      if (elements?.type === 'string' && elements.referenceable && value.some(isReference)) {
        (refs ??= {})[name] = Object.fromEntries(value.flatMap((v, i) => (isReference(v) ? [[String(i + 1), v]] : [])));
        out[name] = value.map((v) => (isReference(v) ? dereference(v, env) : v));
      } else if (elements?.type === 'record') {
        out[name] = value.map((v) => (isTable(v) ? resolveVaultReferences(elements.fields ?? [], v as Record<string, unknown>, env) : v));
      }
    } else if (field.type === 'map' && isTable(value)) {
      const values = field.values;
      const map = value as Record<string, unknown>;
      if (values?.type === 'string' && values.referenceable && Object.values(map).some(isReference)) {
        (refs ??= {})[name] = Object.fromEntries(Object.entries(map).filter(([, v]) => isReference(v)));
        out[name] = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, isReference(v) ? dereference(v, env) : v]));
      }
    } else if (field.type === 'record' && isTable(value)) {
      out[name] = resolveVaultReferences(field.fields ?? [], value as Record<string, unknown>, env);
    }
  }
  if (refs) out.$refs = refs;
  return out;
}

function isReference(value: unknown): value is string {
  return typeof value === 'string' && REFERENCE.test(value);
}

function dereference(reference: string, env: NodeJS.ProcessEnv): string {
  const [, vault, resource] = /^\{vault:\/\/([^/}]+)\/([^}]*)\}$/.exec(reference) ?? [];
  if (vault !== 'env' || !resource) return '';
  const [name, key] = resource.split('/');
  const raw = env[name.toUpperCase().replace(/-/g, '_')];
  if (raw === undefined) return '';
  if (!key) return raw;
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    return typeof parsed[key] === 'string' ? (parsed[key] as string) : '';
  } catch {
    return '';
  }
}

// ---- validation (Schema:validate, validate_field) ----------------------------------------------------------------

/** Returns Kong-style errors ("config.field: message"); empty when valid. Defaults must be filled first. */
export function validateConfig(fields: KongFields, config: Record<string, unknown>, path = 'config', entityChecks: EntityCheck[] = []): string[] {
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
    if (typeof value === 'string' && field.referenceable && isReference(value)) continue; // validated once resolved
    problems.push(...validateValue(field, value, `${path}.${name}`));
  }
  for (const name of Object.keys(config)) if (!known.has(name) && name !== '$refs') problems.push(`${path}.${name}: unknown field`);
  for (const check of entityChecks) problems.push(...runEntityCheck(check, fields, config, path));
  return problems;
}

function validateValue(field: KongField, value: unknown, where: string): string[] {
  const typeError = checkType(field, value, where);
  if (typeError) return typeError;
  const own = runValidators(field, value);
  return own ? [`${where}: ${own}`] : [];
}

/** The type part of validate_field; undefined when the value has the right type and its members are valid. */
function checkType(field: KongField, value: unknown, where: string): string[] | undefined {
  switch (field.type) {
    case 'string':
      return typeof value === 'string' ? undefined : [`${where}: expected a string`];
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : [`${where}: expected a number`];
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? undefined : [`${where}: expected an integer`];
    case 'boolean':
      return typeof value === 'boolean' ? undefined : [`${where}: expected a boolean`];
    case 'array':
    case 'set': {
      // cjson decodes an empty JSON object as an empty table: Kong accepts {} for an empty array
      if (isTable(value) && Object.keys(value as object).length === 0) return undefined;
      if (!Array.isArray(value)) return [`${where}: expected ${field.type === 'set' ? 'a set' : 'an array'}`];
      const elements = field.elements;
      if (!elements) return undefined;
      const problems = value.flatMap((element, i) =>
        element === null || element === undefined ? [`${where}[${i}]: required field missing`] : validateValue(elements, element, `${where}[${i}]`),
      );
      return problems.length ? problems : undefined;
    }
    case 'map': {
      if (!isTable(value)) return [`${where}: expected a map`];
      const problems: string[] = [];
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        if (field.keys) problems.push(...validateValue(field.keys, key, `${where}.${key} (key)`));
        if (field.values) problems.push(...(inner === null ? [`${where}.${key}: required field missing`] : validateValue(field.values, inner, `${where}.${key}`)));
      }
      return problems.length ? problems : undefined;
    }
    case 'record': {
      if (!isTable(value)) return [`${where}: expected a record`];
      const problems = validateConfig(field.fields ?? [], value as Record<string, unknown>, where, field.entity_checks ?? []);
      return problems.length ? problems : undefined;
    }
    default:
      return undefined;
  }
}

/** Schema.validators in validators_order, with Kong's messages; the first failure wins (or the field's `err`). */
function runValidators(field: KongField, value: unknown): string | undefined {
  // validate_field: a string without len_min gets len_min = 1 ("empty strings are not accepted by default")
  const effective: KongField = field.type === 'string' && field.len_min === undefined ? { ...field, len_min: 1 } : field;
  for (const name of VALIDATORS_ORDER) {
    const arg = effective[name];
    if (arg === undefined) continue;
    const failure = VALIDATORS[name]?.(value, arg as never);
    if (failure !== undefined) return field.err ?? failure;
  }
  return undefined;
}

type Validator = (value: any, arg: any) => string | undefined;

const length = (value: unknown): number => (typeof value === 'string' ? Buffer.byteLength(value) : Array.isArray(value) ? value.length : isTable(value) ? Object.keys(value as object).length : 0);
const show = (value: unknown): string => (value === null ? 'null' : typeof value === 'object' ? JSON.stringify(value) : String(value));

const VALIDATORS: Partial<Record<(typeof VALIDATORS_ORDER)[number], Validator>> = {
  eq: (value, wanted) => (value === wanted ? undefined : `value must be ${show(wanted)}`),
  ne: (value, wanted) => (value !== wanted ? undefined : `value must not be ${show(wanted)}`),
  not_one_of: (value, options: unknown[]) => (options.includes(value) ? `must not be one of: ${options.join(', ')}` : undefined),
  one_of: (value, options: unknown[]) => (options.includes(value) ? undefined : `expected one of: ${options.join(', ')}`),
  gt: (value, limit: number) => (value > limit ? undefined : `value must be greater than ${limit}`),
  timestamp: (value) => (value > 0 ? undefined : 'expected a valid timestamp'),
  uuid: (value: string) => (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value) ? undefined : 'expected a valid UUID'),
  is_regex: (value: string) => (isRegex(value) ? undefined : `not a valid regex: ${value}`),
  between: (value, [min, max]: [number, number]) => (value >= min && value <= max ? undefined : `value should be between ${min} and ${max}`),
  len_eq: (value, n: number) => (length(value) === n ? undefined : `length must be ${n}`),
  len_min: (value, n: number) => (length(value) >= n ? undefined : `length must be at least ${n}`),
  len_max: (value, n: number) => (length(value) <= n ? undefined : `length must be at most ${n}`),
  starts_with: (value: string, prefix: string) => (value.startsWith(prefix) ? undefined : `should start with: ${prefix}`),
  not_match: (value: string, pattern: string) => (luaPatternFind(value, pattern) ? `invalid value: ${value}` : undefined),
  match_none: (value: string, list: Array<{ pattern: string; err?: string }>) => {
    const hit = list.find((m) => luaPatternFind(value, m.pattern));
    return hit ? (hit.err ?? `invalid value: ${value}`) : undefined;
  },
  match: (value: string, pattern: string) => (luaPatternFind(value, pattern) ? undefined : `invalid value: ${value}`),
  match_all: (value: string, list: Array<{ pattern: string; err?: string }>) => {
    const failed = list.find((m) => !luaPatternFind(value, m.pattern));
    return failed ? (failed.err ?? `invalid value: ${value}`) : undefined;
  },
  match_any: (value: string, arg: { patterns: string[]; err?: string }) => (arg.patterns.some((p) => luaPatternFind(value, p)) ? undefined : (arg.err ?? `invalid value: ${value}`)),
  contains: (value: unknown[], wanted) => (Array.isArray(value) && value.includes(wanted) ? undefined : `expected to contain: ${show(wanted)}`),
  mutually_exclusive_subsets: (value: unknown[], subsets: string[][]) => {
    const hit = subsets.filter((subset) => value.some((v) => subset.includes(v as string)));
    return hit.length <= 1 ? undefined : `these sets are mutually exclusive: ${hit.map((s) => `(${s.map((e) => `"${e}"`).join(', ')})`).join(', ')}`;
  },
};

/** Kong runs ngx.re.match (PCRE); JavaScript's RegExp is the nearest offline judge of "is a regex". */
function isRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    try {
      new RegExp(pattern);
      return true;
    } catch {
      return false;
    }
  }
}

// ---- entity checks (Schema.entity_checkers) -----------------------------------------------------------------

const isSet = (value: unknown): boolean => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);

function runEntityCheck(check: EntityCheck, fields: KongFields, config: Record<string, unknown>, path: string): string[] {
  const [name, arg] = Object.entries(check)[0] ?? [];
  const list = (names: string[]) => names.map((n) => `'${n}'`).join(', ');
  switch (name) {
    case 'at_least_one_of': {
      const names = arg as string[];
      return names.some((n) => isSet(config[n])) ? [] : [`${path}: at least one of these fields must be non-empty: ${list(names)}`];
    }
    case 'only_one_of': {
      const names = arg as string[];
      return names.filter((n) => isSet(config[n])).length === 1 ? [] : [`${path}: exactly one of these fields must be non-empty: ${list(names)}`];
    }
    case 'mutually_required': {
      const names = arg as string[];
      const count = names.filter((n) => isSet(config[n])).length;
      return count === 0 || count === names.length ? [] : [`${path}: all or none of these fields must be set: ${list(names)}`];
    }
    case 'mutually_exclusive': {
      const names = arg as string[];
      return names.filter((n) => isSet(config[n])).length <= 1 ? [] : [`${path}: only one or none of these fields must be set: ${list(names)}`];
    }
    case 'distinct': {
      const names = arg as string[];
      const values = names.map((n) => config[n]).filter(isSet).map(show);
      return new Set(values).size === values.length ? [] : [`${path}: values of these fields must be distinct: ${list(names)}`];
    }
    case 'conditional': {
      const c = arg as { if_field: string; if_match: KongField; then_field: string; then_match: KongField; then_err?: string };
      const ifValue = config[c.if_field];
      if (!isSet(ifValue) || runValidators({ ...c.if_match, type: 'any' } as KongField, ifValue) !== undefined) return [];
      const thenValue = config[c.then_field];
      if (!isSet(thenValue)) return c.then_match.required ? [`${path}.${c.then_field}: required field missing`] : [];
      const failure = runValidators({ ...c.then_match, type: 'any' } as KongField, thenValue);
      return failure ? [`${path}.${c.then_field}: ${c.then_err ?? failure}`] : [];
    }
    case 'conditional_at_least_one_of': {
      const c = arg as { if_field: string; if_match: KongField; then_at_least_one_of: string[]; else_match?: KongField; else_then_at_least_one_of?: string[] };
      const matches = isSet(config[c.if_field]) && runValidators({ ...c.if_match, type: 'any' } as KongField, config[c.if_field]) === undefined;
      const names = matches ? c.then_at_least_one_of : c.else_then_at_least_one_of;
      if (!names) return [];
      return names.some((n) => isSet(config[n])) ? [] : [`${path}: at least one of these fields must be non-empty: ${list(names)}`];
    }
    default:
      void fields;
      return [];
  }
}

function isTable(value: unknown): boolean {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}
