import { signalHeaders, type SignalHeaders } from './headers';
import { stateAt, type Lifecycle, type StateAt } from './lifecycle';
import { parseInstant, type VersionDeprecationConfig } from './schema';

/** One configured version, compiled at instance start: instants as epoch ms, headers formatted once. */
export interface CompiledVersion {
  readonly name: string;
  readonly lifecycle: Lifecycle;
  readonly successor?: string;
  readonly successorUrl?: string;
  readonly documentationUrl?: string;
  /** Deprecation / Sunset / Link, or undefined when nothing is scheduled for this version. */
  readonly headers?: SignalHeaders;
  /** null: leave Kong's upstream path alone. */
  readonly upstreamPathPrefix: string | null;
}

/** The versions of one plugin config, looked up by name or alias (case-insensitive). */
export class VersionCatalog {
  readonly versions: readonly CompiledVersion[];
  private readonly byToken = new Map<string, CompiledVersion>();

  constructor(config: Pick<VersionDeprecationConfig, 'versions'>) {
    const byName = new Map(config.versions.map((v) => [v.name.toLowerCase(), v]));
    this.versions = config.versions.map((v) => {
      const successor = v.successor ? byName.get(v.successor.toLowerCase()) : undefined;
      const lifecycle: Lifecycle = {
        deprecatedAt: parseInstant(v.deprecated_at),
        sunsetAt: parseInstant(v.sunset_at),
        brownouts: (v.brownouts ?? [])
          .map((w) => ({ start: parseInstant(w.start) as number, end: parseInstant(w.end) as number }))
          .sort((a, b) => a.start - b.start),
      };
      const headers = signalHeaders({
        deprecatedAt: lifecycle.deprecatedAt,
        sunsetAt: lifecycle.sunsetAt,
        deprecationUrl: v.deprecation_url ?? v.documentation_url ?? undefined,
        sunsetUrl: v.sunset_url ?? undefined,
        successorUrl: successor?.documentation_url ?? undefined,
      });
      return {
        name: v.name,
        lifecycle,
        successor: successor?.name,
        successorUrl: successor?.documentation_url ?? undefined,
        documentationUrl: v.documentation_url ?? undefined,
        headers: Object.keys(headers).length ? headers : undefined,
        upstreamPathPrefix: v.upstream_path_prefix === null || v.upstream_path_prefix === undefined ? null : v.upstream_path_prefix.replace(/\/+$/, ''),
      };
    });
    for (const [i, v] of config.versions.entries()) {
      for (const token of [v.name, ...(v.aliases ?? [])]) this.byToken.set(token.toLowerCase(), this.versions[i]);
    }
  }

  lookup(token: string): CompiledVersion | undefined {
    return this.byToken.get(token.toLowerCase());
  }

  stateAt(version: CompiledVersion, now: number): StateAt {
    return stateAt(version.lifecycle, now);
  }

  /** Versions a client can still call at `now` (listed in 400 answers). */
  supportedAt(now: number, afterSunset: 'reject' | 'serve'): string[] {
    return this.versions.filter((v) => afterSunset === 'serve' || stateAt(v.lifecycle, now).state !== 'sunset').map((v) => v.name);
  }
}
