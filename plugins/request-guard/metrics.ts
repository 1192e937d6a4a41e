import { counter } from '../../shared/observability/metrics';

export const REQUESTS_METRIC = 'kong_request_guard_requests_total';
export const DETECTIONS_METRIC = 'kong_request_guard_detections_total';

const requests = counter(REQUESTS_METRIC, 'Requests checked by request-guard, by outcome (pass, invalid, not_found, method_not_allowed, media_type, limit, too_large, injection)', ['route', 'outcome']);
const detections = counter(DETECTIONS_METRIC, 'Injection findings by category and action (block or log)', ['route', 'category', 'action']);

/** Counters per route (route id: bounded by the configuration). */
export class GuardMetrics {
  constructor(private readonly route: string) {}

  outcome(outcome: string): void {
    requests.inc({ route: this.route, outcome });
  }

  detection(category: string, action: string): void {
    detections.inc({ route: this.route, category, action });
  }
}
