import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import type { Logger } from '../../shared/observability/log';
import { PROBLEM_CONTENT_TYPE, type Pdk } from '../../shared/pdk';
import { maskBody, type BodyPolicy } from './body-masking';
import { ContentTypes } from './content-types';
import { KeyContexts } from './detectors/key-context';
import { DetectorRegistry } from './detectors/registry';
import { FieldRules } from './field-rules';
import type { JsonMaskDeps } from './json-masker';
import { LogMasking, type SerializeOverride } from './log-masking';
import { blockedResponses, countDetections, maskedBodies, skippedBodies } from './metrics';
import { Masker, type Mode } from './modes';
import { problemBody } from './problem';
import type { PiiMaskingConfig } from './config';
import { resolveTokenKey } from './token-key';
import { MaskReport, ValueMasker } from './value-masker';

/** Headers naming or hashing the exact bytes of the upstream body, removed when the body is replaced (lower case). */
const STALE_VALIDATORS = ['etag', 'content-md5', 'content-digest', 'repr-digest', 'digest'];

function first(values: string[] | undefined): string | undefined {
  return values && values.length ? values[0] : undefined;
}

/**
 * Thin handler: access masks request headers and query for the log serializer; response reads the upstream body
 * once, lets body-masking decide, and writes only when something changes (one exit with the masked body, or the
 * problem+json for a block). A clean response costs 4 PDK calls and no write (access: request headers and raw
 * query; response: upstream headers and body); a masked one 2 more (status, exit), plus one clear_header for each
 * of ETag, Content-MD5, digests and a dropped Content-Encoding that is present. Everything is compiled here, once per plugin
 * config.
 */
export class PiiMaskingHandler implements PhaseHandler {
  private readonly deps: JsonMaskDeps;
  private readonly contentTypes: ContentTypes;
  private readonly policy: BodyPolicy;
  private readonly logs: LogMasking | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly config: PiiMaskingConfig,
    context: HandlerContext,
  ) {
    this.logger = context.log;
    const labels = new Map<string, string>();
    for (const custom of config.custom_detectors) if (custom.label) labels.set(custom.name, custom.label);
    const masker = new Masker(resolveTokenKey(config.token_key, context.log), labels);
    const registry = new DetectorRegistry({
      types: config.detectors,
      defaultRegion: config.default_region,
      custom: config.custom_detectors.map((c) => ({ name: c.name, pattern: c.pattern, validator: c.validator, keys: c.keys, caseInsensitive: c.case_insensitive })),
    });
    const values = new ValueMasker(registry, masker, new Map(Object.entries(config.modes) as Array<[string, Mode]>), config.default_mode, config.field_mode);
    const keys = new KeyContexts();
    this.deps = { values, keys, rules: new FieldRules(config.mask_keys, config.mask_paths) };
    this.contentTypes = new ContentTypes(config.content_types);
    this.policy = {
      maxBodySize: config.max_body_size,
      oversizeAction: config.oversize_action,
      unscannableAction: config.unscannable_action,
      compressedOutput: config.compressed_output,
    };
    if (config.mask_logs) {
      this.logs = new LogMasking({ headers: config.log_headers, queryParams: config.log_query_params, mode: config.log_mode }, values, masker, keys);
    }
  }

  async access(pdk: Pdk): Promise<void> {
    if (!this.logs) return;
    const report = new MaskReport();
    const overrides = this.logs.headerOverrides('request.headers', await pdk.request.getHeaders(), report);
    countDetections(report.counts, 'request_header');
    const queryReport = new MaskReport();
    const query = this.logs.query(await pdk.request.getRawQuery(), queryReport);
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
    const headers = await pdk.serviceResponse.getHeaders();
    if (this.logs) {
      const report = new MaskReport();
      await this.write(pdk, this.logs.headerOverrides('response.headers', headers, report));
      countDetections(report.counts, 'response_header');
    }
    const format = this.contentTypes.formatOf(first(headers['content-type']));
    if (!format) {
      skippedBodies.inc({ reason: 'content_type' });
      return;
    }
    const encoding = first(headers['content-encoding']);
    const declared = Number(first(headers['content-length']));
    if (declared > this.policy.maxBodySize && this.policy.oversizeAction === 'pass' && !encoding) {
      skippedBodies.inc({ reason: 'size' });
      return; // not even read: the size policy says pass
    }
    const decision = await maskBody(await pdk.serviceResponse.getRawBody(), format, encoding, this.policy, this.deps);
    if (decision.skipped) skippedBodies.inc({ reason: decision.skipped });
    countDetections(decision.report.counts, 'body');
    if (decision.action === 'pass') return;
    // the body is replaced: a validator of the upstream bytes must not name it (a cache or a conditional request
    // could pair the masked body with the original's identity, or answer 304 for it)
    for (const name of STALE_VALIDATORS) if (headers[name]) await pdk.response.clearHeader(name);
    if (decision.action === 'block') {
      blockedResponses.inc({ reason: decision.reason });
      this.logger.info({ reason: decision.reason, types: [...decision.report.blocked], status: this.config.block_status }, 'pii-masking: response blocked');
      if (encoding) await pdk.response.clearHeader('Content-Encoding');
      const body = problemBody(this.config.block_status, decision.reason, decision.report.blocked);
      await pdk.response.exit(this.config.block_status, body, { 'Content-Type': PROBLEM_CONTENT_TYPE });
      return;
    }
    maskedBodies.inc({ format: decision.format });
    if (decision.dropEncoding) await pdk.response.clearHeader('Content-Encoding');
    // the downstream status as it stands (the upstream's, or what an earlier plugin set), one call
    await pdk.response.exit(await pdk.response.getStatus(), decision.body);
  }

  private async write(pdk: Pdk, overrides: SerializeOverride[]): Promise<void> {
    for (const override of overrides) await pdk.log.setSerializeValue(override.path, override.value);
  }
}
