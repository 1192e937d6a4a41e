import type { Pdk } from './pdk';
import type { HeaderInput } from './types';

/** RFC 9457 problem details, the body of every answer a plugin of the suite gives itself. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [member: string]: unknown;
}

/** Ends the request with a problem+json body: one PDK call (kong.response.exit), the last of the phase. */
export function exitWithProblem(pdk: Pdk, problem: Problem, headers?: HeaderInput): Promise<void> {
  return pdk.response.exit(problem.status, JSON.stringify(problem), { ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE });
}
