import { isProxyHeader } from '../../shared/istio/engine';
import type { Logger } from '../../shared/observability/log';
import { Authorizer, type Outcome } from './authorizer';
import { ExtAuthzProvider } from './ext-authz';
import type { PolicySnapshot } from './policy-set';
import type { IstioPolicySyncConfig } from './schema';
import { policySource, type PolicySource } from './sources';

/**
 * One plugin config's view of the mesh: its policy source (shared per process), its providers, and the workload's
 * Authorizer for the current snapshot, rebuilt (and its warnings logged) only when the source loads a new set.
 */
export class EdgeAuthorization {
  private readonly source: PolicySource;
  private readonly providers = new Map<string, ExtAuthzProvider>();
  private authorizer: Authorizer | undefined;
  private readonly workloadName: string;

  readonly idleOutcome: Outcome = { decision: 'allow', status: 200, reason: 'no-policies', upstreamHeaders: {}, downstreamHeaders: {}, audit: [], dryRunMatches: [] };
  readonly noPolicySet: Outcome = {
    decision: 'unknown',
    status: 200,
    reason: 'no-policy-set',
    detail: 'no policy set loaded yet: the mesh decides',
    upstreamHeaders: {},
    downstreamHeaders: {},
    audit: [],
    dryRunMatches: [],
  };

  constructor(
    private readonly config: IstioPolicySyncConfig,
    private readonly log: Logger,
  ) {
    const s = config.source;
    this.source = policySource(
      {
        kind: s.kind,
        manifests: s.manifests,
        directory: s.directory,
        reloadIntervalMs: s.reload_interval_ms,
        rootNamespace: config.root_namespace,
        // token "": a vault reference Kong could not resolve; the token file then
        kubernetes:
          s.kind === 'kubernetes'
            ? { apiServer: s.api_server as string, token: s.token || undefined, tokenFile: s.token_file, caFile: s.ca_file ?? undefined, namespaces: s.namespaces ?? undefined }
            : undefined,
      },
      log,
    );
    for (const p of config.extension_providers) this.providers.set(p.name, new ExtAuthzProvider(p.name, p.envoy_ext_authz_http));
    this.workloadName = `${config.workload.namespace}/${Object.entries(config.workload.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`;
  }

  get workload(): string {
    return this.workloadName;
  }

  current(): Authorizer | undefined {
    const snapshot = this.source.snapshot;
    if (!snapshot) return undefined;
    if (this.authorizer?.snapshot !== snapshot) this.authorizer = this.build(snapshot);
    return this.authorizer;
  }

  private build(snapshot: PolicySnapshot): Authorizer {
    const c = this.config;
    const authorizer = new Authorizer(snapshot, {
      workload: { namespace: c.workload.namespace, labels: c.workload.labels ?? {} },
      target: { port: c.workload.port, host: c.workload.host, ip: c.workload.ip, stripPrefix: c.workload.strip_prefix, servicePath: c.workload.service_path },
      identity: { principal: c.kong_identity.principal, podIp: c.kong_identity.pod_ip, sni: c.kong_identity.sni },
      providers: this.providers,
      jwks: { cacheSeconds: c.jwks_cache_seconds, timeoutMs: c.jwks_timeout_ms },
      claimHeadersUpstream: true,
    });
    this.warn(authorizer);
    return authorizer;
  }

  /** Keys the edge cannot evaluate for this workload: their requests are left to the mesh (logged once per set). */
  private warn(authorizer: Authorizer): void {
    const c = this.config;
    const p = authorizer.view.policies;
    const all = [...p.custom, ...p.deny, ...p.allow, ...p.audit, ...p.dryDeny, ...p.dryAllow];
    const unknowable = new Map<string, string[]>();
    const note = (policy: string, what: string) => (unknowable.get(policy) ?? unknowable.set(policy, []).get(policy))?.push(what);
    for (const policy of all) {
      for (const key of policy.unknowable) note(policy.name, key);
      for (const key of policy.keys) {
        if (key === 'connection.sni' && c.kong_identity.principal && !c.kong_identity.sni) note(policy.name, `${key} (set kong_identity.sni)`);
        if (key === 'destination.ip' && !c.workload.ip) note(policy.name, `${key} (set workload.ip)`);
        if (key === 'destination.port' && !c.workload.port) note(policy.name, `${key} (set workload.port)`);
        if ((key === 'source.ip' || key === 'remote.ip') && !c.kong_identity.pod_ip) note(policy.name, `${key} (set kong_identity.pod_ip)`);
        const header = /^request\.headers\[([^\]]+)\]$/.exec(key)?.[1].toLowerCase();
        if (header && isProxyHeader(header)) note(policy.name, `${key} (set by Kong or a proxy after the edge)`);
      }
    }
    for (const [policy, keys] of unknowable) {
      this.log.warn({ event: 'istio_policy_unknowable', workload: this.workloadName, policy, keys }, 'policy reads attributes the edge cannot know: requests they decide are left to the mesh');
    }
    for (const provider of authorizer.missingProviders) {
      this.log.warn({ event: 'istio_provider_missing', workload: this.workloadName, provider }, 'CUSTOM policy names a provider not in extension_providers: its requests are left to the mesh');
    }
  }
}
