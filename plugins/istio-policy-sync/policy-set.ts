import { compilePolicy, selects, WorkloadPolicies, type CompiledPolicy, type Workload } from '../../shared/istio/engine';
import type { JwtRule, MtlsMode } from '../../shared/istio/model';
import type { ManifestSet, PeerAuthentication, RequestAuthentication } from './manifests';

/**
 * One loaded set of manifests, compiled once: every AuthorizationPolicy into a matcher, and per workload (the few a
 * config maps to) the applicable policies grouped by action, the merged jwtRules and the PeerAuthentication mode.
 * Requests only look these up; nothing is parsed per request.
 */

export interface MtlsResolution {
  mode: Exclude<MtlsMode, 'UNSET'>;
  /** The PeerAuthentication that set it (`namespace/name`), absent for the mesh default PERMISSIVE. */
  policy?: string;
}

export interface WorkloadView {
  policies: WorkloadPolicies;
  jwtRules: { rule: JwtRule; policy: string }[];
  mtls(port: number | undefined): MtlsResolution;
  /** CUSTOM providers named by the workload's policies. */
  providers: Set<string>;
}

export class PolicySnapshot {
  readonly compiled: CompiledPolicy[];
  private readonly views = new Map<string, WorkloadView>();

  constructor(
    readonly manifests: ManifestSet,
    readonly rootNamespace: string,
    readonly generation: number,
  ) {
    this.compiled = manifests.authorizationPolicies.map(compilePolicy);
  }

  get counts(): { authorizationPolicies: number; requestAuthentications: number; peerAuthentications: number } {
    return {
      authorizationPolicies: this.manifests.authorizationPolicies.length,
      requestAuthentications: this.manifests.requestAuthentications.length,
      peerAuthentications: this.manifests.peerAuthentications.length,
    };
  }

  forWorkload(workload: Workload): WorkloadView {
    const key = `${workload.namespace}\u0000${Object.entries(workload.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`;
    let view = this.views.get(key);
    if (!view) {
      view = this.buildView(workload);
      this.views.set(key, view);
    }
    return view;
  }

  private buildView(workload: Workload): WorkloadView {
    const root = this.rootNamespace;
    const policies = new WorkloadPolicies(this.compiled.filter((p) => selects(p, workload, root)));
    const jwtRules: WorkloadView['jwtRules'] = [];
    for (const ra of this.manifests.requestAuthentications) {
      if (!selects(scopeOf(ra), workload, root)) continue;
      for (const rule of ra.spec?.jwtRules ?? []) jwtRules.push({ rule, policy: nameOf(ra) });
    }
    const providers = new Set(policies.custom.map((p) => p.provider as string));
    const pas = this.manifests.peerAuthentications;
    return { policies, jwtRules, providers, mtls: mtlsResolver(pas, workload, root) };
  }
}

function nameOf(o: { metadata: { name: string; namespace?: string } }): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

function scopeOf(o: RequestAuthentication | PeerAuthentication): { namespace: string; selector?: Record<string, string>; targetRefs?: boolean } {
  const spec = o.spec as { selector?: { matchLabels?: Record<string, string> }; targetRefs?: unknown[] } | undefined;
  return { namespace: o.metadata.namespace ?? 'default', selector: spec?.selector?.matchLabels, targetRefs: (spec?.targetRefs?.length ?? 0) > 0 };
}

/**
 * PeerAuthentication precedence (https://istio.io/latest/docs/concepts/security/#peer-authentication): the
 * workload-specific policy, else the namespace-wide one, else the mesh-wide one in the root namespace, else
 * PERMISSIVE; UNSET inherits from the level above; portLevelMtls (with a selector) overrides per port. Of several at
 * one level the oldest wins; without creation times here, the first by name.
 */
function mtlsResolver(pas: PeerAuthentication[], workload: Workload, root: string): (port: number | undefined) => MtlsResolution {
  const byName = [...pas].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  const pick = (filter: (pa: PeerAuthentication) => boolean) => byName.find(filter);
  const hasSelector = (pa: PeerAuthentication) => Object.keys(pa.spec?.selector?.matchLabels ?? {}).length > 0;
  const specific = pick((pa) => (pa.metadata.namespace ?? 'default') === workload.namespace && hasSelector(pa) && selects(scopeOf(pa), workload, '\u0000'));
  const namespaceWide = pick((pa) => (pa.metadata.namespace ?? 'default') === workload.namespace && !hasSelector(pa));
  const meshWide = pick((pa) => (pa.metadata.namespace ?? 'default') === root && !hasSelector(pa));
  const levels = [specific, namespaceWide, meshWide].filter((pa): pa is PeerAuthentication => pa !== undefined);
  return (port) => {
    if (specific && port !== undefined) {
      const portMode = specific.spec?.portLevelMtls?.[String(port)]?.mode;
      if (portMode && portMode !== 'UNSET') return { mode: portMode, policy: nameOf(specific) };
    }
    for (const pa of levels) {
      const mode = pa.spec?.mtls?.mode;
      if (mode && mode !== 'UNSET') return { mode, policy: nameOf(pa) };
    }
    return { mode: 'PERMISSIVE' };
  };
}
