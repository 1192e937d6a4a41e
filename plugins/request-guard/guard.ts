import { MAX_HEADER_LINES } from '../../shared/pdk';
import { PROBLEMS, type Problem } from '../../shared/problems';
import { toViolations, type Contract, type MediaValidator, type Violation } from './contract';
import { CATEGORIES, type Category } from './detectors';
import { FreeText } from './free-text';
import { InjectionScanner, type Finding } from './injection';
import { checkJsonLimits, type JsonLimits, type LimitBreach } from './limits';
import type { Operation } from './operations';
import { parseCookies, parseUrlEncoded, type ParameterSources, type QueryPairs } from './parameters';
import type { RequestGuardConfig, RequestPart } from './schema';

/**
 * The decision for one request, in two steps because the body costs a PDK call: `head` (method, path, query,
 * headers) finds the operation, checks limits, parameters and injection in them, and says whether the body is
 * needed; `body` checks the body. Each returns a Verdict: answer with a problem, or pass (with the findings of
 * log-only categories). Pure: no PDK, no clock.
 */
export interface RequestHead {
  method: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string[]>;
  /** Kong gave as many header lines as it can (1000): more may have been dropped unseen. */
  headersTruncated: boolean;
}

export type Verdict =
  | { kind: 'reject'; problem: Problem; headers?: Record<string, string>; reason: string; findings?: Finding[] }
  | { kind: 'pass'; logged: Finding[] }
  | { kind: 'body'; state: BodyState; maxBytes: number };

export interface BodyState {
  operation?: Operation;
  media?: MediaValidator;
  contentType: string;
  logged: Finding[];
}

export interface GuardSettings {
  parts: ReadonlySet<RequestPart>;
  rejectUnknownOperation: boolean;
  rejectUnknownQuery: boolean;
  debug: boolean;
  refuseMultipart: boolean;
  maxBodyBytes: number;
  maxParameters: number;
  json: JsonLimits;
}

export function settingsFrom(config: RequestGuardConfig): GuardSettings {
  return {
    parts: new Set(config.validate),
    rejectUnknownOperation: config.unknown_operation === 'reject',
    rejectUnknownQuery: config.unknown_query_parameters === 'reject',
    debug: config.error_detail === 'debug',
    refuseMultipart: config.multipart === 'refuse',
    maxBodyBytes: config.limits.max_body_bytes,
    maxParameters: config.limits.max_parameters,
    json: {
      maxDepth: config.limits.max_json_depth,
      maxArrayLength: config.limits.max_array_length,
      maxObjectKeys: config.limits.max_object_keys,
      maxStringLength: config.limits.max_string_length,
    },
  };
}

