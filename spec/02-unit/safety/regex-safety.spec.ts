import { unsafePatternReason } from '../../../shared/safety/regex-safety';

describe('operator regex safety', () => {
  it.each(['EMP-\\d{6}', '(?:-\\d+)?x', '^v[0-9]+([.][0-9]+)?([.][0-9]+)?$', '^/api/orders/[^/]+$', '(GET|POST) /x', '^(?:ab){3}$', '[(|)+*]+'])('accepts %s', (pattern) => {
    expect(unsafePatternReason(pattern)).toBeUndefined();
  });

  it.each([
    ['(a+)+b', /nested/],
    ['(\\d{2,}-)*', /nested/],
    ['^v[0-9]+([.][0-9]+)*$', /nested/],
    ['((a+))*', /nested/],
    ['(a|aa)*b', /alternatives/],
    ['((a|aa)b?)+$', /nested|alternatives/],
    ['(x|y){2,}', /alternatives/],
    ['(a)\\1', /backreference/],
    ['a(?=b)', /lookaround/],
    ['[', /invalid/],
  ])('refuses %s', (pattern, reason) => {
    expect(unsafePatternReason(pattern)).toMatch(reason);
  });

  it('an accepted pattern stays fast on hostile input', () => {
    const safe = new RegExp('^v[0-9]+([.][0-9]+)?([.][0-9]+)?$');
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) safe.test('v' + '1.'.repeat(5000) + '!');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
