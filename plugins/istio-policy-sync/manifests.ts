import YAML from 'yaml';
import { policyProblem, type Policy } from '../../shared/istio/engine';
import type { JwtRule, K8sObject, PeerAuthenticationSpec, RequestAuthenticationSpec } from '../../shared/istio/model';

/**
 * The three security.istio.io kinds the plugin reads, parsed and validated as Istio's admission webhook would
 * (an object the API server refuses never takes effect in the mesh, so a file holding one is a bad file).
 * Other kinds are ignored, so a whole istio/ folder can be pointed at.
 */

export type RequestAuthentication = K8sObject<RequestAuthenticationSpec>;
export type PeerAuthentication = K8sObject<PeerAuthenticationSpec>;

export interface ManifestSet {
  authorizationPolicies: Policy[];
  requestAuthentications: RequestAuthentication[];
  peerAuthentications: PeerAuthentication[];
}

export class ManifestError extends Error {}

const SECURITY_API = /^security\.istio\.io\/v1(beta1)?$/;
const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

export function emptySet(): ManifestSet {
  return { authorizationPolicies: [], requestAuthentications: [], peerAuthentications: [] };
}

/** Parses one YAML text (several documents); throws ManifestError naming `origin`, the document and the field. */
export function parseManifests(text: string, origin: string, into: ManifestSet = emptySet()): ManifestSet {
  const docs = YAML.parseAllDocuments(text);
  for (const [index, doc] of docs.entries()) {
    const where = `${origin}: document ${index + 1}`;
    if (doc.errors.length > 0) throw new ManifestError(`${where}: ${doc.errors[0].message.split('\n')[0]}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new ManifestError(`${where}: not a Kubernetes object`);
    if (value.kind === 'List' && Array.isArray(value.items)) {
      for (const item of value.items as K8sObject[]) addObject(item, where, into);
      continue;
    }
    addObject(value, where, into);
  }
  return into;
}

export function addObject(value: K8sObject, where: string, into: ManifestSet): void {
  if (typeof value.apiVersion !== 'string' || !SECURITY_API.test(value.apiVersion)) return;
  if (typeof value.metadata?.name !== 'string') throw new ManifestError(`${where}: metadata.name is required`);
  const label = `${where} (${value.kind} ${value.metadata.namespace ?? 'default'}/${value.metadata.name})`;
  const problem = objectProblem(value);
  if (problem) throw new ManifestError(`${label}: ${problem}`);
  if (value.kind === 'AuthorizationPolicy') into.authorizationPolicies.push(value as Policy);
  else if (value.kind === 'RequestAuthentication') into.requestAuthentications.push(value as RequestAuthentication);
  else if (value.kind === 'PeerAuthentication') into.peerAuthentications.push(value as PeerAuthentication);
}

function objectProblem(value: K8sObject): string | undefined {
  if (value.spec !== undefined && (value.spec === null || typeof value.spec !== 'object')) return 'spec must be an object';
  if (value.kind === 'AuthorizationPolicy') return policyProblem(value as Policy);
  if (value.kind === 'RequestAuthentication') return requestAuthenticationProblem((value.spec ?? {}) as RequestAuthenticationSpec);
  if (value.kind === 'PeerAuthentication') return peerAuthenticationProblem((value.spec ?? {}) as PeerAuthenticationSpec);
  return undefined;
}

function requestAuthenticationProblem(spec: RequestAuthenticationSpec): string | undefined {
  for (const [i, rule] of (spec.jwtRules ?? []).entries()) {
    const r: JwtRule = rule ?? ({} as JwtRule);
    if (typeof r.issuer !== 'string' || r.issuer === '') return `jwtRules[${i}].issuer is required`;
    if (r.jwks !== undefined && r.jwksUri !== undefined) return `jwtRules[${i}]: jwks and jwksUri are exclusive`;
    if (r.jwks !== undefined) {
      try {
        const parsed = JSON.parse(r.jwks) as { keys?: unknown };
        if (!Array.isArray(parsed.keys)) return `jwtRules[${i}].jwks has no keys`;
      } catch {
        return `jwtRules[${i}].jwks is not JSON`;
      }
    }
    if (r.jwksUri !== undefined && !/^https?:\/\//.test(r.jwksUri)) return `jwtRules[${i}].jwksUri must be an http(s) URL`;
    for (const [j, h] of (r.fromHeaders ?? []).entries()) if (!h?.name) return `jwtRules[${i}].fromHeaders[${j}].name is required`;
    for (const [j, o] of (r.outputClaimToHeaders ?? []).entries()) if (!o?.header || !o?.claim) return `jwtRules[${i}].outputClaimToHeaders[${j}] needs header and claim`;
  }
  return undefined;
}

function peerAuthenticationProblem(spec: PeerAuthenticationSpec): string | undefined {
  if (spec.mtls?.mode !== undefined && !MTLS_MODES.includes(spec.mtls.mode)) return `mtls.mode "${spec.mtls.mode}" is not one of ${MTLS_MODES.join(', ')}`;
  if (spec.portLevelMtls && !spec.selector) return 'portLevelMtls needs a selector';
  for (const [port, m] of Object.entries(spec.portLevelMtls ?? {})) {
    if (!/^\d+$/.test(port)) return `portLevelMtls key "${port}" is not a port`;
    if (!MTLS_MODES.includes(m?.mode)) return `portLevelMtls.${port}.mode is not one of ${MTLS_MODES.join(', ')}`;
  }
  return undefined;
}