export function scannerFrom(config: RequestGuardConfig): InjectionScanner {
  const actions = {} as Record<Category, RequestGuardConfig['injection']['sql']>;
  for (const category of CATEGORIES) actions[category] = config.injection[category];
  return new InjectionScanner(actions, new FreeText(config.free_text), config.max_decode_passes);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT']);

export class Guard {
  constructor(
    private readonly contract: Contract,
    private readonly scanner: InjectionScanner,
    private readonly settings: GuardSettings,
  ) {}

  head(request: RequestHead): Verdict {
    const s = this.settings;
    // a header Kong dropped is one the guard cannot check (a Content-Type past the limit would skip the body checks)
    if (request.headersTruncated) return this.limit({ limit: 'max_header_lines', max: MAX_HEADER_LINES, location: 'headers' });
    const query = parseUrlEncoded(request.rawQuery, s.maxParameters);
    if (query === 'too-many') return this.limit({ limit: 'max_parameters', max: s.maxParameters, location: 'query' });
    const tooLong = longValue(query, request.headers, s.json.maxStringLength);
    if (tooLong) return this.limit({ limit: 'max_string_length', max: s.json.maxStringLength, location: tooLong });

    const length = contentLength(request.headers);
    const hasBody = length > 0 || (length < 0 && request.headers['transfer-encoding'] !== undefined);
    if (length > s.maxBodyBytes) return this.tooLarge();

    const cookies = parseCookies(request.headers.cookie);
    const contentType = request.headers['content-type']?.[0] ?? '';
    let operation: Operation | undefined;
    let pathParams: Record<string, string> = {};
    const findings: Finding[] = [];

    if (this.contract.hasOperations) {
      const match = this.contract.locate(request.method, request.path);
      if (!match || !match.operation) {
        if (s.rejectUnknownOperation) {
          if (match?.allowed) {
            const problem = PROBLEMS.operationMethodNotAllowed.create(`${request.method} is not an operation of ${request.path}.`, { method: request.method, allowed: match.allowed });
            return { kind: 'reject', problem, headers: { Allow: match.allowed.join(', ') }, reason: 'method_not_allowed' };
          }
          return { kind: 'reject', problem: PROBLEMS.operationNotFound.create(`No operation of the API contract matches ${request.method} ${request.path}.`, { method: request.method, path: request.path }), reason: 'not_found' };
        }
      } else {
        operation = match.operation;
        pathParams = match.pathParams;
        const sources: ParameterSources = { query, headers: request.headers, cookies, path: pathParams };
        const violations = this.contract.validateParameters(operation, sources, s.parts, s.rejectUnknownQuery);
        if (violations.length) return this.invalid(violations, operation);
      }
    }

    // injection in the request line and headers
    if (this.scanner.active) {
      this.scanner.query(query, findings);
      this.scanner.record('path', pathParams, findings);
      if (!operation) this.scanPathSegments(request.path, findings);
      this.scanner.record('cookie', cookies, findings);
      this.scanner.record('header', request.headers, findings);
      const blocked = this.blocking(findings);
      if (blocked) return blocked;
    }

    const state: BodyState = { operation, contentType, logged: findings };
    // HTTP/2 may carry a body without Content-Length: when the length is unknown and the method usually has a
    // body, read it (one call) and decide on what arrives
    if (length < 0 && !hasBody && !BODYLESS_METHODS.has(request.method)) return { kind: 'body', state, maxBytes: s.maxBodyBytes };
    if (!hasBody) return this.withoutBody(state);
    return this.bodyStep(state) ?? { kind: 'body', state, maxBytes: s.maxBodyBytes };
  }

  /** The body's media type against the operation; undefined when the body must be read. */
  private bodyStep(state: BodyState): Verdict | undefined {
    const s = this.settings;
    const operation = state.operation;
    if (operation && s.parts.has('body') && operation.body?.media.length) {
      state.media = this.contract.media(operation, state.contentType || 'application/octet-stream');
      if (!state.media) return this.unsupported(state.contentType, this.contract.mediaRanges(operation));
    }
    const kind = state.media?.kind ?? bodyKind(state.contentType);
    if (kind === 'multipart' && s.refuseMultipart) return this.unsupported(state.contentType, ['multipart bodies are not accepted on this route']);
    const needBody = state.media?.validate !== undefined || kind === 'json' || (this.scanner.active && kind === 'form') || (kind === 'form' && this.contract.bodySchema !== undefined);
    return needBody ? undefined : { kind: 'pass', logged: state.logged };
  }

  private withoutBody(state: BodyState): Verdict {
    if (state.operation && this.settings.parts.has('body') && state.operation.body?.required) {
      return this.invalid([{ location: 'body', message: 'is required', keyword: 'required' }], state.operation);
    }
    return { kind: 'pass', logged: state.logged };
  }

  body(state: BodyState, bytes: Buffer | undefined): Verdict {
    const s = this.settings;
    if (bytes === undefined || bytes.length > s.maxBodyBytes) return this.tooLarge();
    if (state.media === undefined && bytes.length === 0) return this.withoutBody(state);
    if (state.media === undefined) {
      const step = this.bodyStep(state);
      if (step) return step;
    }
    const kind = state.media?.kind ?? bodyKind(state.contentType);
    const findings = [...state.logged];
    const validate = state.media?.validate ?? (kind === 'json' ? this.contract.bodySchema : undefined);
    let value: unknown;
    if (kind === 'json') {
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        return this.invalid([{ location: 'body', message: 'is not valid UTF-8', keyword: 'type' }], state.operation);
      }
      const breach = checkJsonLimits(text, s.json);
      if (breach) return this.limit(breach);
      try {
        value = JSON.parse(text);
      } catch {
        return this.invalid([{ location: 'body', message: 'is not valid JSON', keyword: 'type' }], state.operation);
      }
      if (this.scanner.active) this.scanner.json(value, findings);
    } else if (kind === 'form') {
      const pairs = parseUrlEncoded(bytes.toString('latin1'), s.maxParameters);
      if (pairs === 'too-many') return this.limit({ limit: 'max_parameters', max: s.maxParameters, location: 'body' });
      const object: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
      for (const [name, v] of pairs) {
        if (v.length > s.json.maxStringLength) return this.limit({ limit: 'max_string_length', max: s.json.maxStringLength, location: `body/${name}` });
        const existing = object[name];
        object[name] = existing === undefined ? v : Array.isArray(existing) ? [...existing, v] : [existing, v];
      }
      value = object;
      if (this.scanner.active) this.scanner.json(value, findings);
    } else {
      return { kind: 'pass', logged: findings };
    }
    if (validate && !validate(value)) {
      return this.invalid(toViolations(validate.errors, 'body'), state.operation);
    }
    return this.blocking(findings) ?? { kind: 'pass', logged: findings };
  }

  private scanPathSegments(path: string, findings: Finding[]): void {
    const segments = path.split('/');
    const values: Record<string, string> = {};
    for (let i = 1; i < segments.length; i++) if (segments[i]) values[String(i - 1)] = segments[i];
    this.scanner.record('path', values, findings);
  }

  /** Findings of blocking categories answer 403; log-only ones ride along on the verdict. */
  private blocking(findings: Finding[]): Verdict | undefined {
    const blocked = findings.filter((f) => this.scanner.action(f.category) === 'block');
    if (!blocked.length) return undefined;
    const categories = [...new Set(blocked.map((f) => f.category))].join(', ');
    const problem = PROBLEMS.injectionDetected.create(`The request carries what looks like an injection attack (${categories}).`, { violations: blocked.map((f) => ({ category: f.category, location: f.location })) });
    return { kind: 'reject', problem, reason: 'injection', findings };
  }

  private invalid(violations: Violation[], operation: Operation | undefined): Verdict {
    const errors = violations.slice(0, 100).map((v) => describe(v, this.settings.debug));
    const detail = `${violations.length} violation${violations.length === 1 ? '' : 's'} of the API contract: ${errors.slice(0, 3).map((e) => `${e.location} ${e.message}`).join('; ')}${violations.length > 3 ? '; ...' : ''}`;
    const problem = PROBLEMS.requestInvalid.create(detail, { errors, operation: operation ? operation.operationId ?? `${operation.method.toUpperCase()} ${operation.template}` : undefined });
    return { kind: 'reject', problem, reason: 'invalid' };
  }

  private limit(breach: LimitBreach): Verdict {
    const problem = PROBLEMS.requestLimitExceeded.create(`The request exceeds ${breach.limit} (${breach.max}) at ${breach.location}.`, { limit: breach.limit, max: breach.max, location: breach.location });
    return { kind: 'reject', problem, reason: 'limit' };
  }

  private tooLarge(): Verdict {
    const max = this.settings.maxBodyBytes;
    return { kind: 'reject', problem: PROBLEMS.requestTooLarge.create(`The request body is larger than ${max} bytes.`, { limit: 'max_body_bytes', max }), reason: 'too_large' };
  }

  private unsupported(contentType: string, supported: string[]): Verdict {
    const problem = PROBLEMS.unsupportedMediaType.create(`Content-Type "${contentType || '(none)'}" is not accepted by this operation.`, { content_type: contentType, supported });
    return { kind: 'reject', problem, reason: 'media_type' };
  }
}

