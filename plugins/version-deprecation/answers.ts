import type { HeaderInput } from '../../shared/pdk';
import type { Problem } from '../../shared/problems';
import type { CompiledVersion, VersionCatalog } from './catalog';
import { formatHttpDate } from './headers';
import type { StateAt } from './lifecycle';
import { invalidVersionPath, unsupportedVersion, versionBrownout, versionConflict, versionRequired, versionSunset, type ProblemSettings } from './problem';
import type { Resolution } from './resolver';
import type { VersionDeprecationConfig } from './schema';

/** What the handler writes: an exit with a problem and its headers, or the response headers to add (if any). */
export type VersionAnswer = { exit: { problem: Problem; headers?: HeaderInput } } | { exit?: undefined; headers?: HeaderInput };

/**
 * Pure: the answer for a resolved (or unresolvable) version at an instant. 400 for an unknown or missing version,
 * 410 in a brownout or after the sunset (after_sunset reject), else the version's lifecycle headers plus Vary.
 * Headers are built once per version.
 */
export class VersionAnswers {
  private readonly problems: ProblemSettings;
  private readonly afterSunset: 'reject' | 'serve';
  /** How a client names the version, for the 400 detail. */
  private readonly hint: string;
  /** Vary value when the version can come from request headers (the version header, Accept); else undefined. */
  private readonly vary: string | undefined;
  private readonly responseHeaders = new Map<CompiledVersion, HeaderInput | undefined>();

  constructor(
    config: VersionDeprecationConfig,
    private readonly catalog: VersionCatalog,
  ) {
    this.problems = { typeBase: config.problem_type_base ?? undefined };
    this.afterSunset = config.after_sunset;
    this.hint = config.sources.map((s) => describeSource(s, config)).join(', or ');
    this.vary = config.vary ? varyFor(config) : undefined;
  }

  rejected(resolution: Extract<Resolution, { kind: 'unknown' | 'missing' | 'conflict' }>, now: number): VersionAnswer {
    if (resolution.kind === 'conflict') return this.exit(versionConflict(this.problems, resolution.named));
    const supported = this.catalog.supportedAt(now, this.afterSunset);
    const problem = resolution.kind === 'unknown' ? unsupportedVersion(this.problems, resolution.token, resolution.source, supported) : versionRequired(this.problems, supported, this.hint);
    return this.exit(problem);
  }

  /** The rest of the path would leave the version's upstream prefix: nothing is proxied. */
  invalidPath(): VersionAnswer {
    return this.exit(invalidVersionPath(this.problems));
  }

  private exit(problem: Problem): VersionAnswer {
    return { exit: { problem, headers: this.vary ? { Vary: this.vary } : undefined } };
  }

  forVersion(version: CompiledVersion, { state, window }: StateAt): VersionAnswer {
    const headers = this.headersFor(version);
    if (state === 'brownout' && window) {
      const problem = versionBrownout(this.problems, version.name, window.end, version.lifecycle.sunsetAt, version.successor, version.successorUrl);
      return { exit: { problem, headers: { ...headers, 'Retry-After': formatHttpDate(window.end), 'Cache-Control': 'no-store' } } };
    }
    if (state === 'sunset' && this.afterSunset === 'reject') {
      return { exit: { problem: versionSunset(this.problems, version.name, version.lifecycle.sunsetAt, version.successor, version.successorUrl), headers } };
    }
    return { headers };
  }

  private headersFor(version: CompiledVersion): HeaderInput | undefined {
    if (!this.responseHeaders.has(version)) {
      const headers = this.vary ? { ...version.headers, Vary: this.vary } : version.headers;
      this.responseHeaders.set(version, headers ?? undefined);
    }
    return this.responseHeaders.get(version);
  }
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
