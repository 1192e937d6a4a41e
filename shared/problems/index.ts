import type { Pdk } from '../pdk/pdk';
import type { HeaderInput } from '../pdk/types';
import type { Problem } from './catalogue';

export { PROBLEMS, CONFIGURABLE_TYPE, type Problem, type ProblemEntry, type ProblemOptions } from './catalogue';

/** RFC 9457 problem details, the body of every answer a plugin of the suite gives itself. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Ends the request with a problem+json body: one PDK call, the last of the phase. Always kong.response.exit with
 * the body, then the headers: kong.response.error with this Content-Type makes Kong fail with 500 (it has no
 * template for it), and a nil body would end Kong's argument list before the headers.
 */
export function exitWithProblem(pdk: Pdk, problem: Problem, headers?: HeaderInput): Promise<void> {
  return pdk.response.exit(problem.status, JSON.stringify(problem), { ...withoutFraming(headers), 'Content-Type': PROBLEM_CONTENT_TYPE });
}

/**
 * Headers that describe a body or a connection: never taken from elsewhere (an ext_authz provider's answer) onto
 * another message. In kong.response.exit a caller's content-length stops Kong from setting the body's own
 * (pdk/response.lua send), and a lower-case content-type is another Lua table key than ours: which one wins is
 * pairs() order. Onto an upstream request, set_headers would corrupt its framing.
 */
const FRAMING_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'host']);

export function isFramingHeader(name: string): boolean {
  return FRAMING_HEADERS.has(name.toLowerCase());
}

function withoutFraming(headers: HeaderInput | undefined): HeaderInput | undefined {
  if (!headers) return headers;
  let framing = false;
  for (const name in headers) if ((framing = isFramingHeader(name))) break;
  if (!framing) return headers;
  const kept: HeaderInput = {};
  for (const name in headers) if (!isFramingHeader(name)) kept[name] = headers[name];
  return kept;
}
