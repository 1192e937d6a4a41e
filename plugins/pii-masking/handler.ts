import crypto from 'node:crypto';
import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import type { Logger } from '../../shared/observability/log';
import type { HeaderMultimap, Pdk } from '../../shared/pdk';
import { exitWithProblem, PROBLEM_CONTENT_TYPE } from '../../shared/problems';
import { parseContentEncoding } from './body-codec';
import { maskBody, staleValidators, unreadable, type BodyDecision, type BodyJob } from './body-masking';
import { compileMasking, type CompiledMasking } from './compile';
import type { PiiMaskingConfig } from './config';
import { narrowAcceptEncoding, parseSnapshot, REQUEST_KEY, RESULT_KEY, toGuardLogs, type GuardHeader, type GuardResult, type RequestSnapshot } from './guard';
import type { SerializeOverride } from './log-masking';
import { sharedPool } from './mask-pool';
import { countBodyDecision, countDetections, skippedBodies } from './metrics';
import { blockedProblem } from './problem';
import { maskResponseHeaders } from './response-headers';
import { MaskReport } from './value-masker';

function first(values: string[] | undefined): string | undefined {
  return values && values.length ? values[0] : undefined;
}

/** Bodies at least this large (or compressed ones at least OFFLOAD_COMPRESSED) are masked in a worker thread. */
export const OFFLOAD_BYTES = 64 * 1024;
const OFFLOAD_COMPRESSED = 4 * 1024;
/**
 * With custom detectors, every body from this size: an operator's pattern has no per-byte cost the plugin can bound
 * (linear, but `a*b|a` took 180 ms on 64 KB of `a`, inline on the event loop); in a worker the time budget holds.
 */
export const OFFLOAD_BYTES_CUSTOM = 1024;

/**
 * Thin handler: PDK in, pure decisions (body-masking, response-headers, log-masking), PDK out.
 *
 * With `guard` (the route runs the Kong-side guard, guard.ts): access makes no call; response reads the guard's
 * request snapshot, the downstream headers and the upstream body, and writes one result for the guard to apply:
 * 4 PDK calls for every response, masked or clean.
 *
 * Without it: access reads request headers and raw query (2), strips Range and narrows Accept-Encoding only when
 * needed (1 each), and writes each log override; response reads headers and body (2) and, when something changes,
 * the status and one exit carrying the masked body and headers (2), or one set_headers for headers alone.
 */
export class PiiMaskingHandler implements PhaseHandler {
  private readonly compiled: CompiledMasking;
  private readonly offloadBytes: number;
  private readonly logger: Logger;
  private readonly configId: string;
  private warnedNoGuard = false;

