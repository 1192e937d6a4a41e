/** The manifest model lives in shared/istio (the istio-policy-sync plugin reads it at runtime; plugins never import devkit). */
export * from '../../shared/istio/model';
