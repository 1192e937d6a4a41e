import { PROBLEMS, type Problem } from '../../shared/problems';
import { formatHttpDate } from './headers';

/**
 * The bodies of this plugin's 400/410 answers, from the suite's problem catalogue (shared/problems). Pure. The
 * type is `problem_type_base` + code when configured, else about:blank (title: the HTTP reason phrase); the `code`
 * member identifies the problem either way.
 */
export interface ProblemSettings {
  /** problem_type_base; undefined: about:blank. */
  typeBase?: string;
}

export function unsupportedVersion(settings: ProblemSettings, requested: string, source: string, supported: readonly string[]): Problem {
  const detail = `API version "${requested}" (from the ${source}) is not supported; use one of: ${supported.join(', ')}.`;
  return PROBLEMS.unsupportedApiVersion.create(detail, { requested_version: requested, supported_versions: [...supported] }, settings);
}

export function versionConflict(settings: ProblemSettings, named: ReadonlyArray<{ source: string; version: string }>): Problem {
  const list = named.map((n) => `${n.version} (${n.source})`).join(', ');
  return PROBLEMS.apiVersionConflict.create(`The request names more than one API version: ${list}; name one.`, { versions: named.map((n) => ({ ...n })) }, settings);
}

export function invalidVersionPath(settings: ProblemSettings): Problem {
  return PROBLEMS.invalidVersionPath.create('The request path cannot be routed under the version\'s upstream path (an encoded separator or dot segment).', {}, settings);
}

export function versionRequired(settings: ProblemSettings, supported: readonly string[], hint: string): Problem {
  return PROBLEMS.apiVersionRequired.create(`This API needs a version (${hint}); use one of: ${supported.join(', ')}.`, { supported_versions: [...supported] }, settings);
}

export function versionSunset(settings: ProblemSettings, version: string, sunsetAt: number | undefined, successor?: string, successorUrl?: string): Problem {
  const when = sunsetAt === undefined ? '' : ` on ${formatHttpDate(sunsetAt)}`;
  const next = successor ? ` Use ${successor} instead${successorUrl ? ` (${successorUrl})` : ''}.` : '';
  return PROBLEMS.apiVersionSunset.create(`API version ${version} was retired${when}.${next}`, { version, sunset: httpDate(sunsetAt), ...successorMembers(successor, successorUrl) }, settings);
}

export function versionBrownout(settings: ProblemSettings, version: string, windowEnd: number, sunsetAt: number | undefined, successor?: string, successorUrl?: string): Problem {
  const retire = sunsetAt === undefined ? 'is deprecated' : `will be retired on ${formatHttpDate(sunsetAt)}`;
  const next = successor ? ` Migrate to ${successor}${successorUrl ? ` (${successorUrl})` : ''}.` : '';
  const detail = `API version ${version} ${retire}; it is unavailable until ${formatHttpDate(windowEnd)} as a scheduled brownout.${next}`;
  return PROBLEMS.apiVersionBrownout.create(detail, { version, brownout_ends: formatHttpDate(windowEnd), sunset: httpDate(sunsetAt), ...successorMembers(successor, successorUrl) }, settings);
}

function httpDate(at: number | undefined): string | undefined {
  return at === undefined ? undefined : formatHttpDate(at);
}

function successorMembers(successor?: string, successorUrl?: string): { successor?: string; successor_link?: string } {
  return { successor: successor || undefined, successor_link: successorUrl || undefined };
}
