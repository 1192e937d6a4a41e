import { BoundedLabel, counter, gauge } from '../../shared/observability/metrics';

/** Metrics of the plugin, created once per process (get-or-create), labels bounded. */
const decisions = counter('kong_plugins_istio_authz_decisions_total', 'Edge decisions on mesh authorization, by deciding policy, its action, the decision and the mode.', [
  'policy',
  'action',
  'decision',
  'mode',
] as const);
const matches = counter('kong_plugins_istio_authz_policy_matches_total', 'AUDIT and dry-run policies that matched a request (they never decide).', ['policy', 'action', 'kind'] as const);
const loadedObjects = gauge('kong_plugins_istio_policies_loaded', 'Objects in the last good policy set, by source and kind.', ['source', 'kind'] as const);
const loadFailures = counter('kong_plugins_istio_policy_load_failures_total', 'Policy loads refused (bad file or object); the last good set stays.', ['source'] as const);
const providerCalls = counter('kong_plugins_istio_ext_authz_calls_total', 'CUSTOM ext_authz provider calls, by provider and result (allow, deny, error).', ['provider', 'result'] as const);

const policyLabel = new BoundedLabel(2000);
const sourceLabel = new BoundedLabel(50);

export class SourceMetrics {
  private readonly source: string;
  constructor(label: string) {
    this.source = sourceLabel.value(label);
  }
  loaded(counts: { authorizationPolicies: number; requestAuthentications: number; peerAuthentications: number }): void {
    loadedObjects.set({ source: this.source, kind: 'AuthorizationPolicy' }, counts.authorizationPolicies);
    loadedObjects.set({ source: this.source, kind: 'RequestAuthentication' }, counts.requestAuthentications);
    loadedObjects.set({ source: this.source, kind: 'PeerAuthentication' }, counts.peerAuthentications);
  }
  failed(): void {
    loadFailures.inc({ source: this.source });
  }
}

export const decisionMetrics = {
  decided(policy: string | undefined, action: string, decision: string, mode: string): void {
    decisions.inc({ policy: policyLabel.value(policy ?? 'none'), action, decision, mode });
  },
  matched(policy: string, action: string, kind: 'audit' | 'dry_run'): void {
    matches.inc({ policy: policyLabel.value(policy), action, kind });
  },
  provider(name: string, result: 'allow' | 'deny' | 'error'): void {
    providerCalls.inc({ provider: policyLabel.value(name), result });
  },
};
