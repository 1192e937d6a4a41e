import { VersionCatalog } from '../../../plugins/version-deprecation/catalog';
import { acceptParameter, joinUnderPrefix, pathAfterSegments, pathSegment, queryValue, VersionResolver, type ResolverOptions, type RequestSnapshot } from '../../../plugins/version-deprecation/resolver';
import { schema } from '../../../plugins/version-deprecation';
import type { VersionDeprecationConfig } from '../../../plugins/version-deprecation/schema';
import { OperatorPattern } from '../../../shared/safety/operator-pattern';

function catalog(): VersionCatalog {
  const { config } = schema.parse({
    versions: [
      { name: 'v1', aliases: ['1', '1.0'], deprecated_at: '2026-01-01T00:00:00Z', sunset_at: '2027-06-30T00:00:00Z', successor: 'v2', upstream_path_prefix: '/' },
      { name: 'v2', aliases: ['2'], documentation_url: 'https://docs.example.com/v2', upstream_path_prefix: '/api/2.0/' },
    ],
  });
  return new VersionCatalog(config as VersionDeprecationConfig);
}

const base: ResolverOptions = {
  sources: ['header', 'path', 'query', 'accept'],
  headerName: 'X-API-Version',
  queryParam: 'api-version',
  pathSegment: 1,
  pathVersionPattern: OperatorPattern.compile('^v[0-9]+([.][0-9]+)?([.][0-9]+)?$'),
  acceptParam: 'version',
};

function resolver(options: Partial<ResolverOptions> = {}) {
  return new VersionResolver(catalog(), { ...base, ...options });
}

/** Resolves like the handler: fills the snapshot on demand and records what it had to read. */
function run(r: VersionResolver, request: { headers?: Record<string, string[]>; path?: string }) {
  const snapshot: RequestSnapshot = {};
  const reads: string[] = [];
  let result = r.resolve(snapshot);
  for (let i = 0; result.kind === 'need' && i < 3; i++) {
    reads.push(result.what);
    if (result.what === 'headers') snapshot.headers = request.headers ?? {};
    else {
      const full = request.path ?? '/';
      const q = full.indexOf('?');
      snapshot.path = q < 0 ? full : full.slice(0, q);
      snapshot.rawQuery = q < 0 ? '' : full.slice(q + 1);
    }
    result = r.resolve(snapshot);
  }
  const summary =
    result.kind === 'conflict'
      ? `conflict ${result.named.map((n) => `${n.version}@${n.source}`).join(' ')}`
      : result.kind === 'found' ? `found ${result.version.name} from ${result.source}` : result.kind === 'unknown' ? `unknown "${result.token}" from ${result.source}` : result.kind === 'default' ? `default ${result.version.name}` : result.kind;
  return { summary, reads };
}

describe('VersionResolver', () => {
  it('reads each source, matching names and aliases case-insensitively', () => {
    const r = resolver();
    expect(run(r, { headers: { 'x-api-version': ['V2'] }, path: '/things' }).summary).toBe('found v2 from header');
    expect(run(r, { headers: {}, path: '/v1/things' }).summary).toBe('found v1 from path');
    expect(run(r, { headers: {}, path: '/things?a=1&api-version=1.0' }).summary).toBe('found v1 from query');
    expect(run(r, { headers: { accept: ['application/vnd.acme+json; version=2'] }, path: '/things' }).summary).toBe('found v2 from accept');
  });

  it('applies the configured precedence: the first source carrying a value wins', () => {
    const request = { headers: { 'x-api-version': ['v1'], accept: ['application/json;version=2'] }, path: '/v2/things?api-version=1' };
    expect(run(resolver(), request).summary).toBe('found v1 from header');
    expect(run(resolver({ sources: ['path', 'header'] }), request).summary).toBe('found v2 from path');
    expect(run(resolver({ sources: ['accept', 'query'] }), request).summary).toBe('found v2 from accept');
    expect(run(resolver({ sources: ['query', 'accept'] }), request).summary).toBe('found v1 from query');
  });

  it('on_conflict reject: reads every source and reports two different versions as a conflict', () => {
    const r = resolver({ onConflict: 'reject' });
    expect(run(r, { headers: { 'x-api-version': ['2'] }, path: '/v1/things' })).toEqual({ summary: 'conflict v2@header v1@path', reads: ['headers', 'path'] });
    expect(run(r, { headers: {}, path: '/v2/x?api-version=9' }).summary).toBe('conflict v2@path 9@query');
    // the same version through an alias, or sources carrying nothing, are no conflict
    expect(run(r, { headers: { 'x-api-version': ['2'], accept: ['application/json;version=v2'] }, path: '/v2/x?api-version=2' }).summary).toBe('found v2 from header');
    expect(run(r, { headers: { 'x-api-version': ['1'] }, path: '/users/x' }).summary).toBe('found v1 from header');
    expect(run(r, { headers: { 'x-api-version': ['1'] }, path: '/users/x' }).reads).toEqual(['headers', 'path']);
  });

  it('reads only what the sources in order need', () => {
    expect(run(resolver({ sources: ['path', 'header'] }), { path: '/v1/x' }).reads).toEqual(['path']);
    expect(run(resolver({ sources: ['path', 'header'] }), { path: '/x' }).reads).toEqual(['path', 'headers']);
    expect(run(resolver({ sources: ['header', 'accept'] }), { headers: {} }).reads).toEqual(['headers']);
    expect(run(resolver({ sources: ['header', 'query'] }), { headers: { 'x-api-version': ['2'] } }).reads).toEqual(['headers']);
  });

  it('reports an unknown version from the first source carrying one', () => {
    expect(run(resolver(), { headers: { 'x-api-version': ['v9'] }, path: '/v1/x' }).summary).toBe('unknown "v9" from header');
    expect(run(resolver(), { headers: {}, path: '/v3/x' }).summary).toBe('unknown "v3" from path');
    // a first segment that does not look like a version is not a version at all
    expect(run(resolver(), { headers: {}, path: '/users/x' }).summary).toBe('missing');
    expect(run(resolver(), { headers: { 'x-api-version': ['x'.repeat(500)] } }).summary).toBe(`unknown "${'x'.repeat(64)}..." from header`);
  });

  it('falls back to the default version, else reports the version missing', () => {
    expect(run(resolver({ defaultVersion: '2' }), { headers: { 'x-api-version': ['  '] }, path: '/x' }).summary).toBe('default v2');
    expect(run(resolver(), { headers: {}, path: '/' }).summary).toBe('missing');
  });

  it('computes the upstream path: strip or replace the version segment', () => {
    const r = resolver({ pathSegment: 2 });
    expect(r.upstreamPath('', '/versioned/v1/anything/x')).toBe('/anything/x');
    expect(r.upstreamPath('/api/2.0', '/versioned/v2/anything')).toBe('/api/2.0/anything');
    expect(r.upstreamPath('/api/2.0', '/versioned/v2')).toBe('/api/2.0/');
    expect(r.upstreamPath('', '/versioned/v2/')).toBe('/');
    // version from a header: only the segments before the version position are dropped
    expect(r.upstreamPath('/api/2.0', '/versioned/anything')).toBe('/api/2.0/anything');
  });
});

