import { PROBLEMS, type Problem } from '../../shared/problems';
import type { BlockReason } from './body-masking';

const DETAILS: Record<BlockReason, string> = {
  pii: 'The upstream response contained data this route must not return.',
  dtd: 'The upstream response is XML with a document type declaration, which this route does not return.',
  size: 'The upstream response is too large to be checked for sensitive data.',
  encoding: 'The upstream response has a content coding that cannot be decoded to be checked for sensitive data.',
  corrupt: 'The upstream response could not be decompressed to be checked for sensitive data.',
  charset: 'The upstream response has a character set that cannot be checked for sensitive data.',
  media_type: 'The upstream response has a media type that cannot be checked for sensitive data.',
  partial_content: 'The upstream response is a partial (206) response, which cannot be checked for sensitive data.',
  time_budget: 'The upstream response could not be checked for sensitive data in time.',
};

const UNSCANNABLE = new Set<BlockReason>(['size', 'encoding', 'corrupt', 'charset', 'media_type', 'partial_content', 'time_budget']);

/**
 * The problem that replaces a blocked response (shared/problems catalogue): `response-blocked` when the plugin read
 * the body and it must not leave (a type in block mode, a DTD), `response-unscannable` when it could not read it.
 * Types of data only, never values.
 */
export function blockedProblem(status: number, reason: BlockReason, types: Iterable<string>): Problem {
  if (UNSCANNABLE.has(reason)) return PROBLEMS.responseUnscannable.create(DETAILS[reason], { reason }, { status });
  const list = [...types].sort();
  return PROBLEMS.responseBlocked.create(DETAILS[reason], { reason, types: list.length ? list : undefined }, { status });
}