  constructor(
    private readonly config: PiiMaskingConfig,
    context: HandlerContext,
  ) {
    this.logger = context.log;
    this.compiled = compileMasking(config, context.log);
    this.offloadBytes = config.custom_detectors.length > 0 ? OFFLOAD_BYTES_CUSTOM : OFFLOAD_BYTES;
    this.configId = crypto.createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 32);
  }

  async access(pdk: Pdk): Promise<void> {
    if (this.config.guard) return; // the guard's access chunk strips Range, narrows Accept-Encoding and takes the snapshot
    const headers = await pdk.request.getHeaders();
    if (headers['range']) await pdk.serviceRequest.clearHeader('Range');
    if (headers['if-range']) await pdk.serviceRequest.clearHeader('If-Range');
    const encoding = narrowAcceptEncoding(headers['accept-encoding']?.join(', '));
    if (encoding !== undefined) await pdk.serviceRequest.setHeader('Accept-Encoding', encoding);
    const logs = this.compiled.logs;
    if (!logs) return;
    const report = new MaskReport();
    const overrides = logs.headerOverrides('request.headers', headers, report);
    countDetections(report.counts, 'request_header');
    const queryReport = new MaskReport();
    const query = logs.query(await pdk.request.getRawQuery(), queryReport);
    if (query) {
      countDetections(queryReport.counts, 'query');
      overrides.push({ path: 'request.querystring', value: query.table });
      // one PDK call at a time: an event has a single request in flight
      const rawPath = await pdk.request.getRawPath();
      const scheme = await pdk.request.getScheme();
      const host = await pdk.request.getHost();
      const port = await pdk.request.getPort();
      const uri = `${rawPath}?${query.raw}`;
      overrides.push({ path: 'request.uri', value: uri }, { path: 'request.url', value: `${scheme}://${host}:${port}${uri}` });
      // the upstream URI carries the same query, and no PDK getter gives its path: keep it out of the logs
      overrides.push({ path: 'upstream_uri', value: null });
    }
    await this.write(pdk, overrides);
  }

  async response(pdk: Pdk): Promise<void> {
    const snapshot = this.config.guard ? await this.snapshot(pdk) : undefined;
    // the downstream headers: Kong copied the upstream's into them before this phase (Kong.response, set_headers)
    const headers = await pdk.response.getHeaders();
    const logOverrides: SerializeOverride[] = [];
    let maskedUri: string | undefined;
    const logs = this.compiled.logs;
    if (logs && snapshot) {
      const report = new MaskReport();
      logOverrides.push(...logs.headerOverrides('request.headers', snapshot.headers, report));
      countDetections(report.counts, 'request_header');
      const q = snapshot.uri.indexOf('?');
      if (q >= 0) {
        const queryReport = new MaskReport();
        const query = logs.query(snapshot.uri.slice(q + 1), queryReport);
        if (query) {
          countDetections(queryReport.counts, 'query');
          logOverrides.push({ path: 'request.querystring', value: query.table });
          maskedUri = `${snapshot.uri.slice(0, q)}?${query.raw}`;
        }
      }
    }
    const headerReport = new MaskReport();
    const headerChanges: Record<string, GuardHeader> = this.config.mask_response_headers ? maskResponseHeaders(headers, this.compiled.deps.values, this.compiled.deps.keys, headerReport) : {};
    countDetections(headerReport.counts, 'response_header');
    if (logs) {
      // the serializer reads the headers the client gets: only what is masked for the logs alone (Set-Cookie, listed headers)
      const report = new MaskReport();
      logOverrides.push(...logs.headerOverrides('response.headers', { ...headers, ...(headerChanges as HeaderMultimap) }, report));
      countDetections(report.counts, 'response_header');
    }

    const decision = await this.decideBody(pdk, headers);
    countBodyDecision(decision);
    const blocked = decision.action === 'block' || headerReport.blocked.size > 0;
    if (blocked) {
      const reason = decision.action === 'block' ? decision.reason : 'pii';
      const types = new Set([...decision.report.blocked, ...headerReport.blocked]);
      this.logger.info({ reason, types: [...types], status: this.config.block_status }, 'pii-masking: response blocked');
      const problem = blockedProblem(this.config.block_status, reason, types);
      const clears: Record<string, GuardHeader> = {};
      for (const name of Object.keys(headers)) if (name !== 'content-type') clears[name] = false;
      if (snapshot) {
        const body = JSON.stringify(problem);
        return this.hand(pdk, { ok: true, status: problem.status, headers: { ...clears, 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' }, body: Buffer.from(body).toString('base64'), logs: toGuardLogs(logOverrides), uri: maskedUri });
      }
      await this.write(pdk, logOverrides);
      for (const name of staleValidators(headers)) await pdk.response.clearHeader(name);
      if (first(headers['content-encoding'])) await pdk.response.clearHeader('Content-Encoding');
      return exitWithProblem(pdk, problem, maskedHeaderInput(headerChanges));
    }
    if (decision.action === 'replace') {
      for (const name of staleValidators(headers)) headerChanges[name] = false;
      if (decision.dropEncoding) headerChanges['content-encoding'] = false;
    }
    if (snapshot) {
      const result: GuardResult = { ok: true };
      if (Object.keys(headerChanges).length) result.headers = headerChanges;
      if (decision.action === 'replace') result.body = decision.body.toString('base64');
      if (logOverrides.length) result.logs = toGuardLogs(logOverrides);
      if (maskedUri !== undefined) result.uri = maskedUri;
      return this.hand(pdk, result);
    }
    await this.write(pdk, logOverrides);
    if (decision.action === 'replace') {
      for (const [name, value] of Object.entries(headerChanges)) if (value === false) await pdk.response.clearHeader(name);
      // the downstream status as it stands (the upstream's, or what an earlier plugin set), one call
      return pdk.response.exit(await pdk.response.getStatus(), decision.body, maskedHeaderInput(headerChanges));
    }
    const changed = maskedHeaderInput(headerChanges);
    if (changed) await pdk.response.setHeaders(changed);
  }

  /** The guard's request snapshot; undefined (and a warning once) when the route's guard did not take one. */
  private async snapshot(pdk: Pdk): Promise<RequestSnapshot | undefined> {
    const snapshot = parseSnapshot(await pdk.ctx.get(REQUEST_KEY));
    if (!snapshot && !this.warnedNoGuard) {
      this.warnedNoGuard = true;
      this.logger.warn("pii-masking: guard is on but the route's guard did not run (no request snapshot); masking without it");
    }
    return snapshot;
  }

  private async hand(pdk: Pdk, result: GuardResult): Promise<void> {
    await pdk.ctx.set(RESULT_KEY, result);
  }

  /** Reads and decides the upstream body: inline when small, else in a worker within time_budget_ms. */
  private async decideBody(pdk: Pdk, headers: HeaderMultimap): Promise<BodyDecision> {
    const encoding = first(headers['content-encoding']);
    const contentType = first(headers['content-type']);
    const media = this.compiled.contentTypes.decide(contentType);
    if (media.kind === 'pass') {
      skippedBodies.inc({ reason: 'content_type' });
      return { action: 'pass', report: new MaskReport() };
    }
    const declared = Number(first(headers['content-length']));
    const policy = this.compiled.policy;
    if (media.kind === 'scan' && declared > policy.maxBodySize && policy.oversizeAction !== 'scan_text' && !encoding) {
      // not even read: the size policy decides
      return policy.oversizeAction === 'block' ? { action: 'block', report: new MaskReport(), reason: 'size', skipped: 'size' } : { action: 'pass', report: new MaskReport(), skipped: 'size' };
    }
    // a 206 carries Content-Range (or is multipart/byteranges): no status read needed
    const partial = headers['content-range'] !== undefined || (contentType ?? '').toLowerCase().startsWith('multipart/byteranges');
    const job: BodyJob = { body: Buffer.alloc(0), contentType, contentEncoding: encoding, status: partial ? 206 : 200 };
    // decided without the body (no get_raw_body, no transfer): an unknown media type, a 206, a coding it cannot decode
    if (media.kind === 'unknown' || partial || (encoding !== undefined && parseContentEncoding(encoding) === undefined)) return maskBody(job, this.compiled);
    job.body = await pdk.serviceResponse.getRawBody();
    const pool = sharedPool();
    const offload = pool && (job.body.length >= this.offloadBytes || (encoding !== undefined && job.body.length >= OFFLOAD_COMPRESSED));
    if (!offload) return maskBody(job, this.compiled);
    const outcome = await pool.run(this.configId, this.config, this.compiled.tokenKey, job, this.config.time_budget_ms);
    if (outcome === 'timeout') return unreadable(policy, new MaskReport(), 'time_budget');
    return outcome;
  }

  private async write(pdk: Pdk, overrides: SerializeOverride[]): Promise<void> {
    for (const override of overrides) await pdk.log.setSerializeValue(override.path, override.value);
  }
}

/** The header changes to send with exit / set_headers (clears are separate calls there). */
function maskedHeaderInput(changes: Record<string, GuardHeader>): Record<string, string | string[]> | undefined {
  const out: Record<string, string | string[]> = {};
  let any = false;
  for (const [name, value] of Object.entries(changes)) {
    if (value === false) continue;
    out[name] = value;
    any = true;
  }
  return any ? out : undefined;
}
