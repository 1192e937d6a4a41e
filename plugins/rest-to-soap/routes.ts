import type { Operation } from './wsdl/operations';
import type { ComplexShape, ElementShape } from './xsd/shapes';

export interface MappingConfig {
  operation: string;
  method: string;
  path: string;
  query_params?: string[] | null;
}

type Segment = { literal: string } | { param: string };

interface Route {
  method: string;
  segments: Segment[];
  operation: Operation;
  queryParams: string[];
  /** The template as configured, for Allow/OpenAPI. */
  template: string;
}

export type RouteMatch =
  | { kind: 'operation'; operation: Operation; params: Record<string, string>; queryParams: string[] }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/**
 * Which operation a REST request means. Every operation is `POST <prefix>/<OperationName>` unless
 * `default_routes` is off; each mapping adds `METHOD <prefix><template>` with `{name}` segments filling request
 * fields. `<prefix>` is `base_path` when configured (the path must then be exactly prefix + template), else
 * anything before the template (the route's own path): templates match the end of the path, segment by segment.
 * Literal segments beat parameters; mappings are tried before the defaults. Compiled once per config.
 */
export class RouteTable {
  readonly routes: Route[] = [];
  private readonly basePath: string[] | undefined;

  constructor(operations: Map<string, Operation>, mappings: MappingConfig[], defaults: boolean, basePath?: string) {
    this.basePath = basePath ? splitPath(basePath) : undefined;
    for (const m of mappings) {
      const operation = operations.get(m.operation) as Operation;
      this.routes.push({ method: m.method, segments: template(m.path), operation, queryParams: m.query_params ?? [], template: m.path });
    }
    this.routes.sort(specificity);
    if (defaults) for (const operation of operations.values()) this.routes.push({ method: 'POST', segments: [{ literal: operation.name }], operation, queryParams: [], template: `/${operation.name}` });
  }

  match(method: string, path: string): RouteMatch {
    let segments = splitPath(path);
    if (this.basePath) {
      if (segments.length < this.basePath.length || this.basePath.some((s, i) => s !== segments[i])) return { kind: 'not-found' };
      segments = segments.slice(this.basePath.length);
    }
    const allow = new Set<string>();
    for (const route of this.routes) {
      const params = this.matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method !== method) {
        allow.add(route.method);
        continue;
      }
      return { kind: 'operation', operation: route.operation, params, queryParams: route.queryParams };
    }
    return allow.size ? { kind: 'method-not-allowed', allow: [...allow].sort() } : { kind: 'not-found' };
  }

  private matchSegments(template: Segment[], segments: string[]): Record<string, string> | undefined {
    if (this.basePath ? segments.length !== template.length : segments.length < template.length) return undefined;
    const offset = segments.length - template.length;
    const params: Record<string, string> = {};
    for (let i = 0; i < template.length; i++) {
      const t = template[i];
      const s = segments[offset + i];
      if ('literal' in t) {
        if (t.literal !== s) return undefined;
      } else params[t.param] = s;
    }
    return params;
  }
}

/**
 * Templates match the end of the path, so specificity is read from the last segment backwards: a literal beats a
 * parameter at the first position where they differ (GET /capital before GET /countries/{code} for
 * /countries/capital), then the longer template wins.
 */
function specificity(a: Route, b: Route): number {
  for (let i = 1; i <= Math.min(a.segments.length, b.segments.length); i++) {
    const la = 'literal' in a.segments[a.segments.length - i];
    const lb = 'literal' in b.segments[b.segments.length - i];
    if (la !== lb) return la ? -1 : 1;
  }
  return b.segments.length - a.segments.length;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export function template(path: string): Segment[] {
  return splitPath(path).map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s }));
}

/** The template's parameter names. */
export function templateParams(path: string): string[] {
  return template(path).flatMap((s) => ('param' in s ? [s.param] : []));
}

/**
 * A path or query string value as the JSON value the field's XSD type wants ("42" -> 42 for xs:int, "true" ->
 * true), so that path and query parameters validate like body fields; a repeated query parameter of a maxOccurs > 1
 * field is an array. Values that do not convert stay strings and fail validation with the field named.
 */
export function coerceParam(body: ComplexShape, name: string, values: string[]): unknown {
  const particle: ElementShape | undefined = body.byKey.get(name);
  const one = (v: string): unknown => {
    if (!particle || particle.type.kind !== 'simple') return v;
    const kind = particle.type.value;
    if (kind === 'boolean') return v === 'true' ? true : v === 'false' ? false : v;
    if (kind === 'integer' || kind === 'number' || kind === 'decimal') {
      if (v.trim() === '') return v;
      const n = Number(v);
      if (!Number.isFinite(n)) return v;
      if (kind === 'integer' && !Number.isSafeInteger(n)) return v; // big integers travel as digit strings
      return n;
    }
    return v;
  };
  if (particle && particle.max > 1) return values.map(one);
  return one(values[values.length - 1]);
}
