import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/**
 * A typed model of the Kubernetes/Istio objects this suite ships and reads: the fields the generator writes and the
 * drift check and the policy evaluator read (Istio 1.2x `v1` APIs). Not a full schema: the specs validate the
 * shipped files against the CRD schemas; this is what code reasons about.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  [field: string]: unknown;
}

export interface WorkloadSelector {
  matchLabels?: Record<string, string>;
}

export interface PolicyTargetRef {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface Source {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

export interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface Condition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface Rule {
  from?: { source?: Source }[];
  to?: { operation?: Operation }[];
  when?: Condition[];
}

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRefs?: PolicyTargetRef[];
  action?: AuthorizationAction;
  provider?: { name: string };
  rules?: Rule[];
}

export interface JwtRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: { name: string; prefix?: string }[];
  fromParams?: string[];
  fromCookies?: string[];
  forwardOriginalToken?: boolean;
  outputPayloadToHeader?: string;
  outputClaimToHeaders?: { header: string; claim: string }[];
}

export interface RequestAuthenticationSpec {
  selector?: WorkloadSelector;
  targetRefs?: PolicyTargetRef[];
  jwtRules?: JwtRule[];
}

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: { mode: 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT' };
  portLevelMtls?: Record<string, { mode: 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT' }>;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: { number: number };
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HTTPRoute {
  name?: string;
  match?: { uri?: StringMatch; headers?: Record<string, StringMatch>; withoutHeaders?: Record<string, StringMatch>; port?: number }[];
  route?: { destination: Destination; weight?: number }[];
  timeout?: string;
  retries?: HTTPRetry;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  exportTo?: string[];
  http?: HTTPRoute[];
}

export interface TrafficPolicy {
  loadBalancer?: Record<string, unknown>;
  connectionPool?: Record<string, unknown>;
  outlierDetection?: Record<string, unknown>;
  tls?: { mode: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL' };
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: { name: string; labels?: Record<string, string>; trafficPolicy?: TrafficPolicy }[];
  exportTo?: string[];
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: string;
  selector?: Record<string, string>;
  ports?: ServicePort[];
}

/** A manifest as read from a file: the object, the file (relative to the folder read) and its document index. */
export interface Manifest {
  object: K8sObject;
  file: string;
  index: number;
}

export class ManifestError extends Error {}

/** Every `.yaml`/`.yml` file under `dir`, each document one manifest (empty documents skipped), in path order. */
export function loadManifests(dir: string): Manifest[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ManifestError(`${dir}: not a directory`);
  const manifests: Manifest[] = [];
  for (const file of yamlFiles(dir)) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const docs = YAML.parseAllDocuments(text);
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) throw new ManifestError(`${file}: document ${index + 1}: ${doc.errors[0].message.split('\n')[0]}`);
      const value = doc.toJS() as K8sObject | null;
      if (value === null || value === undefined) return;
      if (typeof value !== 'object' || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string' || typeof value.metadata?.name !== 'string') {
        throw new ManifestError(`${file}: document ${index + 1}: not a Kubernetes object (apiVersion, kind, metadata.name)`);
      }
      manifests.push({ object: value, file, index });
    });
  }
  return manifests;
}

export function yamlFiles(dir: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...yamlFiles(dir, rel));
    else if (/\.ya?ml$/.test(entry.name)) files.push(rel);
  }
  return files;
}

/** `Kind namespace/name (file)`, how reports name an object. */
export function describe(m: Manifest): string {
  const ns = m.object.metadata.namespace ? `${m.object.metadata.namespace}/` : '';
  return `${m.object.kind} ${ns}${m.object.metadata.name} (${m.file})`;
}

export function ofKind<Spec>(manifests: Manifest[], kind: string): (Manifest & { object: K8sObject<Spec> })[] {
  return manifests.filter((m) => m.object.kind === kind) as (Manifest & { object: K8sObject<Spec> })[];
}

/** Multi-document YAML with a header comment, as the generator writes it. */
export function toYaml(objects: K8sObject[], header: string): string {
  const body = objects.map((o) => YAML.stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }).trimEnd()).join('\n---\n');
  return `${header
    .split('\n')
    .map((l) => `# ${l}`.trimEnd())
    .join('\n')}\n${body}\n`;
}
