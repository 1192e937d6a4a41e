import { OperatorPattern } from '../../shared/safety/operator-pattern';
import type { TenantQuotaConfig } from './schema';

/** Operators' patterns see bounded untrusted input (nginx itself caps request lines at 8 KB by default). */
const MAX_MATCHED_PATH = 2048;

interface Endpoint {
  name: string;
  methods: Set<string> | undefined;
  pattern: OperatorPattern;
}

/**
 * Pure: the endpoint of endpoint-scoped limits. Without configured endpoints the route (or service) is the
 * endpoint and no request read is needed; with them, the first match of method + normalized path wins.
 */
export class EndpointMatcher {
  private readonly endpoints: Endpoint[];

  constructor(
    endpoints: TenantQuotaConfig['endpoints'],
    /** The config's route (or service) id: the endpoint of a request matching no configured endpoint, when the config is on a route. */
    readonly route: string,
  ) {
    // compiled once per config on RE2 (linear time on any path); patterns RE2 refuses were refused at start (checks)
    this.endpoints = (endpoints ?? []).map((e) => ({ name: e.name, methods: e.methods?.length ? new Set(e.methods.map((m) => m.toUpperCase())) : undefined, pattern: OperatorPattern.compile(e.path_pattern) }));
  }

  /** Whether match() needs the request's method and path (two PDK reads). */
  get needsRequest(): boolean {
    return this.endpoints.length > 0;
  }

  /** The first configured endpoint matching, or undefined (the request then counts under its route). */
  match(method: string, path: string): string | undefined {
    if (path.length > MAX_MATCHED_PATH) return undefined;
    for (const e of this.endpoints) if ((!e.methods || e.methods.has(method)) && e.pattern.test(path)) return e.name;
    return undefined;
  }
}
