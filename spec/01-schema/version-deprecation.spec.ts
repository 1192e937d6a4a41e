import { ConfigError } from '../../shared/schema';
import { Schema, schema } from '../../plugins/version-deprecation';

const v1 = { name: 'v1', deprecated_at: '2025-01-01T00:00:00Z', sunset_at: '2027-06-30T00:00:00Z', successor: 'v2' };
const v2 = { name: 'v2', aliases: ['2'], documentation_url: 'https://docs.example.com/v2' };

function problemsOf(config: Record<string, unknown>): string[] {
  try {
    schema.parse(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('version-deprecation schema', () => {
  it('accepts a full config and fills defaults', () => {
    const { config } = schema.parse({
      versions: [{ ...v1, brownouts: [{ start: '2026-03-01T10:00:00Z', end: '2026-03-01T11:00:00Z' }], upstream_path_prefix: '/' }, v2],
      default_version: '2',
      route_id: 'r1',
      __plugin_id: 'p1',
    });
    expect(config).toMatchObject({
      sources: ['header', 'path', 'query', 'accept'],
      header_name: 'X-API-Version',
      query_param: 'api-version',
      path_segment: 1,
      accept_param: 'version',
      after_sunset: 'reject',
      consumer_metrics: 'scheduled',
      max_consumers: 1000,
      log_interval_seconds: 3600,
      failure_policy: 'fail_open',
    });
  });

  it('describes every field for Kong', () => {
    const missing: string[] = [];
    const walk = (fields: Array<Record<string, any>>, at: string) => {
      for (const entry of fields) {
        const [name, def] = Object.entries(entry)[0];
        if (!def.description) missing.push(`${at}.${name}`);
        if (def.type === 'array' && def.elements.type === 'record') walk(def.elements.fields, `${at}.${name}[]`);
      }
    };
    walk(Schema as Array<Record<string, any>>, 'config');
    expect(missing).toEqual([]);
  });

  it('rejects a sunset that precedes the deprecation, naming the field', () => {
    expect(problemsOf({ versions: [{ ...v1, sunset_at: '2024-12-31T23:59:59Z' }, v2] })).toEqual([
      'config.versions[0].sunset_at: sunset 2024-12-31T23:59:59Z precedes deprecated_at 2025-01-01T00:00:00Z',
    ]);
  });

  it('rejects a sunset without a deprecation date', () => {
    expect(problemsOf({ versions: [{ name: 'v1', sunset_at: '2027-01-01T00:00:00Z' }] })).toEqual([
      expect.stringMatching(/^config\.versions\[0\]\.sunset_at: a sunset needs deprecated_at/),
    ]);
  });

  it('rejects a successor that is not a configured version', () => {
    expect(problemsOf({ versions: [{ ...v1, successor: 'v3' }, v2] })).toEqual(['config.versions[0].successor: "v3" is not a configured version (known: v1, v2)']);
    expect(problemsOf({ versions: [{ ...v1, successor: 'V1' }, v2] })).toEqual(['config.versions[0].successor: a version cannot succeed itself']);
  });

  it('rejects dates that do not parse', () => {
    expect(problemsOf({ versions: [{ ...v1, deprecated_at: 'next tuesday' }, v2] })).toContainEqual(expect.stringMatching(/^config\.versions\[0\]\.deprecated_at: must match format "date-time"/));
    expect(problemsOf({ versions: [{ ...v1, sunset_at: '2027-02-30T00:00:00Z' }, v2] })).toContainEqual(expect.stringMatching(/^config\.versions\[0\]\.sunset_at: /));
    // RFC 3339-valid, but not representable as an IMF-fixdate
    expect(problemsOf({ versions: [{ ...v1, deprecated_at: '1969-12-31T00:00:00Z' }, v2] })).toContainEqual(
      'config.versions[0].deprecated_at: "1969-12-31T00:00:00Z" is not a date between 1970 and 9999',
    );
    expect(problemsOf({ versions: [{ ...v1, brownouts: [{ start: 'soon', end: '2026-01-01T00:00:00Z' }] }, v2] })).toContainEqual(
      expect.stringMatching(/^config\.versions\[0\]\.brownouts\[0\]\.start: must match format "date-time"/),
    );
  });

  it('rejects duplicate version names and aliases, case-insensitively', () => {
    expect(problemsOf({ versions: [v1, v2, { name: 'V1' }] })).toEqual(['config.versions[2].name: "V1" is already used by version "v1" (names and aliases must be unique, case-insensitively)']);
    expect(problemsOf({ versions: [{ ...v1, aliases: ['2'] }, v2] })).toEqual(['config.versions[1].aliases: "2" is already used by version "v1" (names and aliases must be unique, case-insensitively)']);
  });

  it('rejects brownouts outside the deprecation period or inverted', () => {
    const at = (start: string, end: string) => problemsOf({ versions: [{ ...v1, brownouts: [{ start, end }] }, v2] });
    expect(at('2024-06-01T00:00:00Z', '2024-06-02T00:00:00Z')).toEqual(['config.versions[0].brownouts[0].start: precedes deprecated_at 2025-01-01T00:00:00Z']);
    expect(at('2027-06-29T00:00:00Z', '2027-07-01T00:00:00Z')).toEqual(['config.versions[0].brownouts[0].end: is later than sunset_at 2027-06-30T00:00:00Z']);
    expect(at('2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z')).toEqual(['config.versions[0].brownouts[0].end: must be later than start']);
    expect(problemsOf({ versions: [{ name: 'v1', brownouts: [{ start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }] }] })).toEqual([
      'config.versions[0].brownouts[0]: brownouts need deprecated_at',
    ]);
  });

  it('rejects upstream path prefixes holding "//", dot segments or encoded separators', () => {
    for (const prefix of ['/api//v2', '/api/../admin', '/api/./x', '/api/%2e%2e/x', '/api%2Fx']) {
      expect([prefix, problemsOf({ versions: [v1, { ...v2, upstream_path_prefix: prefix }] })]).toEqual([prefix, [expect.stringMatching(/^config\.versions\[1\]\.upstream_path_prefix: must not contain/)]]);
    }
    for (const prefix of ['/', '/api/2.0', '/api/2.0/', '/a..b']) expect(() => schema.parse({ versions: [v1, { ...v2, upstream_path_prefix: prefix }] })).not.toThrow();
    expect(schema.parse({ versions: [v1, v2] }).config.on_conflict).toBe('reject');
  });

  it('rejects an unknown default version, a bad pattern, repeated sources and bad field values', () => {
    expect(problemsOf({ versions: [v1, v2], default_version: 'v9' })).toEqual(['config.default_version: "v9" is not a configured version']);
    expect(problemsOf({ versions: [v1, v2], path_version_pattern: '^v(' })).toEqual([expect.stringMatching(/^config\.path_version_pattern: not a pattern RE2 accepts/)]);
    expect(problemsOf({ versions: [v1, v2], path_version_pattern: '^v(?=[0-9])' })).toEqual([expect.stringMatching(/^config\.path_version_pattern: lookahead\/lookbehind is not supported/)]);
    expect(problemsOf({ versions: [v1, v2], path_version_pattern: '^(v)\\1$' })).toEqual([expect.stringMatching(/^config\.path_version_pattern: backreferences are not supported/)]);
    // linear on RE2: accepted
    expect(() => schema.parse({ versions: [v1, v2], path_version_pattern: '^v([0-9]+)+$' })).not.toThrow();
    expect(problemsOf({ versions: [v1, v2], sources: ['path', 'path'] })).toEqual(['config.sources: each source may appear once']);
    expect(problemsOf({ versions: [v1, v2], sources: ['cookie'] })).toContainEqual(expect.stringMatching(/^config\.sources\[0\]: must be one of: header, path, query, accept/));
    expect(problemsOf({ versions: [{ ...v2, name: 'v 2' }] })).toContainEqual(expect.stringMatching(/^config\.versions\[0\]\.name: must match pattern/));
    expect(problemsOf({ versions: [{ ...v2, upstream_path_prefix: 'api' }] })).toContainEqual(expect.stringMatching(/^config\.versions\[0\]\.upstream_path_prefix: must match pattern/));
    expect(problemsOf({ versions: [] })).toContainEqual(expect.stringMatching(/^config\.versions: must NOT have fewer than 1 items/));
    expect(problemsOf({ versions: [{ ...v2, documentation_url: 'not a uri' }] })).toContainEqual(expect.stringMatching(/^config\.versions\[0\]\.documentation_url: must match format "uri"/));
  });
});
