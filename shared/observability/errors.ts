import { errorFields, type Logger } from './log';
import { counter } from './metrics';

/**
 * The one way the suite logs and counts an error nobody planned for. definePlugin calls it for every phase, so a
 * plugin only catches what it has a policy for (Redis unavailable -> its failure mode) and lets the rest through:
 *
 * - an exception of the plugin's own code: `kong_plugins_phase_errors_total{plugin,phase,policy}`, logged at error;
 *   the instance's failure_policy then applies (fail_closed answers 500 where the request can still be answered);
 * - a PDK call that failed or came after the request had ended (Kong answered StepError, the event was abandoned,
 *   or the plugin called the PDK after exit): `kong_plugins_pdk_errors_total{plugin,phase}`, logged at warn; the
 *   request is over, so nothing more is sent.
 */
const phaseErrors = counter('kong_plugins_phase_errors_total', 'Unexpected exceptions in plugin phases', ['plugin', 'phase', 'policy']);
const pdkErrors = counter('kong_plugins_pdk_errors_total', 'PDK calls that failed or came after the request had ended, by plugin and phase', ['plugin', 'phase']);

export type UnexpectedKind = 'exception' | 'pdk';

/** The plugin server rejects a PDK call with this error name (shared/server PDKError, kong-pdk's own). */
export function isPdkError(err: unknown): boolean {
  return err instanceof Error && err.name === 'PDKError';
}

export interface ErrorScope {
  plugin: string;
  phase: string;
  policy: string;
}

/** Logs and counts `err`; returns which kind it was, so the caller knows whether the request can still be answered. */
export function reportUnexpected(log: Logger, scope: ErrorScope, err: unknown): UnexpectedKind {
  if (isPdkError(err)) {
    pdkErrors.inc({ plugin: scope.plugin, phase: scope.phase });
    log.warn({ phase: scope.phase, ...errorFields(err) }, 'plugin phase: PDK call failed, the request was already over');
    return 'pdk';
  }
  phaseErrors.inc({ plugin: scope.plugin, phase: scope.phase, policy: scope.policy });
  log.error({ phase: scope.phase, policy: scope.policy, ...errorFields(err) }, 'plugin phase failed');
  return 'exception';
}
