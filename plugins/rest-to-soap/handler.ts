import type { Clock } from '../../shared/clock';
import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import type { Pdk } from '../../shared/pdk';
import { exitWithProblem, PROBLEMS } from '../../shared/problems';
import { translations, upstreamAnswers } from './metrics';
import { limitsOf, translatorFor, wsSecurityOf, type RestToSoapConfig } from './schema';
import type { Translator } from './translator';
import { usernameTokenHeader, type UsernameTokenSettings } from './wsse';

/**
 * Access: read method and path, the query only for routes that take query parameters, the body unless the method
 * has none; answer 404/405/400/413 problems, or rewrite the upstream request into the SOAP call (method POST, the
 * endpoint path, SOAP headers in one write, the envelope). Response (buffered): read the upstream body (never
 * get_headers, {} in Kong 3.9), answer the JSON or the problem with one exit. PDK calls for POST /<Operation>:
 * access 6 (get_method, get_path, get_raw_body, set_path, set_headers, set_raw_body), response 2 (get_raw_body, exit).
 */
export class RestToSoapHandler implements PhaseHandler {
  private readonly translator: Translator;
  private readonly maxRequestBytes: number;
  private readonly wss: UsernameTokenSettings | undefined;
  private readonly clock: Clock;

  constructor(config: RestToSoapConfig, context: HandlerContext) {
    this.translator = translatorFor(config);
    this.maxRequestBytes = limitsOf(config).max_request_body_bytes;
    this.clock = context.clock;
    this.wss = usernameToken(config);
  }

  async access(pdk: Pdk): Promise<void> {
    const method = await pdk.request.getMethod();
    const path = await pdk.request.getPath();
    const needs = this.translator.needs(method, path);
    const rawQuery = needs.query ? await pdk.request.getRawQuery() : undefined;
    let body: Buffer | undefined;
    if (needs.body) {
      // Content-Length first: Kong answers 500, not our 413, for a temp-file body over the read limit (getRawBody)
      const max = this.maxRequestBytes;
      const declared = Number(await pdk.request.getHeader('content-length'));
      body = declared > max ? undefined : await pdk.request.getRawBody(max);
      if (body === undefined) return exitWithProblem(pdk, PROBLEMS.soapRequestTooLarge.create(`The request body is larger than ${max} bytes.`, { max_bytes: max }));
    }
    const wss = this.wss;
    const plan = this.translator.request({ method, path, rawQuery, body }, wss && (() => usernameTokenHeader(wss, this.clock.now())));
    if (plan.kind === 'problem') {
      translations.inc({ operation: plan.operation ?? '', outcome: plan.problem.code });
      return exitWithProblem(pdk, plan.problem, plan.headers);
    }
    if (plan.kind === 'need-query') throw new Error('rest-to-soap: route needs the query but it was not read');
    translations.inc({ operation: plan.operation, outcome: 'translated' });
    if (method !== 'POST') await pdk.serviceRequest.setMethod('POST');
    await pdk.serviceRequest.setPath(plan.path);
    if (rawQuery) await pdk.serviceRequest.setRawQuery('');
    await pdk.serviceRequest.setHeaders(plan.headers);
    await pdk.serviceRequest.setRawBody(plan.envelope);
  }

  async response(pdk: Pdk): Promise<void> {
    const raw = await pdk.serviceResponse.getRawBody();
    const answer = this.translator.response(raw.toString('utf8'));
    upstreamAnswers.inc({ kind: answer.kind });
    if (answer.problem) return exitWithProblem(pdk, answer.problem);
    await pdk.response.exit(answer.status, answer.json as string, { 'Content-Type': 'application/json' });
  }
}

function usernameToken(config: RestToSoapConfig): UsernameTokenSettings | undefined {
  const w = wsSecurityOf(config);
  if (!w.username) return undefined;
  let password = w.password ?? undefined;
  if (w.password_env) {
    password = process.env[w.password_env];
    // fail the instance start, not each request: the operator sees one clear error
    if (password === undefined) throw new Error(`rest-to-soap: ws_security.password_env: environment variable ${w.password_env} is not set`);
  }
  return { username: w.username, password: password ?? '', type: w.password_type, mustUnderstand: w.must_understand };
}
