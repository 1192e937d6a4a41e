import type { Problem as BaseProblem } from '../../shared/pdk';
import { formatHttpDate } from './headers';

/** RFC 9457 problem details for the answers this plugin gives itself. Pure. */
export type ProblemCode = 'unsupported-api-version' | 'api-version-required' | 'api-version-sunset' | 'api-version-brownout';

export interface Problem extends BaseProblem {
  detail: string;
  /** Stable machine-readable code (also the last segment of `type` when a problem_type_base is configured). */
  code: ProblemCode;
  [extension: string]: unknown;
}

const TITLES: Record<ProblemCode, string> = {
  'unsupported-api-version': 'Unsupported API version',
  'api-version-required': 'API version required',
  'api-version-sunset': 'API version gone',
  'api-version-brownout': 'API version temporarily unavailable (deprecation brownout)',
};

export class ProblemFactory {
  /** @param typeBase base URI for `type`; undefined: "about:blank" (then the title is the HTTP reason phrase). */
  constructor(private readonly typeBase?: string) {}

  private base(code: ProblemCode, status: number, detail: string): Problem {
    if (!this.typeBase) return { type: 'about:blank', title: status === 400 ? 'Bad Request' : 'Gone', status, detail, code };
    return { type: this.typeBase + code, title: TITLES[code], status, detail, code };
  }

  unsupported(requested: string, source: string, supported: readonly string[]): Problem {
    return {
      ...this.base('unsupported-api-version', 400, `API version "${requested}" (from the ${source}) is not supported; use one of: ${supported.join(', ')}.`),
      requested_version: requested,
      supported_versions: [...supported],
    };
  }

  required(supported: readonly string[], hint: string): Problem {
    return {
      ...this.base('api-version-required', 400, `This API needs a version (${hint}); use one of: ${supported.join(', ')}.`),
      supported_versions: [...supported],
    };
  }

  sunset(version: string, sunsetAt: number | undefined, successor?: string, successorUrl?: string): Problem {
    const when = sunsetAt === undefined ? '' : ` on ${formatHttpDate(sunsetAt)}`;
    const next = successor ? ` Use ${successor} instead${successorUrl ? ` (${successorUrl})` : ''}.` : '';
    return withSuccessor({ ...this.base('api-version-sunset', 410, `API version ${version} was retired${when}.${next}`), version, sunset: sunsetAt === undefined ? undefined : formatHttpDate(sunsetAt) }, successor, successorUrl);
  }

  brownout(version: string, windowEnd: number, sunsetAt: number | undefined, successor?: string, successorUrl?: string): Problem {
    const retire = sunsetAt === undefined ? 'is deprecated' : `will be retired on ${formatHttpDate(sunsetAt)}`;
    const next = successor ? ` Migrate to ${successor}${successorUrl ? ` (${successorUrl})` : ''}.` : '';
    return withSuccessor(
      {
        ...this.base('api-version-brownout', 410, `API version ${version} ${retire}; it is unavailable until ${formatHttpDate(windowEnd)} as a scheduled brownout.${next}`),
        version,
        brownout_ends: formatHttpDate(windowEnd),
        sunset: sunsetAt === undefined ? undefined : formatHttpDate(sunsetAt),
      },
      successor,
      successorUrl,
    );
  }
}

function withSuccessor(problem: Problem, successor?: string, successorUrl?: string): Problem {
  if (successor) problem.successor = successor;
  if (successorUrl) problem.successor_link = successorUrl;
  if (problem.sunset === undefined) delete problem.sunset;
  return problem;
}
