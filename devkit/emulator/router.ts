import type { RouteEntity, ServiceEntity } from './request-context';
import { escapeUri } from './uri';

export interface RouteMatch {
  route: RouteEntity;
  service: ServiceEntity | undefined;
  /** The path the upstream receives (strip_path and the service path applied, escaped as Kong does). */
  upstreamPath: string;
  /** match_t.prefix: the matched path when strip_path is on (X-Forwarded-Prefix unless it is "/"). */
  prefix: string | undefined;
}

interface CompiledRoute {
  route: RouteEntity;
  service: ServiceEntity | undefined;
  prefixes: string[];
  regexes: RegExp[];
  methods: Set<string> | undefined;
  hosts: string[] | undefined;
}

/**
 * Kong's router for the subset kong.yml uses here: methods, hosts (with a leading wildcard), path prefixes and
 * `~` regex paths; regex paths win over prefixes, longer prefixes over shorter ones. `path` is the normalized path
 * (kong/router/utils.lua strip_uri_args normalizes request_uri before matching).
 */
export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: RouteEntity[], services: ServiceEntity[]) {
    const byId = new Map(services.map((s) => [s.id, s]));
    this.compiled = routes.map((route) => ({
      route,
      service: route.service ? byId.get(route.service.id) : undefined,
      prefixes: (route.paths ?? []).filter((p) => !p.startsWith('~')),
      regexes: (route.paths ?? []).filter((p) => p.startsWith('~')).map((p) => new RegExp(p.slice(1))),
      methods: route.methods ? new Set(route.methods.map((m) => m.toUpperCase())) : undefined,
      hosts: route.hosts?.map((h) => h.toLowerCase()),
    }));
  }

  match(method: string, host: string, path: string): RouteMatch | undefined {
    let best: { compiled: CompiledRoute; matched: string; score: number } | undefined;
    for (const compiled of this.compiled) {
      if (compiled.methods && !compiled.methods.has(method)) continue;
      if (compiled.hosts && !compiled.hosts.some((h) => hostMatches(h, host))) continue;
      let matched: string | undefined;
      let score = -1;
      for (const regex of compiled.regexes) {
        const m = regex.exec(path);
        if (m && m.index === 0) {
          matched = m[0];
          score = 1_000_000 + m[0].length;
          break;
        }
      }
      if (matched === undefined) {
        for (const prefix of compiled.prefixes) {
          if (path.startsWith(prefix) && prefix.length > score) {
            matched = prefix;
            score = prefix.length;
          }
        }
      }
      if (matched === undefined && compiled.prefixes.length === 0 && compiled.regexes.length === 0) {
        matched = '';
        score = 0;
      }
      if (matched === undefined) continue;
      if (compiled.hosts) score += 0.5;
      if (!best || score > best.score) best = { compiled, matched, score };
    }
    if (!best) return undefined;
    const { compiled, matched } = best;
    const stripPath = compiled.route.strip_path !== false;
    const prefix = stripPath ? matched : undefined;
    const postfix = sanitizePostfix(path.slice((prefix || '/').length));
    const upstreamPath = escapeUri(upstreamUriV0(stripPath, postfix, path, compiled.service?.path ?? '/'));
    return { route: compiled.route, service: compiled.service, upstreamPath, prefix };
  }
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** sanitize_uri_postfix (kong/router/utils.lua): a leading "./" or "../" of what is left after the prefix goes. */
function sanitizePostfix(postfix: string): string {
  if (postfix === '.' || postfix === '..') return '';
  if (postfix.startsWith('./')) return postfix.slice(2);
  if (postfix.startsWith('../')) return postfix.slice(3);
  return postfix;
}

/** get_upstream_uri_v0 (kong/router/utils.lua): path_handling "v0", case by case as Kong lists them. */
export function upstreamUriV0(stripPath: boolean, postfix: string, requestPath: string, base: string): string {
  if (base.endsWith('/')) {
    if (!stripPath) return base + requestPath.slice(1);
    if (postfix === '') return base === '/' ? '/' : requestPath.endsWith('/') ? base : base.slice(0, -1);
    return postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix;
  }
  if (stripPath) {
    if (postfix === '') return requestPath.length > 1 && requestPath.endsWith('/') ? base + '/' : base;
    return postfix.startsWith('/') ? base + postfix : base + '/' + postfix;
  }
  return requestPath === '/' ? base : base + requestPath;
}