describe('request parsing helpers', () => {
  it('joinUnderPrefix: one "/" between prefix and rest; never a dot segment or "//", plain or percent-encoded', () => {
    expect(joinUnderPrefix('/api/2.0/', '/x')).toBe('/api/2.0/x');
    expect(joinUnderPrefix('/api/2.0', '/x/')).toBe('/api/2.0/x/');
    expect(joinUnderPrefix('/', '/x')).toBe('/x');
    expect(joinUnderPrefix('/', '/')).toBe('/');
    for (const rest of ['/../admin', '/a/./b', '/a//b', '/..%2Fadmin', '/%2e%2e/admin', '/%2E./x', '/a%5c..%5cb', '/..\\admin']) {
      expect([rest, joinUnderPrefix('/api/1', rest)]).toEqual([rest, undefined]);
    }
    expect(joinUnderPrefix('/api/1', '/a..b/c.d')).toBe('/api/1/a..b/c.d');
  });

  it('pathSegment and pathAfterSegments', () => {
    expect(pathSegment('/a/b/c', 1)).toBe('a');
    expect(pathSegment('/a/b/c', 3)).toBe('c');
    expect(pathSegment('/a/b/', 3)).toBeUndefined();
    expect(pathSegment('/a', 2)).toBeUndefined();
    expect(pathAfterSegments('/a/b/c', 0)).toBe('/a/b/c');
    expect(pathAfterSegments('/a/b/c', 1)).toBe('/b/c');
    expect(pathAfterSegments('/a/b/c/', 2)).toBe('/c/');
    expect(pathAfterSegments('/a', 3)).toBe('/');
  });

  it('queryValue decodes form encoding and skips empty values', () => {
    expect(queryValue('api-version=&api-version=v%32', 'api-version')).toBe('v2');
    expect(queryValue('api%2Dversion=+v1+', 'api-version')).toBe('v1');
    expect(queryValue('flag&x=1', 'flag')).toBeUndefined();
    expect(queryValue('', 'x')).toBeUndefined();
  });

  it('acceptParameter follows RFC 9110 media ranges, quoted values and an optional media type', () => {
    expect(acceptParameter(['application/vnd.acme+json; version=2'], undefined, 'version')).toBe('2');
    expect(acceptParameter(['text/html;q=0.9, application/vnd.acme+json;VERSION="2.0";q=1'], undefined, 'version')).toBe('2.0');
    expect(acceptParameter(['application/json; version=1, application/vnd.acme+json; version=2'], 'application/vnd.acme+json', 'version')).toBe('2');
    expect(acceptParameter(['application/x; note="a,b;version=9"; version=3'], undefined, 'version')).toBe('3');
    expect(acceptParameter(['application/json', 'application/vnd.acme+json;version=1'], undefined, 'version')).toBe('1');
    expect(acceptParameter(['*/*'], undefined, 'version')).toBeUndefined();
  });
});
