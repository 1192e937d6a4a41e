import type { BlockReason } from './body-masking';

export const PROBLEM_TYPE = 'urn:kong-plugins:pii-masking:response-blocked';

const DETAILS: Record<BlockReason, string> = {
  pii: 'The upstream response contained data this route must not return.',
  dtd: 'The upstream response is XML with a document type declaration, which this route does not return.',
  size: 'The upstream response is too large to be checked for sensitive data.',
  unscannable: 'The upstream response could not be decoded to be checked for sensitive data.',
};

/** The RFC 9457 problem+json body that replaces a blocked response: types of data only, never values. */
export function problemBody(status: number, reason: BlockReason, types: Iterable<string>): string {
  const body: Record<string, unknown> = { type: PROBLEM_TYPE, title: 'Response blocked', status, detail: DETAILS[reason], reason };
  const list = [...types].sort();
  if (list.length) body.types = list;
  return JSON.stringify(body);
}
