import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import { childLogger } from '../../shared/observability/log';
import { exitWithProblem, type HeaderInput, type Pdk } from '../../shared/pdk';
import { UsageRecorder } from './analytics';
import { VersionCatalog, type CompiledVersion } from './catalog';
import { CLOCK_OFFSET_ENV, offsetClock, offsetFromEnv, type Clock } from './clock';
import { formatHttpDate } from './headers';
import { ProblemFactory } from './problem';
import { VersionResolver, type RequestSnapshot } from './resolver';
import type { VersionDeprecationConfig } from './schema';

const fromEnv = offsetFromEnv();
if (fromEnv.problem) childLogger({ plugin: 'version-deprecation' }).warn(fromEnv.problem);
if (fromEnv.offsetMs !== 0) {
  childLogger({ plugin: 'version-deprecation' }).warn({ offset_ms: fromEnv.offsetMs }, `${CLOCK_OFFSET_ENV} is set: lifecycle decisions use a shifted clock (test hook)`);
}
/** The system clock, shifted by VERSION_DEPRECATION_CLOCK_OFFSET_MS when the plugin server was started with it. */
export const processClock: Clock = offsetClock(fromEnv.offsetMs);

/**
 * Access phase, as a sentence: resolve the version (reading only what the sources need), answer 400 for an
 * unknown one, count the call, answer 410 in a brownout or after the sunset, else add the deprecation headers and
 * route the upstream request. PDK calls: 1-2 reads, at most one getConsumer, one response write, and one or two
 * service-request writes when path rewriting / the upstream header are configured.
 */
export class VersionDeprecationHandler implements PhaseHandler {
  private readonly catalog: VersionCatalog;
  private readonly resolver: VersionResolver;
  private readonly problems: ProblemFactory;
  private readonly usage: UsageRecorder;
  private readonly afterSunset: 'reject' | 'serve';
  private readonly upstreamHeader: string | undefined;
  private readonly hint: string;
  /** Vary value when the version can come from request headers (the version header, Accept); else undefined. */
  private readonly vary: string | undefined;
  /** Per version: its lifecycle headers plus Vary, built once. */
  private readonly responseHeaders = new Map<CompiledVersion, HeaderInput | undefined>();

  constructor(
    config: VersionDeprecationConfig,
    context: HandlerContext,
    private readonly clock: Clock = processClock,
  ) {
    this.catalog = new VersionCatalog(config);
    this.resolver = new VersionResolver(this.catalog, {
      sources: config.sources,
      headerName: config.header_name,
      queryParam: config.query_param,
      pathSegment: config.path_segment,
      pathVersionPattern: new RegExp(config.path_version_pattern),
      acceptMediaType: config.accept_media_type ?? undefined,
      acceptParam: config.accept_param,
      defaultVersion: config.default_version ?? undefined,
    });
    this.problems = new ProblemFactory(config.problem_type_base ?? undefined);
    this.afterSunset = config.after_sunset;
    this.upstreamHeader = config.upstream_header ?? undefined;
    this.usage = new UsageRecorder({
      scopeId: context.meta.pluginId ?? 'unscoped',
      route: context.meta.routeId ?? context.meta.serviceId ?? 'global',
      consumerMetrics: config.consumer_metrics,
      identifier: config.consumer_identifier,
      maxConsumers: config.max_consumers,
      logIntervalMs: config.log_interval_seconds * 1000,
      log: context.log,
    });
    this.hint = config.sources.map((s) => describeSource(s, config)).join(', or ');
    this.vary = config.vary ? varyFor(config) : undefined;
  }

  private headersFor(version: CompiledVersion): HeaderInput | undefined {
    if (!this.responseHeaders.has(version)) {
      const headers = this.vary ? { ...version.headers, Vary: this.vary } : version.headers;
      this.responseHeaders.set(version, headers ?? undefined);
    }
    return this.responseHeaders.get(version);
  }

  async access(pdk: Pdk): Promise<void> {
    const snapshot: RequestSnapshot = {};
    let resolution = this.resolver.resolve(snapshot);
    while (resolution.kind === 'need') {
      await read(pdk, snapshot, resolution.what);
      resolution = this.resolver.resolve(snapshot);
    }
    const now = this.clock.now();
    if (resolution.kind === 'unknown' || resolution.kind === 'missing') {
      this.usage.rejected(resolution.kind);
      const supported = this.catalog.supportedAt(now, this.afterSunset);
      const problem = resolution.kind === 'unknown' ? this.problems.unsupported(resolution.token, resolution.source, supported) : this.problems.required(supported, this.hint);
      return exitWithProblem(pdk, problem, this.vary ? { Vary: this.vary } : undefined);
    }

    const version = resolution.version;
    const { state, window } = this.catalog.stateAt(version, now);
    const consumer = this.usage.wantsConsumer(state) ? await pdk.client.getConsumer() : undefined;
    this.usage.record({ version: version.name, state, consumer, now, sunset: version.headers?.Sunset as string | undefined, successor: version.successor });

    if (state === 'brownout' && window) {
      const problem = this.problems.brownout(version.name, window.end, version.lifecycle.sunsetAt, version.successor, version.successorUrl);
      return exitWithProblem(pdk, problem, { ...this.headersFor(version), 'Retry-After': formatHttpDate(window.end), 'Cache-Control': 'no-store' });
    }
    if (state === 'sunset' && this.afterSunset === 'reject') {
      return exitWithProblem(pdk, this.problems.sunset(version.name, version.lifecycle.sunsetAt, version.successor, version.successorUrl), this.headersFor(version));
    }
    const headers = this.headersFor(version);
    if (headers) await pdk.response.setHeaders(headers);
    await this.routeUpstream(pdk, snapshot, version);
  }

  private async routeUpstream(pdk: Pdk, snapshot: RequestSnapshot, version: CompiledVersion): Promise<void> {
    if (version.upstreamPathPrefix !== null) {
      if (snapshot.path === undefined) await read(pdk, snapshot, 'path');
      await pdk.serviceRequest.setPath(this.resolver.upstreamPath(version.upstreamPathPrefix, snapshot.path as string));
    }
    if (this.upstreamHeader) await pdk.serviceRequest.setHeader(this.upstreamHeader, version.name);
  }
}

async function read(pdk: Pdk, snapshot: RequestSnapshot, what: 'headers' | 'path'): Promise<void> {
  if (what === 'headers') {
    snapshot.headers = await pdk.request.getHeaders();
    return;
  }
  const full = (await pdk.request.getPathWithQuery()) ?? '/';
  const q = full.indexOf('?');
  snapshot.path = q < 0 ? full : full.slice(0, q);
  snapshot.rawQuery = q < 0 ? '' : full.slice(q + 1);
}

/** Caches must key on every request header the version can come from. */
function varyFor(config: VersionDeprecationConfig): string | undefined {
  const names: string[] = [];
  if (config.sources.includes('header')) names.push(config.header_name);
  if (config.sources.includes('accept')) names.push('Accept');
  return names.length ? names.join(', ') : undefined;
}

function describeSource(source: string, config: VersionDeprecationConfig): string {
  switch (source) {
    case 'header':
      return `the ${config.header_name} header`;
    case 'path':
      return `path segment ${config.path_segment}`;
    case 'query':
      return `the ${config.query_param} query parameter`;
    default:
      return `the ${config.accept_param} parameter of ${config.accept_media_type ?? 'a media type'} in Accept`;
  }
}
