/**
 * One field definition yields both Kong's schema entry (what `Schema` exports and Kong validates kong.yml with) and
 * a JSON Schema fragment (compiled once with ajv, run when an instance starts). Kong-only constraints (one_of,
 * between, len_min, ...) are mirrored in JSON Schema; JSON-only ones (format, pattern) add checks Kong's Lua
 * patterns cannot express.
 */
export interface KongFieldDef {
  type: string;
  [key: string]: unknown;
}

export interface JsonSchema {
  [key: string]: unknown;
}

export interface FieldSpec<T> {
  readonly kong: KongFieldDef;
  readonly json: JsonSchema;
  readonly required: boolean;
  readonly hasDefault: boolean;
  /** Phantom: the TypeScript type of the validated value. */
  readonly __type?: T;
}

interface Common<T> {
  description?: string;
  required?: boolean;
  default?: T;
}

type Present<O, T> = O extends { required: true } ? T : O extends { default: unknown } ? T : T | null;

function make<T>(kong: KongFieldDef, json: JsonSchema, opts: Common<unknown>): FieldSpec<T> {
  const k: KongFieldDef = { ...kong };
  const j: JsonSchema = { ...json };
  if (opts.description !== undefined) {
    // Kong's metaschema refuses the whole plugin schema otherwise
    if (opts.description.length < 10 || opts.description.length > 500) {
      throw new Error(`field description must be 10-500 characters (Kong's metaschema): "${opts.description}"`);
    }
    k.description = opts.description;
    j.description = opts.description;
  }
  if (opts.required) k.required = true;
  if (opts.default !== undefined) {
    k.default = opts.default;
    j.default = opts.default;
  }
  return { kong: k, json: j, required: opts.required === true, hasDefault: opts.default !== undefined };
}

/**
 * Kong sends null for an unset optional field; JSON Schema must accept it. A type union rather than anyOf keeps
 * nested defaults working (ajv applies defaults only outside anyOf branches).
 */
function nullable(json: JsonSchema, spec: { required?: boolean; default?: unknown }): JsonSchema {
  if (spec.required || spec.default !== undefined) return json;
  const out: JsonSchema = { ...json, type: [json.type, 'null'] };
  if (Array.isArray(json.enum)) out.enum = [...json.enum, null];
  return out;
}

/** Kong's len_min/len_max and the JSON Schema keywords that mean the same for strings or arrays. */
function lengthBounds(kong: KongFieldDef, json: JsonSchema, opts: { len_min?: number; len_max?: number }, min: string, max: string): void {
  if (opts.len_min !== undefined) {
    kong.len_min = opts.len_min;
    json[min] = opts.len_min;
  }
  if (opts.len_max !== undefined) {
    kong.len_max = opts.len_max;
    json[max] = opts.len_max;
  }
}

export interface StringOpts extends Common<string> {
  one_of?: readonly string[];
  len_min?: number;
  len_max?: number;
  /** JSON Schema format checked at instance start (date-time, uri, email, ...). */
  format?: string;
  /** A JavaScript regular expression checked at instance start (Kong's `match` takes Lua patterns instead). */
  pattern?: string;
  /**
   * The same rule as a Lua pattern, for Kong's `match` validator: Kong then refuses a bad value when kong.yml
   * loads. Without it Kong stores the value, the instance start refuses it, and every request on the route answers
   * 500 (plugin_servers/plugin.lua raises the StartInstance error). Give it wherever `pattern` has an exact Lua
   * equivalent (no alternation, no counted repetition); the emulator checks it with Lua's own matcher (lstrlib).
   */
  lua_match?: string;
  referenceable?: boolean;
  encrypted?: boolean;
}

export function string<O extends StringOpts>(opts: O = {} as O): FieldSpec<Present<O, O['one_of'] extends readonly string[] ? O['one_of'][number] : string>> {
  const kong: KongFieldDef = { type: 'string' };
  const json: JsonSchema = { type: 'string' };
  if (opts.one_of) {
    kong.one_of = [...opts.one_of];
    json.enum = [...opts.one_of];
  }
  lengthBounds(kong, json, opts, 'minLength', 'maxLength');
  // Kong gives a string field without len_min an implicit len_min = 1 (db/schema/init.lua, validate_field): ""
  // is refused when kong.yml loads, so it must not mean anything here either. Express "none" by leaving it unset.
  if (opts.len_min === undefined) json.minLength = 1;
  // An unresolved vault reference reaches the plugin as "" whatever len_min says (db/schema/init.lua,
  // resolve_reference: `deref or ""`, kept because the field is in $refs). Refusing it would refuse the instance,
  // and every request on the route would answer 500: a referenceable field with len_min <= 1 takes "" as unset,
  // and the plugin's own failure mode decides (a stricter len_min, like a token key's, still refuses).
  if (opts.referenceable && (opts.len_min ?? 1) <= 1) delete json.minLength;
  if (opts.format) json.format = opts.format;
  if (opts.pattern) json.pattern = opts.pattern;
  if (opts.lua_match) kong.match = opts.lua_match;
  if (opts.referenceable) kong.referenceable = true;
  if (opts.encrypted) kong.encrypted = true;
  return make(kong, nullable(json, opts), opts);
}

