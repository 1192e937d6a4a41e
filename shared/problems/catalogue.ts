import { STATUS_CODES } from 'node:http';

/**
 * Every RFC 9457 problem a plugin of the suite answers with, in one place (fastify's lib/errors.js is the model):
 * each has a stable `code` (also a member of every body), a type URI, a title, a status and the members it carries.
 * The README's "Problem answers" table lists exactly these (a schema spec checks it). A new plugin adds its entries
 * here and builds bodies with `.create()`; handlers answer with `exitWithProblem` (shared/problems).
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Stable machine-readable code: the catalogue entry. */
  code: string;
  [member: string]: unknown;
}

export interface ProblemOptions {
  /** Entries with `status: 'configured'` (pii-masking's block_status): the status of this answer. */
  status?: number;
  /** Entries with a configurable type: the configured base URI (type = base + code); unset: about:blank. */
  typeBase?: string;
}

export interface ProblemEntry<M extends Record<string, unknown>> {
  readonly code: string;
  readonly plugin: string;
  /** A fixed URI, or 'configurable': `<typeBase><code>` when the plugin's config gives a base, else about:blank. */
  readonly type: string;
  readonly title: string;
  readonly status: number | 'configured';
  /** Members the body carries besides type/title/status/detail/code (optional ones marked `?`). */
  readonly members: readonly string[];
  create(detail: string, members: M, options?: ProblemOptions): Problem;
}

export const CONFIGURABLE_TYPE = 'configurable';

type Definition = Omit<ProblemEntry<never>, 'create'>;

function entry<M extends Record<string, unknown> = Record<string, never>>(definition: Definition): ProblemEntry<M> {
  return {
    ...definition,
    create(detail, members, options = {}) {
      const status = definition.status === 'configured' ? (options.status as number) : definition.status;
      let type = definition.type;
      let title = definition.title;
      if (type === CONFIGURABLE_TYPE) type = options.typeBase ? options.typeBase + definition.code : 'about:blank';
      // RFC 9457 4.2.1: with about:blank the title is the status's reason phrase
      if (type === 'about:blank') title = STATUS_CODES[status] ?? title;
      const body: Problem = { type, title, status, detail, code: definition.code };
      for (const [name, value] of Object.entries(members)) if (value !== undefined) body[name] = value;
      return body;
    },
  };
}

const IANA = 'https://iana.org/assignments/http-problem-types#';

