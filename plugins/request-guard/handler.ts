import type { Logger } from '../../shared/observability/log';
import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import { mayBeTruncated, type Pdk } from '../../shared/pdk';
import { exitWithProblem } from '../../shared/problems';
import { Contract } from './contract';
import { readContract } from './document';
import { Guard, scannerFrom, settingsFrom, type Verdict } from './guard';
import type { Finding } from './injection';
import type { InjectionScanner } from './injection';
import { GuardMetrics } from './metrics';
import type { RequestGuardConfig } from './schema';

/**
 * Access phase, as a sentence: read the request line and headers (4 PDK calls), let the guard decide; read the body
 * only when the operation or the scanner needs it (+1, getRawBody with the size limit, so bodies over Kong's 8 KiB
 * buffer are read too); answer a problem with one exit, or pass. Log-only findings are logged and counted, never
 * sent. The contract is compiled once per config, asynchronously (bundling reads local files); requests wait for it.
 */
export class RequestGuardHandler implements PhaseHandler {
  private readonly ready: Promise<Guard>;
  private guard: Guard | undefined;
  private readonly scanner: InjectionScanner;
  private readonly metrics: GuardMetrics;
  private readonly logger: Logger;

  constructor(config: RequestGuardConfig, context: HandlerContext) {
    this.logger = context.log;
    this.metrics = new GuardMetrics(context.meta.routeId ?? context.meta.serviceId ?? 'global');
    this.scanner = scannerFrom(config);
    const settings = settingsFrom(config);
    this.ready = Contract.compile(readContract(config), config.base_path ?? undefined).then((contract) => (this.guard = new Guard(contract, this.scanner, settings)));
    this.ready.catch((err: unknown) => this.logger.error({ err }, 'request-guard: the API contract does not compile'));
  }

  async access(pdk: Pdk): Promise<void> {
    const guard = this.guard ?? (await this.ready);
    const request = pdk.request;
    const headers = await request.getHeaders();
    const head = { method: await request.getMethod(), path: await request.getPath(), rawQuery: await request.getRawQuery(), headers, headersTruncated: mayBeTruncated(headers) };
    let verdict: Verdict = guard.head(head);
    if (verdict.kind === 'body') verdict = guard.body(verdict.state, await request.getRawBody(verdict.maxBytes));
    if (verdict.kind === 'reject') {
      this.metrics.outcome(verdict.reason);
      this.report(verdict.findings ?? [], head.method, head.path);
      const headers = verdict.headers;
      return exitWithProblem(pdk, verdict.problem, headers);
    }
    if (verdict.kind === 'pass') {
      this.metrics.outcome('pass');
      this.report(verdict.logged, head.method, head.path);
    }
  }

  private report(findings: Finding[], method: string, path: string): void {
    for (const finding of findings) {
      const action = this.scanner.action(finding.category);
      this.metrics.detection(finding.category, action);
      if (action === 'log') this.logger.warn({ event: 'injection_detected', category: finding.category, location: finding.location, method, path }, 'request-guard: possible injection (log only)');
    }
  }
}
