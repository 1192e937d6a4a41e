import fs from 'node:fs';
import path from 'node:path';
import { CONFIGURABLE_TYPE, PROBLEMS } from '../../shared/problems';

/** The README's problem table is what users rely on: it must list exactly the catalogue. */
const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
const rows = new Map(
  [...readme.matchAll(/^\| `([a-z0-9-]+)` \| ([a-z-]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => [m[1], { plugin: m[2], status: m[3].trim(), type: m[4].trim(), title: m[5].trim() }]),
);

describe('problem catalogue', () => {
  it.each(Object.values(PROBLEMS).map((p) => [p.code, p] as const))('%s is documented in the README with its plugin, status, type and title', (code, entry) => {
    const row = rows.get(code);
    expect(row).toBeDefined();
    expect(row?.plugin).toBe(entry.plugin);
    expect(row?.status.startsWith(entry.status === 'configured' ? '`' : String(entry.status))).toBe(true);
    expect(row?.type).toBe(entry.type === CONFIGURABLE_TYPE ? '`problem_type_base` + code, else `about:blank`' : `\`${entry.type}\``);
    expect(row?.title.startsWith(entry.title)).toBe(true);
  });

  it('codes are unique and every row of the README table is in the catalogue', () => {
    const codes = Object.values(PROBLEMS).map((p) => p.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...rows.keys()].filter((code) => !codes.includes(code))).toEqual([]);
  });

  it('bodies carry type, title, status, detail and code first, and leave unset members out', () => {
    const p = PROBLEMS.apiVersionSunset.create('gone', { version: 'v1', sunset: undefined }, {});
    expect(Object.keys(p)).toEqual(['type', 'title', 'status', 'detail', 'code', 'version']);
    expect(p).toMatchObject({ type: 'about:blank', title: 'Gone', status: 410 });
    expect(PROBLEMS.apiVersionSunset.create('gone', { version: 'v1' }, { typeBase: 'https://p.example/' })).toMatchObject({ type: 'https://p.example/api-version-sunset', title: 'API version gone' });
    expect(PROBLEMS.responseBlocked.create('x', { reason: 'pii' }, { status: 451 })).toMatchObject({ status: 451, type: 'urn:kong-plugins:pii-masking:response-blocked' });
  });
});
