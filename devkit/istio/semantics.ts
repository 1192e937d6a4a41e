import { appliesTo } from './authz';
import { describe, ofKind, type AuthorizationPolicySpec, type DestinationRuleSpec, type Manifest, type ServiceSpec, type VirtualServiceSpec } from './model';
import { ROOT_NAMESPACE, TRUST_DOMAIN } from './topology';

/**
 * Checks the CRD schemas cannot make: references between shipped objects resolve (hosts, subsets, selectors,
 * service accounts, config maps, namespaces), weights add up, and no ALLOW policy is empty by accident.
 */

export interface Finding {
  level: 'error' | 'warning';
  message: string;
}

/** Namespaces a cluster has before anything of ours is applied. */
const SYSTEM_NAMESPACES = new Set([ROOT_NAMESPACE, 'kube-system', 'default', 'cert-manager']);
/** Names under which an ALLOW policy without rules is the deny-by-default idiom, not an accident. */
export const DENY_ALL_NAMES = new Set(['deny-by-default', 'allow-nothing']);

export function fqdn(host: string, namespace: string | undefined): string {
  if (host.includes('*')) return host;
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace ?? 'default'}.svc.${TRUST_DOMAIN}`;
  if (parts.length === 2) return `${host}.svc.${TRUST_DOMAIN}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.${TRUST_DOMAIN}`;
  return host;
}

export interface Workload {
  namespace: string;
  labels: Record<string, string>;
  source: Manifest;
}

export function workloads(manifests: Manifest[]): Workload[] {
  return ofKind<any>(manifests, 'Deployment').map((m) => ({ namespace: m.object.metadata.namespace ?? 'default', labels: m.object.spec?.template?.metadata?.labels ?? {}, source: m }));
}

const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every Kubernetes Service's cluster DNS name, with its manifest. */
export function serviceHosts(manifests: Manifest[]): Map<string, Manifest & { object: { spec?: ServiceSpec } }> {
  const hosts = new Map<string, Manifest & { object: { spec?: ServiceSpec } }>();
  for (const m of ofKind<ServiceSpec>(manifests, 'Service')) hosts.set(`${m.object.metadata.name}.${m.object.metadata.namespace ?? 'default'}.svc.${TRUST_DOMAIN}`, m);
  for (const m of ofKind<any>(manifests, 'ServiceEntry')) for (const h of (m.object.spec?.hosts ?? []) as string[]) hosts.set(h, m);
  return hosts;
}

export function semanticFindings(manifests: Manifest[]): Finding[] {
  const findings: Finding[] = [];
  const error = (m: Manifest, message: string) => findings.push({ level: 'error', message: `${describe(m)}: ${message}` });
  const shipped = workloads(manifests);
  const hosts = serviceHosts(manifests);
  const namespaces = new Set([...SYSTEM_NAMESPACES, ...ofKind(manifests, 'Namespace').map((m) => m.object.metadata.name)]);
  const destinationRules = ofKind<DestinationRuleSpec>(manifests, 'DestinationRule');
  const ruleFor = (host: string) => destinationRules.filter((d) => fqdn(d.object.spec?.host ?? '', d.object.metadata.namespace) === host);

  const seen = new Map<string, Manifest>();
  for (const m of manifests) {
    const key = `${m.object.apiVersion}/${m.object.kind}/${m.object.metadata.namespace ?? ''}/${m.object.metadata.name}`;
    if (seen.has(key)) error(m, `same object as ${describe(seen.get(key)!)}`);
    seen.set(key, m);
    const ns = m.object.metadata.namespace;
    if (ns && !namespaces.has(ns)) error(m, `namespace ${ns} is not shipped`);
  }

  const selects = (m: Manifest, labels: Record<string, string> | undefined, what: string) => {
    if (!labels) return;
    const ns = m.object.metadata.namespace ?? 'default';
    if (!shipped.some((w) => (ns === ROOT_NAMESPACE || w.namespace === ns) && labelsMatch(labels, w.labels))) error(m, `${what} ${JSON.stringify(labels)} matches no shipped workload`);
  };

  for (const m of ofKind<ServiceSpec>(manifests, 'Service')) selects(m, m.object.spec?.selector, 'selector');
  for (const m of ofKind<any>(manifests, 'Sidecar')) selects(m, m.object.spec?.workloadSelector?.labels, 'workloadSelector');
  for (const kind of ['PeerAuthentication', 'RequestAuthentication', 'AuthorizationPolicy', 'Telemetry']) {
    for (const m of ofKind<any>(manifests, kind)) selects(m, m.object.spec?.selector?.matchLabels, 'selector');
  }

  for (const m of ofKind<AuthorizationPolicySpec>(manifests, 'AuthorizationPolicy')) {
    const spec = (m.object.spec ?? {}) as AuthorizationPolicySpec & Record<string, unknown>;
    const action = spec.action ?? 'ALLOW';
    if (action !== 'ALLOW') continue;
    if (!spec.rules || spec.rules.length === 0) {
      const idiom = Object.keys(spec).length === 0 && DENY_ALL_NAMES.has(m.object.metadata.name);
      if (!idiom) error(m, `ALLOW with no rules matches nothing (it denies every request to its workloads); write the deny-all idiom as spec: {} named ${[...DENY_ALL_NAMES].join(' or ')}`);
    } else {
      spec.rules.forEach((rule, i) => {
        if (!rule || Object.keys(rule).length === 0) error(m, `rule ${i} is empty: it allows every request`);
      });
    }
  }

  for (const m of ofKind<VirtualServiceSpec>(manifests, 'VirtualService')) {
    const ns = m.object.metadata.namespace;
    for (const h of m.object.spec?.hosts ?? []) if (!hosts.has(fqdn(h, ns))) error(m, `host ${h} resolves to no shipped Service or ServiceEntry`);
    (m.object.spec?.http ?? []).forEach((route, i) => {
      const name = route.name ?? `http[${i}]`;
      const destinations = route.route ?? [];
      for (const d of destinations) {
        const host = fqdn(d.destination.host, ns);
        const service = hosts.get(host);
        if (!service) {
          error(m, `${name}: destination ${d.destination.host} resolves to no shipped Service`);
          continue;
        }
        if (d.destination.port && service.object.kind === 'Service' && !(service.object.spec?.ports ?? []).some((p) => p.port === d.destination.port!.number)) {
          error(m, `${name}: destination ${d.destination.host} has no port ${d.destination.port.number}`);
        }
        if (d.destination.subset && !ruleFor(host).some((r) => (r.object.spec?.subsets ?? []).some((s) => s.name === d.destination.subset))) {
          error(m, `${name}: subset ${d.destination.subset} of ${d.destination.host} is defined by no DestinationRule`);
        }
      }
      if (destinations.length > 1 || destinations.some((d) => d.weight !== undefined)) {
        const total = destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0);
        if (total !== 100) error(m, `${name}: weights add up to ${total}, not 100`);
      }
    });
  }

  const byHost = new Map<string, Manifest>();
  for (const m of destinationRules) {
    const host = fqdn(m.object.spec?.host ?? '', m.object.metadata.namespace);
    if (!hosts.has(host)) error(m, `host ${m.object.spec?.host} resolves to no shipped Service or ServiceEntry`);
    if (!(m.object.spec as any)?.workloadSelector) {
      if (byHost.has(host)) error(m, `second DestinationRule for ${host} (also ${describe(byHost.get(host)!)}): Istio would merge or pick one`);
      byHost.set(host, m);
    }
    const service = hosts.get(host);
    const selector = service?.object.kind === 'Service' ? service.object.spec?.selector : undefined;
    for (const subset of m.object.spec?.subsets ?? []) {
      const labels = { ...(selector ?? {}), ...(subset.labels ?? {}) };
      const ns = service?.object.metadata.namespace;
      if (service && !shipped.some((w) => w.namespace === ns && labelsMatch(labels, w.labels))) error(m, `subset ${subset.name} ${JSON.stringify(subset.labels ?? {})} matches no shipped workload behind ${host}`);
    }
  }

  const defaultSidecars = new Map<string, Manifest>();
  for (const m of ofKind<any>(manifests, 'Sidecar')) {
    if (m.object.spec?.workloadSelector) continue;
    const ns = m.object.metadata.namespace ?? 'default';
    if (defaultSidecars.has(ns)) error(m, `second namespace-wide Sidecar in ${ns} (also ${describe(defaultSidecars.get(ns)!)})`);
    defaultSidecars.set(ns, m);
  }

  const serviceAccounts = new Set(ofKind(manifests, 'ServiceAccount').map((m) => `${m.object.metadata.namespace}/${m.object.metadata.name}`));
  const configMaps = new Set(ofKind(manifests, 'ConfigMap').map((m) => `${m.object.metadata.namespace}/${m.object.metadata.name}`));
  for (const w of shipped) {
    const pod = w.source.object.spec as any;
    const sa = pod?.template?.spec?.serviceAccountName;
    if (sa && !serviceAccounts.has(`${w.namespace}/${sa}`)) error(w.source, `serviceAccountName ${sa} is not shipped`);
    for (const v of pod?.template?.spec?.volumes ?? []) {
      if (v.configMap && !configMaps.has(`${w.namespace}/${v.configMap.name}`)) error(w.source, `volume ${v.name}: ConfigMap ${v.configMap.name} is not shipped`);
    }
    if (!labelsMatch(pod?.selector?.matchLabels ?? {}, w.labels)) error(w.source, 'spec.selector does not match the pod template labels');
  }

  // Telemetry names providers that MeshConfig (a shipped IstioOperator's meshConfig.extensionProviders) declares
  const operators = ofKind<any>(manifests, 'IstioOperator');
  if (operators.length > 0) {
    const declared = new Set<string>(operators.flatMap((m) => ((m.object.spec?.meshConfig?.extensionProviders ?? []) as { name: string }[]).map((p) => p.name)));
    for (const m of ofKind<any>(manifests, 'Telemetry')) {
      for (const section of ['tracing', 'metrics', 'accessLogging']) {
        for (const entry of (m.object.spec?.[section] ?? []) as { providers?: { name: string }[] }[]) {
          for (const provider of entry.providers ?? []) if (!declared.has(provider.name)) error(m, `${section} provider ${provider.name} is declared by no shipped MeshConfig (IstioOperator meshConfig.extensionProviders)`);
        }
      }
    }
  }

  // a policy object that applies to no workload of its own namespace is probably misplaced (root namespace excepted)
  for (const m of ofKind<any>(manifests, 'RequestAuthentication')) {
    const ns = m.object.metadata.namespace ?? 'default';
    if (ns !== ROOT_NAMESPACE && !shipped.some((w) => appliesTo(m.object, { namespace: w.namespace, labels: w.labels }))) {
      findings.push({ level: 'warning', message: `${describe(m)}: applies to no shipped workload` });
    }
  }
  return findings;
}
