/** The AuthorizationPolicy evaluator lives in shared/istio (the istio-policy-sync plugin evaluates with it at the edge). */
export * from '../../shared/istio/authz';