export const PROBLEMS = {
  // tenant-quota
  quotaExceeded: entry<{ 'violated-policies': string[] }>({
    code: 'quota-exceeded',
    plugin: 'tenant-quota',
    type: `${IANA}quota-exceeded`,
    title: 'Request quota exceeded',
    status: 429,
    members: ['violated-policies'],
  }),
  quotaUnavailable: entry({
    code: 'temporary-reduced-capacity',
    plugin: 'tenant-quota',
    type: `${IANA}temporary-reduced-capacity`,
    title: 'Quota service temporarily unavailable',
    status: 503,
    members: [],
  }),
  tenantUnidentified: entry({ code: 'tenant-unidentified', plugin: 'tenant-quota', type: 'about:blank', title: 'Unauthorized', status: 401, members: [] }),
  invalidCost: entry({ code: 'invalid-request-cost', plugin: 'tenant-quota', type: 'about:blank', title: 'Bad Request', status: 400, members: [] }),
  ambiguousHeader: entry<{ header: string }>({ code: 'ambiguous-request-header', plugin: 'tenant-quota', type: 'about:blank', title: 'Bad Request', status: 400, members: ['header'] }),
  identityKeysUnavailable: entry({ code: 'identity-keys-unavailable', plugin: 'tenant-quota', type: 'about:blank', title: 'Service Unavailable', status: 503, members: [] }),
  // pii-masking
  responseBlocked: entry<{ reason: string; types?: string[] }>({
    code: 'response-blocked',
    plugin: 'pii-masking',
    type: 'urn:kong-plugins:pii-masking:response-blocked',
    title: 'Response blocked',
    status: 'configured',
    members: ['reason', 'types?'],
  }),
  responseUnscannable: entry<{ reason: string }>({
    code: 'response-unscannable',
    plugin: 'pii-masking',
    type: 'urn:kong-plugins:pii-masking:response-unscannable',
    title: 'Response cannot be checked',
    status: 'configured',
    members: ['reason'],
  }),
  // version-deprecation
  apiVersionConflict: entry<{ versions: Array<{ source: string; version: string }> }>({
    code: 'api-version-conflict',
    plugin: 'version-deprecation',
    type: CONFIGURABLE_TYPE,
    title: 'Conflicting API versions',
    status: 400,
    members: ['versions'],
  }),
  invalidVersionPath: entry({
    code: 'invalid-version-path',
    plugin: 'version-deprecation',
    type: CONFIGURABLE_TYPE,
    title: 'Path cannot be routed to the version',
    status: 400,
    members: [],
  }),
  unsupportedApiVersion: entry<{ requested_version: string; supported_versions: string[] }>({
    code: 'unsupported-api-version',
    plugin: 'version-deprecation',
    type: CONFIGURABLE_TYPE,
    title: 'Unsupported API version',
    status: 400,
    members: ['requested_version', 'supported_versions'],
  }),
  apiVersionRequired: entry<{ supported_versions: string[] }>({
    code: 'api-version-required',
    plugin: 'version-deprecation',
    type: CONFIGURABLE_TYPE,
    title: 'API version required',
    status: 400,
    members: ['supported_versions'],
  }),
  apiVersionSunset: entry<{ version: string; sunset?: string; successor?: string; successor_link?: string }>({
    code: 'api-version-sunset',
    plugin: 'version-deprecation',
    type: CONFIGURABLE_TYPE,
    title: 'API version gone',
    status: 410,
    members: ['version', 'sunset?', 'successor?', 'successor_link?'],
  }),
  apiVersionBrownout: entry<{ version: string; brownout_ends: string; sunset?: string; successor?: string; successor_link?: string }>({
    code: 'api-version-brownout',
    plugin: 'version-deprecation',
    type: CONFIGURABLE_TYPE,
    title: 'API version temporarily unavailable (deprecation brownout)',
    status: 410,
    members: ['version', 'brownout_ends', 'sunset?', 'successor?', 'successor_link?'],
  }),
  // rest-to-soap
  soapFault: entry<{ soap_version: string; fault_code: string; fault_subcodes?: string[]; fault_reason: string; fault_actor?: string; fault_detail?: unknown }>({
    code: 'soap-fault',
    plugin: 'rest-to-soap',
    type: 'urn:kong-plugins:rest-to-soap:soap-fault',
    title: 'SOAP fault',
    status: 'configured',
    members: ['soap_version', 'fault_code', 'fault_subcodes?', 'fault_reason', 'fault_actor?', 'fault_detail?'],
  }),
  soapRequestInvalid: entry<{ operation?: string; errors: Array<{ field: string; message: string }> }>({
    code: 'invalid-soap-request',
    plugin: 'rest-to-soap',
    type: 'urn:kong-plugins:rest-to-soap:invalid-request',
    title: 'Request does not fit the SOAP operation',
    status: 400,
    members: ['operation?', 'errors'],
  }),
  soapRequestTooLarge: entry<{ max_bytes: number }>({
    code: 'soap-request-too-large',
    plugin: 'rest-to-soap',
    type: 'about:blank',
    title: 'Content Too Large',
    status: 413,
    members: ['max_bytes'],
  }),
  soapOperationNotFound: entry<{ operations: string[] }>({
    code: 'soap-operation-not-found',
    plugin: 'rest-to-soap',
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    members: ['operations'],
  }),
  soapMethodNotAllowed: entry<{ allow: string[] }>({
    code: 'soap-method-not-allowed',
    plugin: 'rest-to-soap',
    type: 'about:blank',
    title: 'Method Not Allowed',
    status: 405,
    members: ['allow'],
  }),
  soapBadUpstream: entry<{ reason: string; limit?: string }>({
    code: 'soap-bad-upstream',
    plugin: 'rest-to-soap',
    type: 'urn:kong-plugins:rest-to-soap:bad-upstream',
    title: 'Invalid answer from the SOAP service',
    status: 502,
    members: ['reason', 'limit?'],
  }),
  // istio-policy-sync
  meshAuthorizationDenied: entry<{ reason: string; policy?: string; action: string; workload: string }>({
    code: 'mesh-authorization-denied',
    plugin: 'istio-policy-sync',
    type: 'urn:kong-plugins:istio-policy-sync:mesh-authorization-denied',
    title: 'Denied by the mesh authorization policy',
    status: 'configured',
    members: ['reason', 'policy?', 'action', 'workload'],
  }),
  meshAuthenticationFailed: entry<{ reason: string; policy?: string; workload: string }>({
    code: 'mesh-authentication-failed',
    plugin: 'istio-policy-sync',
    type: 'urn:kong-plugins:istio-policy-sync:mesh-authentication-failed',
    title: 'Request authentication failed',
    status: 401,
    members: ['reason', 'policy?', 'workload'],
  }),
  // request-guard
  requestInvalid: entry<{ errors: Array<Record<string, unknown>>; operation?: string }>({
    code: 'request-validation-failed',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:request-validation-failed',
    title: 'Request does not match the API contract',
    status: 400,
    members: ['errors', 'operation?'],
  }),
  operationNotFound: entry<{ method: string; path: string }>({
    code: 'operation-not-found',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:operation-not-found',
    title: 'No such operation',
    status: 404,
    members: ['method', 'path'],
  }),
  operationMethodNotAllowed: entry<{ method: string; allowed: string[] }>({
    code: 'operation-method-not-allowed',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:operation-method-not-allowed',
    title: 'Method not allowed',
    status: 405,
    members: ['method', 'allowed'],
  }),
  unsupportedMediaType: entry<{ content_type: string; supported: string[] }>({
    code: 'unsupported-media-type',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:unsupported-media-type',
    title: 'Unsupported media type',
    status: 415,
    members: ['content_type', 'supported'],
  }),
  requestTooLarge: entry<{ limit: string; max: number }>({
    code: 'request-too-large',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:request-too-large',
    title: 'Request body too large',
    status: 413,
    members: ['limit', 'max'],
  }),
  requestLimitExceeded: entry<{ limit: string; max: number; location: string }>({
    code: 'request-limit-exceeded',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:request-limit-exceeded',
    title: 'Request exceeds a structural limit',
    status: 400,
    members: ['limit', 'max', 'location'],
  }),
  injectionDetected: entry<{ violations: Array<{ category: string; location: string }> }>({
    code: 'injection-detected',
    plugin: 'request-guard',
    type: 'urn:kong-plugins:request-guard:injection-detected',
    title: 'Request blocked: injection detected',
    status: 403,
    members: ['violations'],
  }),
  // bot-guard
  botBlocked: entry<{ score: number; category: string; reasons: string[] }>({
    code: 'bot-blocked',
    plugin: 'bot-guard',
    type: CONFIGURABLE_TYPE,
    title: 'Automated request blocked',
    status: 403,
    members: ['score', 'category', 'reasons'],
  }),
  botRateLimited: entry<{ score: number; category: string; reasons: string[] }>({
    code: 'bot-rate-limited',
    plugin: 'bot-guard',
    type: CONFIGURABLE_TYPE,
    title: 'Automated request rate limited',
    status: 429,
    members: ['score', 'category', 'reasons'],
  }),
  botCheckUnavailable: entry({
    code: 'bot-check-unavailable',
    plugin: 'bot-guard',
    type: CONFIGURABLE_TYPE,
    title: 'Bot check temporarily unavailable',
    status: 503,
    members: [],
  }),
} as const;
