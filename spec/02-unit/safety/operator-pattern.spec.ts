import { MAX_PATTERN_LENGTH, OperatorPattern, OperatorPatternError, operatorPatternReason } from '../../../shared/safety/operator-pattern';

/** The patterns the attacker's run used: accepted by the old backtracking heuristic (regex-safety.ts, removed), catastrophic on V8. */
const CATASTROPHIC: Array<{ pattern: string; input: (n: number) => string }> = [
  { pattern: '(a*){12}$', input: (n) => 'a'.repeat(n) + '!' },
  { pattern: '^(\\d*){10}x$', input: (n) => '1'.repeat(n) },
  { pattern: '^[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*$', input: (n) => 'a'.repeat(n) + '!' },
  { pattern: '^/rq/.*/.*/.*/.*/report$', input: (n) => '/rq/' + '/x'.repeat(n / 2) },
];

describe('OperatorPattern (re2js, linear time)', () => {
  it.each(CATASTROPHIC)('$pattern: on RE2 a long input is matched in bounded time', ({ pattern, input }) => {
    const compiled = OperatorPattern.compile(pattern);
    // linear: 4x the input costs about 4x the time; bounded generously for a loaded 2-core box
    const time = (n: number) => {
      const text = input(n);
      const started = performance.now();
      for (let i = 0; i < 3; i++) compiled.test(text);
      return performance.now() - started;
    };
    time(2000); // warm
    const small = time(8000);
    const large = time(32_000);
    expect(large).toBeLessThan(3000);
    // V8 would take years at these lengths; a linear engine stays within a small multiple of 4x
    expect(large / Math.max(small, 1)).toBeLessThan(16);
  });

  it('matches like RegExp on the patterns operators write', () => {
    const cases: Array<[string, string[]]> = [
      ['^v[0-9]+([.][0-9]+)?([.][0-9]+)?$', ['v1', 'v1.2', 'v1.2.3', 'v', 'x1', 'v1.2.3.4', 'V1']],
      ['^/orders/[0-9]+$', ['/orders/12', '/orders/', '/orders/12/items', '/x/orders/1']],
      ['^/reports/(?<id>[a-f0-9-]{36})/export$', ['/reports/0f3c2a1e-0000-4000-8000-123456789abc/export', '/reports/x/export']],
      ['EMP-\\d{6}', ['id EMP-123456 ok', 'EMP-12345', 'emp-123456']],
      ['\\bfoo\\b', ['a foo b', 'afoob', 'foo']],
      // the shapes the old heuristic accepted (ported from its spec)
      ['(?:-\\d+)?x', ['-12x', 'x', '-x']],
      ['^/api/orders/[^/]+$', ['/api/orders/7', '/api/orders/', '/api/orders/7/x']],
      ['(GET|POST) /x', ['GET /x', 'PUT /x']],
      ['^(?:ab){3}$', ['ababab', 'abab']],
      ['[(|)+*]+', ['(|)', 'abc']],
      // and those it refused, which RE2 runs in linear time
      ['(a+)+b', ['aaab', 'aaaa']],
      ['(a|aa)*b', ['aab', 'aaa']],
      ['^v[0-9]+([.][0-9]+)*$', ['v1.2.3.4', 'v1.']],
    ];
    for (const [pattern, inputs] of cases) {
      const ours = OperatorPattern.compile(pattern);
      const js = new RegExp(pattern);
      for (const input of inputs) expect([pattern, input, ours.test(input)]).toEqual([pattern, input, js.test(input)]);
    }
    const ci = OperatorPattern.compile('^abc$', { caseInsensitive: true });
    expect(ci.test('ABC')).toBe(true);
  });

  it('matchAll gives every match with UTF-16 offsets (slice-compatible)', () => {
    const p = OperatorPattern.compile('\\d{3}');
    expect(p.matchAll('ab123cd4567').map((m) => [m.start, m.end, m.text])).toEqual([
      [2, 5, '123'],
      [7, 10, '456'],
    ]);
    const text = 'é😀 EMP-123456 😀';
    const [m] = OperatorPattern.compile('EMP-\\d+').matchAll(text);
    expect(text.slice(m.start, m.end)).toBe('EMP-123456');
    // empty matches advance: bounded by the input length
    expect(OperatorPattern.compile('x*').matchAll('abc').length).toBeLessThanOrEqual(4);
  });

  it('matchAll in windows: the same matches as RegExp for matches up to maxLength, on random inputs', () => {
    const patterns = ['EMP-\\d{6}', '\\bab\\b', '^ab', '\\d{2,4}', '[a-c]{3}', 'fo|bar$', 'a*b|a', '(?:x\\d)+'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const pattern of patterns) {
      const ours = OperatorPattern.compile(pattern);
      const js = new RegExp(pattern, 'g');
      for (let k = 0; k < 300; k++) {
        let text = '';
        for (let i = Math.floor(random() * 80); i > 0; i--) text += 'abcx EMP-0123for'[Math.floor(random() * 16)];
        const want = [...text.matchAll(js)].filter((m) => m[0].length <= 8).map((m) => [m.index, m.index + m[0].length]);
        const all = [...text.matchAll(js)].map((m) => [m.index, m.index + m[0].length]);
        if (want.length !== all.length) continue; // a match longer than the window size is cut: not compared
        expect([pattern, text, ours.matchAll(text, 8).map((m) => [m.start, m.end])]).toEqual([pattern, text, all]);
      }
    }
  });

  it('matchAll stays linear where RE2 alone is quadratic over all matches (a*b|a: each match read the rest)', () => {
    const p = OperatorPattern.compile('a*b|a');
    const time = (n: number) => {
      const started = performance.now();
      expect(p.matchAll('a'.repeat(n), 64).length).toBe(n);
      return performance.now() - started;
    };
    time(2000);
    const small = Math.max(time(8000), 5);
    const large = time(32_000);
    expect(large / small).toBeLessThan(10); // unwindowed: 4.7 s at 10,000 characters, ~16x per 4x
    // a longer match is cut at its window's end and matching goes on: the whole run is covered
    const pieces = OperatorPattern.compile('\\d+').matchAll('x' + '7'.repeat(1000) + 'y', 64);
    expect(pieces[0].start).toBe(1);
    expect(pieces.every((m, i) => i === 0 || m.start === pieces[i - 1].end)).toBe(true);
    expect(pieces[pieces.length - 1].end).toBe(1001);
  });

  it('refuses what RE2 cannot run in linear time, saying why', () => {
    expect(operatorPatternReason('a(?=b)')).toMatch(/lookahead\/lookbehind/);
    expect(operatorPatternReason('(?<!x)a')).toMatch(/lookahead\/lookbehind/);
    expect(operatorPatternReason('(a)\\1')).toMatch(/backreference/);
    expect(operatorPatternReason('(?<n>a)\\k<n>')).toMatch(/backreference/);
    expect(operatorPatternReason('[')).toMatch(/RE2/);
    expect(operatorPatternReason('a{2000}')).toMatch(/repeat count/);
    expect(operatorPatternReason('a'.repeat(MAX_PATTERN_LENGTH + 1))).toMatch(/longer than/);
    expect(() => OperatorPattern.compile('(?=x)')).toThrow(OperatorPatternError);
    expect(operatorPatternReason('^/v[0-9]+/.*$')).toBeUndefined();
  });
});
