import type { ValidateFunction } from 'ajv';
import { PROBLEMS, type Problem } from '../../shared/problems';
import { EnvelopeWriter, UnwritableText } from './envelope';
import { compileValidator, createAjv, fieldErrors } from './request-schema';
import { ResponseReader, type SoapFault, type Unwrap } from './response-reader';
import { coerceParam, RouteTable, type MappingConfig } from './routes';
import type { Operation, ServiceModel } from './wsdl/operations';
import type { XmlLimits } from './xml/scanner';

export interface TranslatorOptions {
  mappings: MappingConfig[];
  defaultRoutes: boolean;
  basePath?: string;
  endpointPath?: string;
  unwrap: Unwrap;
  limits: XmlLimits;
}

interface CompiledOperation {
  operation: Operation;
  validate: ValidateFunction;
  writer: EnvelopeWriter;
  /** Upstream request headers, computed once. */
  headers: Record<string, string>;
}

export interface RestRequest {
  method: string;
  path: string;
  /** undefined: not read (the route takes nothing from the query). */
  rawQuery?: string;
  /** undefined: no body read. */
  body?: Buffer;
}

export type RequestPlan =
  | { kind: 'problem'; problem: Problem; headers?: Record<string, string>; operation?: string }
  | { kind: 'need-query' }
  | { kind: 'soap'; operation: string; envelope: string; headers: Record<string, string>; path: string };

/** What the access phase must read for a request, decided before reading the body. */
export type Needs = { query: boolean; body: boolean };

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * The whole REST <-> SOAP translation of one plugin config, pure: compiled once (routes, one ajv validator and one
 * envelope writer per operation, the response reader), then per request a JSON body + path/query -> envelope and
 * headers, and an upstream body -> JSON or a problem. No PDK in here: the handler feeds it what it read.
 */
export class Translator {
  readonly routes: RouteTable;
  private readonly operations = new Map<string, CompiledOperation>();
  private readonly reader: ResponseReader;
  readonly endpointPath: string;

