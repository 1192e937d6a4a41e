import type { Logger } from '../../shared/observability/log';
import type { HeaderInput } from '../../shared/pdk';
import { PROBLEMS, type Problem } from '../../shared/problems';
import type { Outcome } from './authorizer';
import { decisionMetrics } from './metrics';
import type { IstioPolicySyncConfig } from './schema';

/** What the handler writes for an outcome: a problem (enforce, deny), or headers for upstream and client. */
export interface Answer {
  problem?: Problem;
  upstreamHeaders?: HeaderInput;
  downstreamHeaders?: HeaderInput;
}

/** `deny; reason=deny-policy; policy="apis/no-delete"; status=403` (dry_run's upstream header). */
export function decisionHeader(outcome: Outcome): string {
  const parts = [outcome.decision, `reason=${outcome.reason}`];
  if (outcome.policy) parts.push(`policy="${outcome.policy}"`);
  if (outcome.decision === 'deny') parts.push(`status=${outcome.status}`);
  if (outcome.shadow && outcome.shadow.decision !== outcome.decision) parts.push(`dry-run=${outcome.shadow.decision}`);
  return parts.join('; ');
}

const nonEmpty = (h: HeaderInput) => (Object.keys(h).length > 0 ? h : undefined);

export function answerFor(config: IstioPolicySyncConfig, outcome: Outcome): Answer {
  const workload = config.workload.namespace + (Object.keys(config.workload.labels ?? {}).length ? `/${Object.entries(config.workload.labels).map(([k, v]) => `${k}=${v}`).join(',')}` : '');
  if (config.mode === 'enforce' && outcome.decision === 'deny') {
    const detail = outcome.detail ?? describe(outcome);
    const problem =
      outcome.status === 401
        ? PROBLEMS.meshAuthenticationFailed.create(detail, { reason: outcome.reason, policy: outcome.policy, workload })
        : PROBLEMS.meshAuthorizationDenied.create(detail, { reason: outcome.reason, policy: outcome.policy, action: outcome.action ?? 'ALLOW', workload }, { status: outcome.status });
    return { problem, downstreamHeaders: nonEmpty(outcome.downstreamHeaders) };
  }
  const upstream = { ...outcome.upstreamHeaders };
  if (config.mode === 'dry_run') upstream[config.decision_header] = decisionHeader(outcome);
  return { upstreamHeaders: nonEmpty(upstream), downstreamHeaders: outcome.decision === 'deny' ? undefined : nonEmpty(outcome.downstreamHeaders) };
}

function describe(o: Outcome): string {
  if (o.reason === 'deny-policy') return `the DENY policy ${o.policy} matches this request`;
  if (o.reason === 'no-allow-match') return `no ALLOW policy for the workload matches this request (e.g. ${o.policy})`;
  if (o.reason === 'custom-deny') return `the CUSTOM policy ${o.policy}'s provider denied this request`;
  return `denied (${o.reason})`;
}

/** One audit line and the metrics per decision. */
export function recordDecision(config: IstioPolicySyncConfig, log: Logger, o: Outcome): void {
  decisionMetrics.decided(o.policy, o.action ?? 'none', o.decision, config.mode);
  for (const name of o.audit) decisionMetrics.matched(name, 'AUDIT', 'audit');
  for (const name of o.dryRunMatches) decisionMetrics.matched(name, 'dry-run', 'dry_run');
  if (!config.audit_log) return;
  log.info(
    {
      event: 'istio_authz_decision',
      mode: config.mode,
      decision: o.decision,
      enforced: config.mode === 'enforce' && o.decision === 'deny',
      reason: o.reason,
      policy: o.policy ?? null,
      action: o.action ?? null,
      status: o.decision === 'deny' ? o.status : null,
      request_principal: o.requestPrincipal ?? null,
      audit: o.audit,
      dry_run: o.shadow ? { decision: o.shadow.decision, policy: o.shadow.policy ?? null, matches: o.dryRunMatches } : null,
      detail: o.detail ?? null,
    },
    'mesh authorization decision',
  );
}
