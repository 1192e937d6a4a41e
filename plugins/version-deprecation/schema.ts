import { field, type InferFields } from '../../shared/schema';
import { operatorPatternReason } from '../../shared/safety/operator-pattern';

export const SOURCES = ['header', 'path', 'query', 'accept'] as const;
export type VersionSource = (typeof SOURCES)[number];

const VERSION_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

const dateTime = (description: string, required = false) =>
  required ? field.string({ required: true, format: 'date-time', description }) : field.string({ format: 'date-time', description });

const versionFields = {
  name: field.string({ required: true, len_min: 1, len_max: 64, pattern: VERSION_NAME, description: 'Version name as clients send it, e.g. "v2". Matched case-insensitively.' }),
  // no defaults inside array elements: ajv cannot apply them there (unset arrives as null)
  aliases: field.set(field.string({ len_min: 1, len_max: 64, pattern: VERSION_NAME }), {
    description: 'Other spellings of the same version, e.g. ["2", "2.0"] for "v2" (Accept: ...; version=2).',
  }),
  deprecated_at: dateTime('RFC 3339 instant from which the version is deprecated (sent as the Deprecation header, also before it is reached).'),
  sunset_at: dateTime('RFC 3339 instant from which the version is gone (Sunset header; 410 afterwards unless after_sunset is "serve"). Needs deprecated_at, not earlier than it.'),
  successor: field.string({ len_min: 1, len_max: 64, description: 'Name of the configured version that replaces this one (rel="successor-version", named in 410 answers).' }),
  documentation_url: field.string({ format: 'uri', description: 'Documentation of this version; the rel="successor-version" target when another version names this one as successor.' }),
  deprecation_url: field.string({ format: 'uri', description: 'Human-readable deprecation notice (rel="deprecation"); defaults to documentation_url.' }),
  sunset_url: field.string({ format: 'uri', description: 'Sunset policy or notice (rel="sunset"); no sunset link when unset.' }),
  brownouts: field.array(
    field.record({
      start: dateTime('RFC 3339 start of the window (inclusive).', true),
      end: dateTime('RFC 3339 end of the window (exclusive).', true),
    }),
    { description: 'Windows after deprecated_at and before sunset_at in which the version already answers 410, so consumers notice before the sunset.' },
  ),
  upstream_path_prefix: field.string({
    len_max: 512,
    pattern: '^/[^?#]*$',
    description:
      'Rewrites the upstream path to this prefix + the request path after the version segment ("/" strips the version and everything before it; "/api/2.0" replaces it). Unset: Kong\'s upstream path is left alone.',
  }),
};

