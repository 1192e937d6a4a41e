import { JsonSchemaBuilder } from './request-schema';
import type { Unwrap } from './response-reader';
import type { RouteTable } from './routes';
import type { MessageShape, ServiceModel } from './wsdl/operations';

type Json = Record<string, unknown>;

export interface OpenApiOptions {
  /** Prefix of every path (the Kong route's path, or base_path). */
  basePath?: string;
  unwrap: Unwrap;
  title?: string;
}

const PROBLEM = { $ref: '#/components/schemas/Problem' };

/**
 * The REST face of a compiled config as an OpenAPI 3.1 document (JSON Schema 2020-12 dialect, so nillable fields are
 * `type: [.., "null"]`-style and big integers `integer | string` exactly as ajv validates them): one path per route,
 * path and query parameters from the mappings, the request body schema from the XSD, the 200 answer as the
 * response_unwrap option shapes it, and the plugin's problem+json answers. Pure.
 */
export function openApiDocument(model: ServiceModel, routes: RouteTable, options: OpenApiOptions): Json {
  const builder = new JsonSchemaBuilder('#/components/schemas/');
  const prefix = (options.basePath ?? '').replace(/\/+$/, '');
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes.routes) {
    const op = route.operation;
    const input = builder.inlineComplex(op.input.body);
    const params: Json[] = [];
    for (const segment of route.segments) {
      if ('param' in segment) params.push({ name: segment.param, in: 'path', required: true, schema: propertyOf(input, segment.param) });
    }
    for (const name of route.queryParams) params.push({ name, in: 'query', required: false, schema: propertyOf(input, name) });
    const taken = new Set(params.map((p) => p.name as string));
    const bodySchema = withoutProperties(input, taken);
    const operation: Json = {
      operationId: route.method === 'POST' && route.template === `/${op.name}` ? op.name : `${op.name}_${route.method.toLowerCase()}`,
      summary: op.name,
      ...(op.documentation ? { description: op.documentation } : {}),
      ...(params.length ? { parameters: params } : {}),
      responses: {
        200: { description: `${op.name} result`, content: { 'application/json': { schema: outputSchema(builder, op.output, options.unwrap) } } },
        400: { description: 'Invalid request, or a SOAP Client/Sender fault', content: { 'application/problem+json': { schema: PROBLEM } } },
        404: { description: 'No operation at this path', content: { 'application/problem+json': { schema: PROBLEM } } },
        502: { description: 'SOAP Server/Receiver fault, or an answer that is not SOAP or breaks the XML limits', content: { 'application/problem+json': { schema: PROBLEM } } },
      },
    };
    if (!['GET', 'DELETE'].includes(route.method)) operation.requestBody = { required: Array.isArray(bodySchema.required) && bodySchema.required.length > 0, content: { 'application/json': { schema: bodySchema } } };
    const template = prefix + route.template;
    (paths[template] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title ?? `${model.service} (${model.port}, SOAP ${model.version})`, version: '1.0.0', description: `REST face of the SOAP service ${model.service}, generated from its WSDL by rest-to-soap.` },
    paths,
    components: {
      schemas: {
        ...builder.definitions,
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
            fault_code: { type: 'string' },
            fault_subcodes: { type: 'array', items: { type: 'string' } },
            fault_reason: { type: 'string' },
            fault_detail: {},
          },
        },
      },
    },
  };
}

function propertyOf(schema: Json, name: string): Json {
  return ((schema.properties as Record<string, Json> | undefined) ?? {})[name] ?? { type: 'string' };
}

function withoutProperties(schema: Json, names: Set<string>): Json {
  if (!names.size) return schema;
  const properties = { ...(schema.properties as Record<string, Json>) };
  for (const n of names) delete properties[n];
  const required = ((schema.required as string[] | undefined) ?? []).filter((n) => !names.has(n));
  const out: Json = { ...schema, properties };
  if (required.length) out.required = required;
  else delete out.required;
  return out;
}

function outputSchema(builder: JsonSchemaBuilder, output: MessageShape | undefined, unwrap: Unwrap): Json {
  if (!output) return { type: 'null' };
  const body = builder.inlineComplex(output.body);
  if (unwrap === 'none' && output.mode === 'wrapped') return { type: 'object', properties: { [output.wrapper!.name]: body } };
  if (unwrap === 'result' && output.body.particles.length === 1 && !output.body.attributes.length) return builder.particle(output.body.particles[0]);
  return body;
}
