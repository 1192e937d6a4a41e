import { spawnSync } from 'node:child_process';
import { luaPatternFind } from '../../../devkit/emulator/lua-pattern';

/**
 * Kong's match/not_match/match_* validators run Lua patterns (`value:match(pattern)`). Expected results were
 * produced by LuaJIT 2.1 (`string.find(subject, pattern) ~= nil`); when luajit is installed (.ci/run installs it)
 * the table itself is re-checked against it, so it cannot drift from real Lua.
 */
const CASES: Array<[string, string, boolean]> = [
  ["abc", "^a", true],
  ["abc", "^b", false],
  ["abc", "c$", true],
  ["abc", "^abc$", true],
  ["abcd", "^abc$", false],
  ["hello world", "%s", true],
  ["helloworld", "%s", false],
  ["a1", "^%a%d$", true],
  ["1a", "^%a%d$", false],
  ["/api/v1", "^/[%w%-_/]*$", true],
  ["/api v1", "^/[%w%-_/]*$", false],
  ["x-y", "^[^%-]+$", false],
  ["xy", "^[^%-]+$", true],
  ["aaa", "^a-$", true],
  ["aaab", "^a-b$", true],
  ["", "^a*$", true],
  ["b", "^a?b$", true],
  ["ab", "^a?b$", true],
  ["aab", "^a?b$", false],
  ["key=value", "^(%w+)=(%w+)$", true],
  ["key==value", "^(%w+)=(%w+)$", false],
  ["abab", "^(ab)%1$", true],
  ["abac", "^(ab)%1$", false],
  ["f(a(b)c)", "%b()", true],
  ["f(a(b c", "^f%b()$", false],
  ["THE (quick) fox", "%f[%a]%a+", true],
  ["123", "%f[%a]%a+", false],
  ["a.b", "^a%.b$", true],
  ["axb", "^a%.b$", false],
  ["axb", "^a.b$", true],
  ["Z", "[a-z]", false],
  ["z", "[a-z]", true],
  ["_", "[%w_]", true],
  ["ABC", "^%u+$", true],
  ["AbC", "^%u+$", false],
  ["ff09", "^%x+$", true],
  ["fg", "^%x+$", false],
  ["!?", "^%p+$", true],
  ["\t", "^%c$", true],
  ["a]b", "[]]", true],
  ["ab", "[]]", false],
  ["a^b", "[%^]", true],
  ["2024-01-31", "^%d%d%d%d%-%d%d%-%d%d$", true],
  ["2024-1-31", "^%d%d%d%d%-%d%d%-%d%d$", false],
  ["http://x", "^https?://", true],
  ["ftp://x", "^https?://", false],
  ["a+b", "a+b", false],
  ["aab", "a+b", true],
  ["xyz", "[^xyz]", false],
  ["xyzw", "[^xyz]", true],
];

describe('Lua patterns (Kong schema validators)', () => {
  it.each(CASES)('find(%j, %j) is %s', (subject, pattern, expected) => {
    expect(luaPatternFind(subject, pattern)).toBe(expected);
  });

  const luajit = spawnSync('luajit', ['-v'], { encoding: 'utf8' });
  (luajit.status === 0 ? it : it.skip)('the expected results are what LuaJIT answers', () => {
    const lua = CASES.map(([s, p]) => `print(string.find(${JSON.stringify(s)}, ${JSON.stringify(p)}) ~= nil)`).join('\n');
    const run = spawnSync('luajit', ['-'], { input: lua, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toEqual(CASES.map(([, , expected]) => String(expected)));
  });
});
