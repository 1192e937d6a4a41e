import type { Clock } from '../../shared/clock';
import type { HandlerContext, PhaseHandler } from '../../shared/plugin';
import type { Pdk } from '../../shared/pdk';
import { exitWithProblem } from '../../shared/problems';
import { OperatorPattern } from '../../shared/safety/operator-pattern';
import { UsageRecorder } from './analytics';
import { VersionAnswers, type VersionAnswer } from './answers';
import { VersionCatalog } from './catalog';
import { VersionResolver, type RequestSnapshot, type SnapshotPart } from './resolver';
import type { VersionDeprecationConfig } from './schema';

/**
 * Access phase, as a sentence: resolve the version (reading only what the sources need), answer 400 for an
 * unknown one, count the call, answer 410 in a brownout or after the sunset, else add the deprecation headers and
 * route the upstream request. PDK calls: 1-2 reads, at most one getConsumer, one response write, and one or two
 * service-request writes when path rewriting / the upstream header are configured.
 */
export class VersionDeprecationHandler implements PhaseHandler {
  private readonly catalog: VersionCatalog;
  private readonly resolver: VersionResolver;
  private readonly answers: VersionAnswers;
  private readonly usage: UsageRecorder;
  private readonly upstreamHeader: string | undefined;
  private readonly clock: Clock;

  constructor(config: VersionDeprecationConfig, context: HandlerContext) {
    this.clock = context.clock;
    this.catalog = new VersionCatalog(config);
    this.resolver = new VersionResolver(this.catalog, {
      sources: config.sources,
      headerName: config.header_name,
      queryParam: config.query_param,
      pathSegment: config.path_segment,
      pathVersionPattern: OperatorPattern.compile(config.path_version_pattern),
      acceptMediaType: config.accept_media_type ?? undefined,
      acceptParam: config.accept_param,
      defaultVersion: config.default_version ?? undefined,
      onConflict: config.on_conflict,
    });
    this.answers = new VersionAnswers(config, this.catalog);
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
  }

  async access(pdk: Pdk): Promise<void> {
    const snapshot: RequestSnapshot = {};
    let resolution = this.resolver.resolve(snapshot);
    while (resolution.kind === 'need') {
      await read(pdk, snapshot, resolution.what);
      resolution = this.resolver.resolve(snapshot);
    }
    const now = this.clock.now();
    if (resolution.kind === 'unknown' || resolution.kind === 'missing' || resolution.kind === 'conflict') {
      this.usage.rejected(resolution.kind);
      return write(pdk, this.answers.rejected(resolution, now));
    }
    const version = resolution.version;
    const at = this.catalog.stateAt(version, now);
    const consumer = this.usage.wantsConsumer(at.state) ? await pdk.client.getConsumer() : undefined;
    this.usage.record({ version: version.name, state: at.state, consumer, now, sunset: version.headers?.Sunset as string | undefined, successor: version.successor });
    const answer = this.answers.forVersion(version, at);
    if (answer.exit) return write(pdk, answer);
    // the upstream path is decided before anything is written: a path that cannot stay under the prefix is a 400
    let upstreamPath: string | undefined;
    if (version.upstreamPathPrefix !== null) {
      if (snapshot.path === undefined) await read(pdk, snapshot, 'path');
      upstreamPath = this.resolver.upstreamPath(version.upstreamPathPrefix, snapshot.path as string);
      if (upstreamPath === undefined) {
        this.usage.rejected('invalid_path');
        return write(pdk, this.answers.invalidPath());
      }
    }
    await write(pdk, answer);
    if (upstreamPath !== undefined) await pdk.serviceRequest.setPath(upstreamPath);
    if (this.upstreamHeader) await pdk.serviceRequest.setHeader(this.upstreamHeader, version.name);
  }
}

async function read(pdk: Pdk, snapshot: RequestSnapshot, what: SnapshotPart): Promise<void> {
  if (what === 'headers') snapshot.headers = await pdk.request.getHeaders();
  else if (what === 'path') snapshot.path = await pdk.request.getPath();
  else snapshot.rawQuery = await pdk.request.getRawQuery();
}

async function write(pdk: Pdk, answer: VersionAnswer): Promise<void> {
  if (answer.exit) return exitWithProblem(pdk, answer.exit.problem, answer.exit.headers);
  if (answer.headers) await pdk.response.setHeaders(answer.headers);
}
