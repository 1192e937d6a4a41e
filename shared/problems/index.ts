import { isFramingHeader, type Pdk } from '../pdk/pdk';
import type { HeaderInput } from '../pdk/types';
import type { Problem } from './catalogue';

export { PROBLEMS, CONFIGURABLE_TYPE, type Problem, type ProblemEntry, type ProblemOptions } from './catalogue';

/** RFC 9457 problem details, the body of every answer a plugin of the suite gives itself. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Ends the request with a problem+json body: one PDK call, the last of the phase. Always kong.response.exit with
 * the body, then the headers: kong.response.error with this Content-Type makes Kong fail with 500 (it has no
 * template for it), and a nil body would end Kong's argument list before the headers. Framing headers passed in
 * (isFramingHeader: another message's Content-Length or Content-Type) are dropped.
 */
export function exitWithProblem(pdk: Pdk, problem: Problem, headers?: HeaderInput): Promise<void> {
  const answer: HeaderInput = {};
  for (const name in headers) if (!isFramingHeader(name)) answer[name] = headers[name];
  answer['Content-Type'] = PROBLEM_CONTENT_TYPE;
  return pdk.response.exit(problem.status, JSON.stringify(problem), answer);
}