export const fields = {
  versions: field.array(field.record(versionFields), { required: true, len_min: 1, len_max: 64, description: 'The versions this route serves, with their lifecycle.' }),
  sources: field.array(field.string({ one_of: SOURCES }), {
    default: ['header', 'path', 'query', 'accept'] as VersionSource[],
    len_min: 1,
    len_max: 4,
    description: 'Where the requested version is read, in precedence order: header, path segment, query parameter, Accept media-type parameter.',
  }),
  header_name: field.string({ default: 'X-API-Version', len_min: 1, description: 'Request header carrying the version (source "header").' }),
  query_param: field.string({ default: 'api-version', len_min: 1, description: 'Query parameter carrying the version (source "query").' }),
  path_segment: field.integer({ default: 1, between: [1, 32], description: 'Which path segment holds the version (source "path"): 1 is the first after "/", 2 for /prefix/v2/...' }),
  path_version_pattern: field.string({
    default: '^v[0-9]+([.][0-9]+)?([.][0-9]+)?$',
    len_min: 1,
    description: 'Regex (RE2 syntax, matched in linear time): a path segment that is not a configured version but matches this is an unknown version (400); otherwise the path carries no version.',
  }),
  accept_media_type: field.string({ len_min: 1, description: 'Only this media type in Accept carries the version parameter (e.g. application/vnd.acme+json); unset: any media type.' }),
  accept_param: field.string({ default: 'version', len_min: 1, description: 'Media-type parameter carrying the version (source "accept").' }),
  default_version: field.string({ len_min: 1, description: 'Version used when the request names none; unset: such requests get 400.' }),
  on_conflict: field.string({
    one_of: ['reject', 'first'] as const,
    default: 'reject',
    description:
      'A request naming different versions in two sources (X-API-Version: 2 on /v1/...): answer 400 api-version-conflict ("reject": every configured source is read, up to 2 more PDK reads), or let the first source in precedence order win ("first").',
  }),
  after_sunset: field.string({ one_of: ['reject', 'serve'] as const, default: 'reject', description: 'After sunset_at: answer 410 Gone ("reject"), or keep proxying with the headers only ("serve").' }),
  vary: field.boolean({
    default: true,
    description:
      'Add Vary naming the version header and/or Accept when those sources are configured, so HTTP caches keep versions apart (one response write per request, also for current versions).',
  }),
  upstream_header: field.string({ len_min: 1, description: 'Upstream request header set to the resolved version name (e.g. X-Resolved-Version); unset: none.' }),
  problem_type_base: field.string({
    format: 'uri',
    description: 'Base URI of the problem types in 400/410 bodies (type = base + code); unset: "about:blank" with a stable "code" member.',
  }),
  consumer_metrics: field.string({
    one_of: ['scheduled', 'all', 'none'] as const,
    default: 'scheduled',
    description:
      'Which requests get a consumer label in the metrics: only those for versions with a deprecation scheduled or passed ("scheduled", one PDK call for those only), "all", or "none".',
  }),
  consumer_identifier: field.string({ one_of: ['username', 'custom_id', 'id'] as const, default: 'username', description: 'Consumer field used as the label (falls back to the id).' }),
  max_consumers: field.integer({ default: 1000, between: [1, 100000], description: 'Distinct consumer label values per plugin config; later consumers are counted as "__other__".' }),
  log_interval_seconds: field.integer({
    default: 3600,
    between: [1, 31 * 86400],
    description: 'A consumer calling a deprecated version is logged once per this interval (per version and consumer).',
  }),
};

export type VersionDeprecationConfig = InferFields<typeof fields> & { failure_policy: 'fail_open' | 'fail_closed' };
export type VersionConfig = VersionDeprecationConfig['versions'][number];

/** Epoch ms of an RFC 3339 instant within years 1970..9999 (so it can be sent as an HTTP-date), else undefined. */
export function parseInstant(text: string | null | undefined): number | undefined {
  if (typeof text !== 'string') return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0 || ms >= Date.UTC(10000, 0, 1)) return undefined;
  return ms;
}

type Violation = [string, string] | undefined;
type Check = (config: VersionDeprecationConfig) => Violation;

function eachVersion(config: VersionDeprecationConfig, visit: (version: VersionConfig, at: string) => Violation): Violation {
  for (const [i, version] of (config.versions ?? []).entries()) {
    const violation = visit(version, `versions[${i}]`);
    if (violation) return violation;
  }
  return undefined;
}

const uniqueNames: Check = (config) => {
  const seen = new Map<string, string>();
  return eachVersion(config, (version, at) => {
    for (const [i, token] of [version.name, ...(version.aliases ?? [])].entries()) {
      const key = token.toLowerCase();
      const where = i === 0 ? `${at}.name` : `${at}.aliases`;
      const previous = seen.get(key);
      if (previous) return [where, `"${token}" is already used by version "${previous}" (names and aliases must be unique, case-insensitively)`];
      seen.set(key, version.name);
    }
    return undefined;
  });
};

const datesParse: Check = (config) =>
  eachVersion(config, (version, at) => {
    for (const key of ['deprecated_at', 'sunset_at'] as const) {
      const value = version[key];
      if (value !== null && value !== undefined && parseInstant(value) === undefined) return [`${at}.${key}`, `"${value}" is not a date between 1970 and 9999`];
    }
    for (const [i, window] of (version.brownouts ?? []).entries()) {
      for (const key of ['start', 'end'] as const) {
        if (parseInstant(window[key]) === undefined) return [`${at}.brownouts[${i}].${key}`, `"${window[key]}" is not a date between 1970 and 9999`];
      }
    }
    return undefined;
  });

