import { definePlugin } from '../../shared/plugin';
import { IstioPolicySyncHandler } from './handler';
import { checks, fields } from './schema';

/**
 * istio-policy-sync: the mesh's authorization decided at the edge exactly as the workload's Istio sidecar decides
 * it (PeerAuthentication, RequestAuthentication, then CUSTOM, DENY and ALLOW AuthorizationPolicies), from manifests
 * inline, in a hot-reloaded directory or watched on the Kubernetes API. What the mesh would deny is answered early
 * with problem+json (or, in dry_run, only logged and sent upstream); what it allows is never denied. Priority 990:
 * after Kong's authentication plugins, before rate limiting (denied requests spend no quota).
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'istio-policy-sync',
  version: '1.0.0',
  priority: 990,
  fields,
  checks,
  // an unexpected error lets the request on: the mesh still decides it
  failurePolicy: 'fail_open',
  Handler: IstioPolicySyncHandler,
});