export interface NumberOpts extends Common<number> {
  between?: readonly [number, number];
  gt?: number;
  one_of?: readonly number[];
}

function numeric(type: 'number' | 'integer', opts: NumberOpts): { kong: KongFieldDef; json: JsonSchema } {
  const kong: KongFieldDef = { type };
  const json: JsonSchema = { type };
  if (opts.between) {
    kong.between = [...opts.between];
    json.minimum = opts.between[0];
    json.maximum = opts.between[1];
  }
  if (opts.gt !== undefined) {
    kong.gt = opts.gt;
    json.exclusiveMinimum = opts.gt;
  }
  if (opts.one_of) {
    kong.one_of = [...opts.one_of];
    json.enum = [...opts.one_of];
  }
  return { kong, json };
}

export function number<O extends NumberOpts>(opts: O = {} as O): FieldSpec<Present<O, number>> {
  const { kong, json } = numeric('number', opts);
  return make(kong, nullable(json, opts), opts);
}

export function integer<O extends NumberOpts>(opts: O = {} as O): FieldSpec<Present<O, number>> {
  const { kong, json } = numeric('integer', opts);
  return make(kong, nullable(json, opts), opts);
}

export function boolean<O extends Common<boolean>>(opts: O = {} as O): FieldSpec<Present<O, boolean>> {
  return make({ type: 'boolean' }, nullable({ type: 'boolean' }, opts), opts);
}

export interface ArrayOpts<E> extends Common<E[]> {
  len_min?: number;
  len_max?: number;
}

export function array<E, O extends ArrayOpts<E>>(elements: FieldSpec<E>, opts: O = {} as O): FieldSpec<Present<O, NonNullable<E>[]>> {
  return collection('array', elements, opts);
}

/** Kong's set: an array whose elements are unique. */
export function set<E, O extends ArrayOpts<E>>(elements: FieldSpec<E>, opts: O = {} as O): FieldSpec<Present<O, NonNullable<E>[]>> {
  return collection('set', elements, opts);
}

function collection<E, O extends ArrayOpts<E>>(type: 'array' | 'set', elements: FieldSpec<E>, opts: O): FieldSpec<any> {
  const kong: KongFieldDef = { type, elements: { ...elements.kong, required: undefined } };
  delete (kong.elements as KongFieldDef).required;
  const json: JsonSchema = { type: 'array', items: stripNull(elements.json) };
  if (type === 'set') json.uniqueItems = true;
  lengthBounds(kong, json, opts, 'minItems', 'maxItems');
  return make(kong, nullable(json, opts), opts);
}

export function map<V, O extends Common<Record<string, V>>>(keys: FieldSpec<string | null>, values: FieldSpec<V>, opts: O = {} as O): FieldSpec<Present<O, Record<string, NonNullable<V>>>> {
  const kong: KongFieldDef = { type: 'map', keys: keys.kong, values: values.kong };
  const json: JsonSchema = { type: 'object', propertyNames: stripNull(keys.json), additionalProperties: stripNull(values.json) };
  return make(kong, nullable(json, opts), opts);
}

export type FieldMap = Record<string, FieldSpec<any>>;

export type InferFields<F extends FieldMap> = { [K in keyof F]: F[K] extends FieldSpec<infer T> ? T : never };

/**
 * A record value is never null: Kong expands an absent record with its fields' defaults only when the record is
 * `required` (handle_missing_field; an optional record without a default is stored as null), so every record is
 * declared required to Kong.
 */
export function record<F extends FieldMap>(fields: F, opts: Common<InferFields<F>> = {}): FieldSpec<InferFields<F>> {
  const { kong, json } = recordParts(fields);
  if (opts.default === undefined) kong.required = true;
  return make(kong, json, opts);
}

export function recordParts(fields: FieldMap): { kong: KongFieldDef; json: JsonSchema } {
  const kongFields = Object.entries(fields).map(([name, spec]) => ({ [name]: spec.kong }));
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    properties[name] = spec.json;
    if (spec.required) required.push(name);
  }
  const json: JsonSchema = { type: 'object', properties, additionalProperties: false };
  if (required.length) json.required = required;
  return { kong: { type: 'record', fields: kongFields }, json };
}

/** Elements, map keys and values are never null. */
function stripNull(json: JsonSchema): JsonSchema {
  if (!Array.isArray(json.type)) return json;
  const out: JsonSchema = { ...json, type: json.type[0] };
  if (Array.isArray(json.enum)) out.enum = json.enum.filter((v) => v !== null);
  return out;
}
