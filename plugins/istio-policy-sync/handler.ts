import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import type { Pdk } from '../../shared/pdk';
import { exitWithProblem } from '../../shared/problems';
import { answerFor, recordDecision } from './answer';
import { Authorizer, type Need } from './authorizer';
import type { RequestFacts } from './attributes';
import { EdgeAuthorization } from './edge-authorization';
import type { IstioPolicySyncConfig } from './schema';

/**
 * Access phase, as a sentence: take the workload's authorizer for the current policy set, read only what its
 * policies need, decide as the sidecar would, record the decision, then answer the denial (enforce) or pass the
 * request on with its headers (one service-request write at most). PDK calls: 0 when nothing applies to the
 * workload, else one read per needed attribute (method, path, headers, query, forwarded ip) and at most one write.
 */
export class IstioPolicySyncHandler implements PhaseHandler {
  private readonly edge: EdgeAuthorization;

  constructor(
    private readonly config: IstioPolicySyncConfig,
    private readonly context: HandlerContext,
  ) {
    this.edge = new EdgeAuthorization(config, context.log);
  }

  async access(pdk: Pdk): Promise<void> {
    const authorizer = this.edge.current();
    const outcome = authorizer ? (authorizer.idle ? this.edge.idleOutcome : await authorizer.authorize(await read(pdk, authorizer))) : this.edge.noPolicySet;
    recordDecision(this.config, this.context.log, outcome);
    const answer = answerFor(this.config, outcome);
    if (answer.problem) return exitWithProblem(pdk, answer.problem, answer.downstreamHeaders);
    if (answer.upstreamHeaders) await pdk.serviceRequest.setHeaders(answer.upstreamHeaders);
    if (answer.downstreamHeaders) await pdk.response.setHeaders(answer.downstreamHeaders);
  }
}

async function read(pdk: Pdk, authorizer: Authorizer): Promise<RequestFacts> {
  const needs: ReadonlySet<Need> = authorizer.needs;
  const facts: RequestFacts = {};
  if (needs.has('method')) facts.method = await pdk.request.getMethod();
  if (needs.has('path')) facts.path = await pdk.request.getPath();
  if (needs.has('headers')) facts.headers = await pdk.request.getHeaders(1000);
  if (needs.has('query')) facts.rawQuery = await pdk.request.getRawQuery();
  if (needs.has('remoteIp')) facts.forwardedIp = await pdk.client.getForwardedIp();
  return facts;
}
