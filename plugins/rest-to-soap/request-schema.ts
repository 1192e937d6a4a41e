import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { VALUE_KEY, type ComplexShape, type ElementShape, type SimpleShape, type TypeShape } from './xsd/shapes';

type Json = Record<string, unknown>;

/**
 * XSD shapes -> JSON Schema (draft-07) for the JSON face of a message: what ajv validates request bodies with (and
 * what the OpenAPI document publishes). Named complex types become definitions (recursion works); xs:sequence
 * children are properties, required when minOccurs > 0; maxOccurs > 1 is an array; nillable admits null; integers
 * beyond 2^53 (xs:long, xs:integer, ...) and decimals are also accepted as strings of digits, so no precision is lost.
 */
export class JsonSchemaBuilder {
  readonly definitions: Record<string, Json> = {};
  private readonly names = new Map<ComplexShape, string>();

  constructor(private readonly refPrefix = '#/definitions/') {}

  complex(shape: ComplexShape): Json {
    if (shape.key && shape.name) {
      let name = this.names.get(shape);
      if (!name) {
        name = this.uniqueName(shape.name);
        this.names.set(shape, name);
        this.definitions[name] = {}; // placeholder: a recursive reference finds the name
        this.definitions[name] = this.inlineComplex(shape);
      }
      return { $ref: this.refPrefix + name };
    }
    return this.inlineComplex(shape);
  }

  inlineComplex(shape: ComplexShape): Json {
    const properties: Record<string, Json> = {};
    const required: string[] = [];
    const inChoice = new Set(shape.choices.flatMap((c) => c.keys));
    for (const particle of shape.particles) {
      properties[particle.name] = this.particle(particle);
      if (particle.min > 0 && !inChoice.has(particle.name)) required.push(particle.name);
    }
    for (const attribute of shape.attributes) {
      properties[attribute.key] = this.simple(attribute.type);
      if (attribute.required) required.push(attribute.key);
    }
    if (shape.text) properties[VALUE_KEY] = this.simple(shape.text);
    const out: Json = { type: 'object', properties, additionalProperties: shape.open };
    if (required.length) out.required = required;
    const choiceRules: Json[] = [];
    for (const choice of shape.choices) {
      // at most one option; exactly one when the choice is required
      const dependencies: Record<string, Json> = {};
      for (const key of choice.keys) dependencies[key] = { not: { anyOf: choice.keys.filter((k) => k !== key).map((k) => ({ required: [k] })) } };
      choiceRules.push({ dependencies });
      if (choice.min > 0) choiceRules.push({ anyOf: choice.keys.map((k) => ({ required: [k] })) });
    }
    if (choiceRules.length) out.allOf = choiceRules;
    return out;
  }

  particle(particle: ElementShape): Json {
    let value = this.type(particle.type);
    if (particle.nillable) value = { anyOf: [value, { type: 'null' }] };
    if (particle.max <= 1) return value;
    const array: Json = { type: 'array', items: value };
    if (particle.min > 0) array.minItems = particle.min;
    if (Number.isFinite(particle.max)) array.maxItems = particle.max;
    return array;
  }

  type(type: TypeShape): Json {
    return type.kind === 'complex' ? (type.text && !type.particles.length && !type.attributes.length ? this.simple(type.text) : this.complex(type)) : this.simple(type);
  }