/** Production: location and a message without schema internals; debug: ajv's keyword, schema path and params. */
function describe(v: Violation, debug: boolean): Record<string, unknown> {
  if (debug) return { location: v.location, message: v.message, keyword: v.keyword, schema_path: v.schema_path, params: v.params };
  let message = v.message;
  if (v.keyword === 'pattern') message = 'does not match the required pattern';
  else if (v.keyword === 'required' || v.keyword === 'readOnly') message = v.keyword === 'required' ? 'is required' : 'is read-only';
  else if (v.keyword === 'additionalProperties' || v.keyword === 'unevaluatedProperties') message = 'is not allowed';
  else if (v.keyword === 'oneOf' || v.keyword === 'anyOf' || v.keyword === 'if' || v.keyword === 'not' || v.keyword === '$ref') message = 'does not match any allowed shape';
  return { location: v.location, message };
}

function bodyKind(contentType: string): MediaValidator['kind'] {
  const essence = contentType.split(';')[0].trim().toLowerCase();
  if (essence === 'application/json' || essence.endsWith('+json')) return 'json';
  if (essence === 'application/x-www-form-urlencoded') return 'form';
  if (essence.startsWith('multipart/')) return 'multipart';
  return 'other';
}

function contentLength(headers: Record<string, string[]>): number {
  const value = headers['content-length']?.[0];
  if (value === undefined) return -1;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : -1;
}

function longValue(query: QueryPairs, headers: Record<string, string[]>, max: number): string | undefined {
  for (const [name, value] of query) if (value.length > max || name.length > max) return `query/${name}`;
  for (const [name, values] of Object.entries(headers)) for (const v of values) if (v.length > max) return `header/${name}`;
  return undefined;
}