const sunsetAfterDeprecation: Check = (config) =>
  eachVersion(config, (version, at) => {
    const deprecated = parseInstant(version.deprecated_at);
    const sunset = parseInstant(version.sunset_at);
    if (sunset === undefined) return undefined;
    if (deprecated === undefined) return [`${at}.sunset_at`, 'a sunset needs deprecated_at (RFC 9745: Sunset must not be earlier than Deprecation)'];
    if (sunset < deprecated) return [`${at}.sunset_at`, `sunset ${version.sunset_at} precedes deprecated_at ${version.deprecated_at}`];
    return undefined;
  });

const successorKnown: Check = (config) => {
  const names = new Set((config.versions ?? []).map((v) => v.name.toLowerCase()));
  return eachVersion(config, (version, at) => {
    if (!version.successor) return undefined;
    if (!names.has(version.successor.toLowerCase())) return [`${at}.successor`, `"${version.successor}" is not a configured version (known: ${[...(config.versions ?? [])].map((v) => v.name).join(', ')})`];
    if (version.successor.toLowerCase() === version.name.toLowerCase()) return [`${at}.successor`, 'a version cannot succeed itself'];
    return undefined;
  });
};

const brownoutsInsideDeprecation: Check = (config) =>
  eachVersion(config, (version, at) => {
    const deprecated = parseInstant(version.deprecated_at);
    const sunset = parseInstant(version.sunset_at);
    for (const [i, window] of (version.brownouts ?? []).entries()) {
      const where = `${at}.brownouts[${i}]`;
      const start = parseInstant(window.start);
      const end = parseInstant(window.end);
      if (start === undefined || end === undefined) continue; // reported by datesParse
      if (!(start < end)) return [`${where}.end`, 'must be later than start'];
      if (deprecated === undefined) return [where, 'brownouts need deprecated_at'];
      if (start < deprecated) return [`${where}.start`, `precedes deprecated_at ${version.deprecated_at}`];
      if (sunset !== undefined && end > sunset) return [`${where}.end`, `is later than sunset_at ${version.sunset_at}`];
    }
    return undefined;
  });

const defaultVersionKnown: Check = (config) => {
  if (!config.default_version) return undefined;
  const tokens = new Set((config.versions ?? []).flatMap((v) => [v.name, ...(v.aliases ?? [])]).map((t) => t.toLowerCase()));
  if (!tokens.has(config.default_version.toLowerCase())) return ['default_version', `"${config.default_version}" is not a configured version`];
  return undefined;
};

const patternCompiles: Check = (config) => {
  const reason = operatorPatternReason(config.path_version_pattern);
  return reason ? ['path_version_pattern', reason] : undefined;
};

/** A prefix is joined verbatim: it may not hold empty, "." or ".." segments (upstream would resolve them). */
const prefixesClean: Check = (config) =>
  eachVersion(config, (version, at) => {
    const prefix = version.upstream_path_prefix;
    if (typeof prefix !== 'string' || prefix === '/') return undefined;
    const segments = (prefix.endsWith('/') ? prefix.slice(0, -1) : prefix).split('/').slice(1);
    for (const seg of segments) {
      const decoded = seg.replace(/%2e/gi, '.');
      if (seg === '') return [`${at}.upstream_path_prefix`, 'must not contain "//"'];
      if (decoded === '.' || decoded === '..' || /%2f|%5c|\\/i.test(seg)) return [`${at}.upstream_path_prefix`, 'must not contain "." or ".." segments or encoded separators'];
    }
    return undefined;
  });

const sourcesUnique: Check = (config) => {
  const sources = config.sources ?? [];
  return new Set(sources).size === sources.length ? undefined : ['sources', 'each source may appear once'];
};

// dates first: the later checks assume parseable dates
export const checks: Check[] = [uniqueNames, datesParse, sunsetAfterDeprecation, successorKnown, brownoutsInsideDeprecation, defaultVersionKnown, patternCompiles, sourcesUnique, prefixesClean];