  simple(shape: SimpleShape): Json {
    const out: Json = {};
    const f = shape.facets;
    if (shape.enumeration) {
      out.enum = shape.value === 'string' ? [...shape.enumeration] : shape.enumeration.map((v) => (shape.value === 'boolean' ? v === 'true' || v === '1' : Number(v)));
      if (shape.value !== 'string') out.enum = [...(out.enum as unknown[]), ...shape.enumeration];
    }
    switch (shape.value) {
      case 'boolean':
        out.type = 'boolean';
        break;
      case 'integer': {
        const safe = fits(f.minInclusive) && fits(f.maxInclusive);
        bounds(out, f);
        if (safe) out.type = 'integer';
        else {
          out.type = ['integer', 'string'];
          out.pattern = Number(f.minInclusive) >= 0 ? '^[+]?[0-9]+$' : '^[+-]?[0-9]+$';
        }
        break;
      }
      case 'decimal':
        bounds(out, f);
        out.type = ['number', 'string'];
        out.pattern = '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$';
        break;
      case 'number':
        bounds(out, f);
        out.type = ['number', 'string'];
        out.pattern = '^(INF|-INF|NaN)$';
        break;
      default: {
        out.type = 'string';
        if (f.length !== undefined) out.minLength = out.maxLength = f.length;
        if (f.minLength !== undefined) out.minLength = f.minLength;
        if (f.maxLength !== undefined) out.maxLength = f.maxLength;
        const patterns = (f.patterns ?? []).map(anchored).filter((p): p is string => p !== undefined);
        if (patterns.length === 1) out.pattern = patterns[0];
        else if (patterns.length > 1) out.allOf = patterns.map((pattern) => ({ pattern }));
        if (shape.builtin === 'dateTime') out.format = 'date-time';
      }
    }
    if (shape.key) out.title = shape.key.slice(shape.key.indexOf('}') + 1);
    return out;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 2; name in this.definitions; i++) name = `${base}${i}`;
    return name;
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
function fits(bound: string | undefined): boolean {
  if (bound === undefined) return false;
  const b = BigInt(bound);
  return b <= SAFE && b >= -SAFE;
}

function bounds(out: Json, f: SimpleShape['facets']): void {
  if (f.minInclusive !== undefined) out.minimum = Number(f.minInclusive);
  if (f.maxInclusive !== undefined) out.maximum = Number(f.maxInclusive);
  if (f.minExclusive !== undefined) out.exclusiveMinimum = Number(f.minExclusive);
  if (f.maxExclusive !== undefined) out.exclusiveMaximum = Number(f.maxExclusive);
}

/** An XSD pattern matches the whole value; RE2 syntax covers XSD's except \i, \c and \p{Is...} blocks (skipped). */
function anchored(pattern: string): string | undefined {
  if (/\\[icIC]|\\[pP]\{Is/.test(pattern)) return undefined;
  const p = `^(?:${pattern})$`;
  try {
    RE2JS.compile(p);
    return p;
  } catch {
    return undefined;
  }
}

/** ajv with a linear-time engine for every pattern: XSD patterns from the WSDL run on client input. */
export function createAjv(): Ajv {
  const re2 = (pattern: string) => {
    const compiled = RE2JS.compile(pattern);
    // ajv keys its compiled patterns by toString(): without it every pattern would share the first one
    return { test: (s: string) => compiled.matcher(s).find(), toString: () => `/${pattern}/` };
  };
  re2.code = 'RE2JS';
  return new Ajv({ allErrors: true, strict: false, code: { regExp: re2 as never }, validateFormats: false });
}

export interface FieldError {
  field: string;
  message: string;
}

/** ajv errors -> one entry per wrong field, as JSON pointers ("/Languages/0/sName"); anyOf noise folded. */
export function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  const out = new Map<string, string>();
  for (const e of errors ?? []) {
    // a nillable field is anyOf [type, null]: the type branch's error says what is wrong, the null branch's is noise
    if (e.keyword === 'anyOf' || (e.keyword === 'type' && (e.params as { type?: string }).type === 'null')) continue;
    let field = e.instancePath || '';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      field += `/${(e.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      field += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
      message = 'is not a field of this operation';
    } else if (e.keyword === 'enum') message = `must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).filter((v) => typeof v === 'string').join(', ')}`;
    if (!out.has(field || '/')) out.set(field || '/', message);
  }
  return [...out].map(([field, message]) => ({ field, message }));
}

export function compileValidator(ajv: Ajv, body: ComplexShape): ValidateFunction {
  const builder = new JsonSchemaBuilder();
  const root = builder.inlineComplex(body);
  return ajv.compile({ ...root, definitions: builder.definitions });
}