  constructor(
    readonly model: ServiceModel,
    options: TranslatorOptions,
  ) {
    this.routes = new RouteTable(model.operations, options.mappings, options.defaultRoutes, options.basePath);
    const ajv = createAjv();
    for (const operation of model.operations.values()) {
      const headers: Record<string, string> =
        model.version === '1.1'
          ? { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${operation.soapAction}"`, Accept: 'text/xml' }
          : { 'Content-Type': `application/soap+xml; charset=utf-8${operation.soapAction ? `; action="${operation.soapAction}"` : ''}`, Accept: 'application/soap+xml' };
      headers['Accept-Encoding'] = 'identity';
      this.operations.set(operation.name, { operation, validate: compileValidator(ajv, operation.input.body), writer: new EnvelopeWriter(operation.input, model.version), headers });
    }
    this.reader = new ResponseReader(model, options.limits, options.unwrap);
    this.endpointPath = options.endpointPath ?? addressPath(model.address);
  }

  /** Reads needed for this method and path (query only for routes that take query parameters). */
  needs(method: string, path: string): Needs {
    const match = this.routes.match(method, path);
    return { query: match.kind === 'operation' && match.queryParams.length > 0, body: !BODYLESS.has(method) };
  }

  /** JSON request -> SOAP request, or the problem to answer. `header` is the soap:Header content (WS-Security). */
  request(req: RestRequest, header?: () => string): RequestPlan {
    const match = this.routes.match(req.method, req.path);
    if (match.kind === 'not-found') {
      const operations = [...this.model.operations.keys()];
      return { kind: 'problem', problem: PROBLEMS.soapOperationNotFound.create(`No SOAP operation is mapped to ${req.method} ${req.path}.`, { operations }) };
    }
    if (match.kind === 'method-not-allowed') {
      return { kind: 'problem', problem: PROBLEMS.soapMethodNotAllowed.create(`${req.method} is not mapped here; use ${match.allow.join(', ')}.`, { allow: match.allow }), headers: { Allow: match.allow.join(', ') } };
    }
    const compiled = this.operations.get(match.operation.name) as CompiledOperation;
    const name = compiled.operation.name;
    if (match.queryParams.length && req.rawQuery === undefined) return { kind: 'need-query' };
    let json: Record<string, unknown> = {};
    if (req.body && req.body.length) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(req.body.toString('utf8'));
      } catch (err) {
        return this.invalid(name, [{ field: '/', message: `not JSON: ${(err as Error).message}` }]);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return this.invalid(name, [{ field: '/', message: 'must be a JSON object' }]);
      json = parsed as Record<string, unknown>;
    }
    const body = compiled.operation.input.body;
    for (const [key, value] of Object.entries(match.params)) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(value);
      } catch {
        return this.invalid(name, [{ field: `/${key}`, message: 'bad percent-encoding in the path' }]);
      }
      json[key] = coerceParam(body, key, [decoded]);
    }
    if (match.queryParams.length && req.rawQuery) {
      const query = new URLSearchParams(req.rawQuery);
      for (const key of match.queryParams) {
        const values = query.getAll(key);
        if (values.length) json[key] = coerceParam(body, key, values);
      }
    }
    if (!compiled.validate(json)) return this.invalid(name, fieldErrors(compiled.validate.errors));
    let envelope: string;
    try {
      envelope = compiled.writer.write(json, header?.());
    } catch (err) {
      if (err instanceof UnwritableText) return this.invalid(name, [{ field: '/', message: err.message }]);
      throw err;
    }
    return { kind: 'soap', operation: name, envelope, headers: compiled.headers, path: this.endpointPath };
  }

  /** Upstream body -> the JSON answer, or a problem (fault or invalid upstream answer). */
  response(body: string): { status: number; json?: string; problem?: Problem; kind: string } {
    const result = this.reader.read(body);
    if (result.kind === 'ok') return { status: 200, json: result.json, kind: 'ok' };
    if (result.kind === 'invalid') {
      return { status: 502, problem: PROBLEMS.soapBadUpstream.create(`The SOAP service's answer was refused: ${result.reason}.`, { reason: result.reason, limit: result.threat }), kind: result.threat ? 'threat' : 'invalid' };
    }
    const problem = faultProblem(result.fault);
    return { status: problem.status, problem, kind: problem.status === 400 ? 'client_fault' : 'server_fault' };
  }

  private invalid(operation: string, errors: Array<{ field: string; message: string }>): RequestPlan {
    const detail = `The request does not fit operation ${operation}: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`;
    return { kind: 'problem', problem: PROBLEMS.soapRequestInvalid.create(detail, { operation, errors }), operation };
  }
}

/** SOAP 1.1 Client / 1.2 Sender (and their dotted refinements, Client.Authentication) are the caller's fault: 400. */
export function faultStatus(fault: SoapFault): number {
  const code = fault.code;
  if (fault.version === '1.1') return code === 'Client' || code.startsWith('Client.') ? 400 : 502;
  return code === 'Sender' ? 400 : 502;
}

export function faultProblem(fault: SoapFault): Problem {
  let detail: unknown;
  if (fault.detail !== undefined) detail = JSON.parse(fault.detail) as unknown;
  const status = faultStatus(fault);
  return PROBLEMS.soapFault.create(
    fault.reason || `SOAP fault ${fault.code}`,
    {
      soap_version: fault.version,
      fault_code: fault.code,
      fault_subcodes: fault.subcodes.length ? fault.subcodes : undefined,
      fault_reason: fault.reason,
      fault_actor: fault.actor,
      fault_detail: detail,
    },
    { status },
  );
}

function addressPath(address: string): string {
  try {
    const url = new URL(address);
    return url.pathname || '/';
  } catch {
    return '/';
  }
}
