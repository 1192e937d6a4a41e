import { BoundedLabel, counter } from '../../shared/observability/metrics';
import type { BodyDecision } from './body-masking';

/** The plugin's metrics (created once per process). Labels carry types and reasons, never values. */
export const detections = counter('kong_pii_masking_detections_total', 'Sensitive values detected, by type and location', ['type', 'location']);
export const blockedResponses = counter('kong_pii_masking_blocked_responses_total', 'Responses replaced by a problem+json error', ['reason']);
export const skippedBodies = counter('kong_pii_masking_bodies_skipped_total', 'Response bodies not scanned (or scanned as text), by reason', ['reason']);
export const maskedBodies = counter('kong_pii_masking_bodies_masked_total', 'Response bodies rewritten, by format', ['format']);

/** Custom detector names come from config: bounded anyway. */
const typeLabel = new BoundedLabel(64);

export type Location = 'body' | 'request_header' | 'response_header' | 'query';

export function countDetections(counts: ReadonlyMap<string, number>, location: Location): void {
  for (const [type, count] of counts) detections.inc({ type: typeLabel.value(type), location }, count);
}

/** What one response body decision counts: skipped reason, detections, and the block or rewrite. */
export function countBodyDecision(decision: BodyDecision): void {
  if (decision.skipped) skippedBodies.inc({ reason: decision.skipped });
  countDetections(decision.report.counts, 'body');
  if (decision.action === 'block') blockedResponses.inc({ reason: decision.reason });
  else if (decision.action === 'replace') maskedBodies.inc({ format: decision.format });
}
