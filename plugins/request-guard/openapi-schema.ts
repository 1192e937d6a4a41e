import { isObject } from './document';

/**
 * OpenAPI 3.0 Schema Objects are a dialect of JSON Schema draft 5; ajv runs 2020-12 (what 3.1 uses natively). This
 * rewrites a bundled 3.0 document's schemas in place: `nullable: true` adds "null" to the type (and enum),
 * boolean exclusiveMinimum/Maximum become numeric, draft-5 leftovers ajv would misread are dropped. Schema-aware:
 * a property NAMED "nullable" is left alone. Pure (on its argument).
 */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_SINGLE = ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'additionalItems'];

export function convertSchema30(schema: unknown, seen = new Set<unknown>()): void {
  if (!isObject(schema) || seen.has(schema)) return;
  seen.add(schema);
  if (schema.nullable === true) {
    if (typeof schema.type === 'string') schema.type = [schema.type, 'null'];
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
  }
  delete schema.nullable;
  if (schema.exclusiveMinimum === true && typeof schema.minimum === 'number') {
    schema.exclusiveMinimum = schema.minimum;
    delete schema.minimum;
  } else if (typeof schema.exclusiveMinimum === 'boolean') delete schema.exclusiveMinimum;
  if (schema.exclusiveMaximum === true && typeof schema.maximum === 'number') {
    schema.exclusiveMaximum = schema.maximum;
    delete schema.maximum;
  } else if (typeof schema.exclusiveMaximum === 'boolean') delete schema.exclusiveMaximum;
  // 3.0: siblings of $ref are ignored
  if (typeof schema.$ref === 'string') for (const key of Object.keys(schema)) if (key !== '$ref') delete schema[key];
  walkSubschemas(schema, (sub) => convertSchema30(sub, seen));
}

export function walkSubschemas(schema: Record<string, unknown>, visit: (sub: unknown) => void): void {
  for (const key of SCHEMA_MAPS) if (isObject(schema[key])) for (const sub of Object.values(schema[key] as object)) visit(sub);
  for (const key of SCHEMA_LISTS) if (Array.isArray(schema[key])) for (const sub of schema[key] as unknown[]) visit(sub);
  for (const key of SCHEMA_SINGLE) if (isObject(schema[key])) visit(schema[key]);
  if (Array.isArray(schema.items)) for (const sub of schema.items) visit(sub);
}

/** Every Schema Object of a document: components, parameters, request bodies, responses, headers, callbacks. */
export function forEachSchema(document: Record<string, unknown>, visit: (schema: unknown) => void): void {
  const media = (content: unknown) => {
    if (isObject(content)) for (const m of Object.values(content)) if (isObject(m)) visit(m.schema);
  };
  const parameter = (p: unknown) => {
    if (!isObject(p)) return;
    visit(p.schema);
    media(p.content);
  };
  const operationLike = (op: unknown) => {
    if (!isObject(op)) return;
    if (Array.isArray(op.parameters)) op.parameters.forEach(parameter);
    if (isObject(op.requestBody)) media(op.requestBody.content);
    if (isObject(op.responses)) for (const r of Object.values(op.responses)) if (isObject(r)) {
      media(r.content);
      if (isObject(r.headers)) Object.values(r.headers).forEach(parameter);
    }
  };
  const pathItems = (items: unknown) => {
    if (!isObject(items)) return;
    for (const item of Object.values(items)) {
      if (!isObject(item)) continue;
      if (Array.isArray(item.parameters)) item.parameters.forEach(parameter);
      for (const op of Object.values(item)) operationLike(op);
    }
  };
  pathItems(document.paths);
  pathItems(document.webhooks);
  const components = isObject(document.components) ? document.components : {};
  if (isObject(components.schemas)) Object.values(components.schemas).forEach(visit);
  if (isObject(components.parameters)) Object.values(components.parameters).forEach(parameter);
  if (isObject(components.headers)) Object.values(components.headers).forEach(parameter);
  if (isObject(components.requestBodies)) for (const b of Object.values(components.requestBodies)) if (isObject(b)) media(b.content);
  if (isObject(components.responses)) for (const r of Object.values(components.responses)) if (isObject(r)) media(r.content);
}
