import type { RouteEntity, ServiceEntity } from './request-context';

export interface RouteMatch {
  route: RouteEntity;
  service: ServiceEntity | undefined;
  /** The path the upstream receives (strip_path and the service path applied). */
  upstreamPath: string;
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
 * `~` regex paths; regex paths win over prefixes, longer prefixes over shorter ones.
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
    const remainder = compiled.route.strip_path !== false ? path.slice(matched.length) : path;
    return { route: compiled.route, service: compiled.service, upstreamPath: joinPaths(compiled.service?.path ?? '/', remainder) };
  }
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** path_handling "v0": service path and the rest joined with exactly one slash between them. */
export function joinPaths(servicePath: string, remainder: string): string {
  if (remainder === '' || remainder === '/') return remainder === '/' && !servicePath.endsWith('/') ? servicePath + '/' : servicePath;
  if (servicePath.endsWith('/') && remainder.startsWith('/')) return servicePath + remainder.slice(1);
  if (!servicePath.endsWith('/') && !remainder.startsWith('/')) return servicePath + '/' + remainder;
  return servicePath + remainder;
}
