import { isCardNumber, luhnValid } from '../../../plugins/pii-masking/detectors/card';
import { CUSTOM_MAX_MATCH } from '../../../plugins/pii-masking/detectors/custom';
import { operatorPatternReason } from '../../../shared/safety/operator-pattern';
import { isIban } from '../../../plugins/pii-masking/detectors/iban';
import { KeyContexts } from '../../../plugins/pii-masking/detectors/key-context';
import { BUILTIN_TYPES, DetectorRegistry } from '../../../plugins/pii-masking/detectors/registry';

const registry = new DetectorRegistry({ types: BUILTIN_TYPES, defaultRegion: 'US', custom: [] });
const keys = new KeyContexts();
const typesIn = (text: string, key?: string, numeric = false) => registry.scan(text, key ? keys.of(key) : undefined, numeric).map((m) => m.type);
const spans = (text: string, key?: string) => registry.scan(text, key ? keys.of(key) : undefined).map((m) => text.slice(m.start, m.end));

describe('pii-masking detectors', () => {
  it('email: finds addresses, rejects file names, packages and hosts without a TLD', () => {
    expect(spans('mail john.doe+x@mail.example.co.uk.')).toEqual(['john.doe+x@mail.example.co.uk']);
    // glued by a local-part char: the second address's local part starts inside the first, the union is masked
    expect(spans('jane@example.com_other.person@example.com')).toEqual(['jane@example.com_other.person@example.com']);
    expect(spans('a@x.com b@y.com')).toEqual(['a@x.com', 'b@y.com']);
    expect(typesIn('git@github.com:org/repo.git')).toEqual([]); // an scp-style remote: a host and a path
    expect(spans('jane@example.com:- noted')).toEqual(['jane@example.com']); // a ':' without a path after it
    expect(spans('x..jane@example.com')).toEqual(['jane@example.com']); // '..' cannot be in a local part: what follows is the address
    for (const text of ['icon@2x.png', 'lodash@4.17.21', 'user@localhost', '@handle', 'a@-b.com', 'a..@c.com', 'x@y.c']) expect(typesIn(text)).toEqual([]);
  });

  it('card: IIN range + Luhn, grouping (any separators, NBSP, dots, double spaces), glued prefixes, no float fractions or longer runs', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(isCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(isCardNumber('3782-822463-10005')).toBe(true);
    expect(isCardNumber('4111111111111112')).toBe(false); // Luhn
    expect(isCardNumber('9111111111111111')).toBe(false); // no issuer
    expect(isCardNumber('4111-1111 1111-1111')).toBe(true); // mixed separators
    expect(isCardNumber('41-111111-11111111')).toBe(false); // first group not 4
    for (const spelled of ['4111.1111.1111.1111', '4111\u00a01111\u00a01111\u00a01111', '4111\xc2\xa01111\xc2\xa01111\xc2\xa01111', '4111  1111  1111  1111', '4111 1111-1111.1111']) {
      expect(typesIn(`card ${spelled} on file`)).toEqual(['card']);
    }
    expect(typesIn('card_4111111111111111')).toEqual(['card']);
    expect(typesIn('ref:pan4111111111111111')).toEqual(['card']);
    expect(typesIn('v4.111.111.111.111.111')).toEqual([]);
    expect(typesIn('pay 4111111111111111 now')).toEqual(['card']);
    expect(typesIn('4.111111111111111e+15')).toEqual([]);
    expect(typesIn('41111111111111110000')).toEqual([]);
    expect(typesIn('4111111111111111', 'order_id')).toEqual([]);
    expect(typesIn('4111111111111111', 'card_number', true)).toEqual(['card']);
  });

  it('ssn: dashed anywhere, bare only with key or word context, never-issued numbers excluded', () => {
    expect(typesIn('ssn 219-45-6789')).toEqual(['ssn']);
    expect(typesIn('219456789', 'ssn')).toEqual(['ssn']);
    expect(typesIn('219456789', 'order_id')).toEqual([]);
    expect(typesIn('219456789')).toEqual([]);
    expect(typesIn('SSN: 219 45 6789')).toEqual(['ssn']);
    for (const bad of ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000', '078-05-1120', '12345-6789']) expect(typesIn(bad)).toEqual([]);
  });

  it('phone: international numbers validated by libphonenumber metadata; national ones only under a phone key', () => {
    expect(typesIn('call +44 20 7946 0958 today')).toEqual(['phone']);
    expect(typesIn('+1 (415) 555-2671')).toEqual(['phone']);
    expect(typesIn('(415) 555-2671')).toEqual(['phone']);
    expect(typesIn('4155552671', 'phone')).toEqual(['phone']);
    expect(typesIn('4155552671')).toEqual([]);
    expect(typesIn('+1 000 000 0000')).toEqual([]);
    expect(typesIn('2023-01-15 10:30:00')).toEqual([]);
  });

  it('iban: registered length and mod-97', () => {
    expect(isIban('DE89370400440532013000')).toBe(true);
    expect(isIban('DE88370400440532013000')).toBe(false);
    expect(isIban('DE8937040044053201300')).toBe(false);
    expect(typesIn('IBAN GB82 WEST 1234 5698 7654 32.')).toEqual(['iban']);
  });

  it('ipv4 and ipv6: valid addresses, not versions, OIDs, MACs or times', () => {
    expect(typesIn('from 192.168.1.20:8080')).toEqual(['ipv4']);
    expect(typesIn('1.3.6.1.4.1.311')).toEqual([]);
    expect(typesIn('v1.2.3.4')).toEqual([]);
    expect(typesIn('1.2.3.4', 'version')).toEqual([]);
    expect(typesIn('256.1.1.1')).toEqual([]);
    expect(typesIn('addr 2001:db8::8a2e:370:7334.')).toEqual(['ipv6']);
    expect(typesIn('::ffff:192.0.2.128')).toEqual(['ipv6']);
    for (const text of ['00:1a:2b:3c:4d:5e', '12:30:45', 'std::vector', '2024-01-15T10:30:00Z']) expect(typesIn(text)).toEqual([]);
  });

  it('jwt: three segments with a JSON header naming alg', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(typesIn(`Bearer ${jwt}`)).toEqual(['jwt']);
    expect(typesIn('eyJmb28iOiJiYXIifQ.eyJhIjoxfQ.abc')).toEqual([]); // header has no alg
  });

  it('secret: well-known prefixes with their exact shapes', () => {
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'ghp_' + 'a'.repeat(36), 'sk_live_' + 'x'.repeat(24), 'xoxb-123456789012-abcdefghij', 'AIza' + 'B'.repeat(35)]) {
      expect(typesIn(`key=${secret};`)).toEqual(['secret']);
    }
    expect(typesIn('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----')).toEqual(['secret']);
    for (const text of ['AKIAIOSFODNN7EX', 'pk_live_' + 'x'.repeat(24), 'xAKIAIOSFODNN7EXAMPLE', 'ghp_short']) expect(typesIn(text)).toEqual([]);
  });

  it('dob: dates only with birth context, real dates only', () => {
    expect(typesIn('1980-05-17', 'date_of_birth')).toEqual(['dob']);
    expect(typesIn('19800517', 'dob')).toEqual(['dob']);
    expect(typesIn('March 5, 1980', 'birthDate')).toEqual(['dob']);
    expect(typesIn('born on 17.05.1980')).toEqual(['dob']);
    expect(typesIn('1980-05-17', 'created_at')).toEqual([]);
    expect(typesIn('1980-02-30', 'dob')).toEqual([]);
    expect(typesIn('2999-01-01', 'dob')).toEqual([]);
  });

  it('custom detectors: RE2 patterns, optional validator and key restriction', () => {
    for (const ok of ['EMP-\\d{6}', '(?:-\\d+)?x', '(a+)+b', '(a*){12}$', '^(\\d*){10}x$', '(?<id>X\\d+)']) expect(operatorPatternReason(ok)).toBeUndefined();
    expect(operatorPatternReason('(a)\\1')).toMatch(/backreference/);
    expect(operatorPatternReason('a(?=b)')).toMatch(/lookahead/);
    expect(operatorPatternReason('[')).toMatch(/RE2/);
    const custom = new DetectorRegistry({
      types: [],
      defaultRegion: 'US',
      custom: [
        { name: 'employee_id', pattern: 'EMP-\\d{6}', validator: 'none', keys: [], caseInsensitive: false },
        { name: 'account', pattern: '\\d{8}', validator: 'luhn', keys: ['account'], caseInsensitive: false },
      ],
    });
    expect(custom.scan('id EMP-123456', undefined).map((m) => m.type)).toEqual(['employee_id']);
    expect(custom.scan('12345674', keys.of('account')).map((m) => m.type)).toEqual(['account']);
    expect(custom.scan('12345675', keys.of('account'))).toEqual([]);
    expect(custom.scan('12345674', keys.of('other'))).toEqual([]);
  });

  // Catastrophic on a backtracking engine, and `a*b|a` is quadratic over all matches even on RE2 without windows.
  it.each([
    ['(a*){12}$', (n: number) => 'a'.repeat(n) + '!'],
    ['^(\\d*){10}x$', (n: number) => '1'.repeat(n)],
    ['(x+x+)+y', (n: number) => 'x'.repeat(n)],
    ['EMP-\\d{6}', (n: number) => 'EMP-123456 '.repeat(Math.ceil(n / 11)).slice(0, n)],
  ])('custom detector %s: linear on 256 KB and 1 MB', (pattern, input) => {
    const only = new DetectorRegistry({ types: [], defaultRegion: 'US', custom: [{ name: 'c', pattern, validator: 'none', keys: [], caseInsensitive: false }] });
    const time = (n: number) => {
      const text = input(n);
      const started = performance.now();
      only.scan(text, undefined);
      return performance.now() - started;
    };
    time(64 * 1024); // warm
    const small = Math.max(time(256 * 1024), 5);
    const large = time(1024 * 1024);
    expect(large).toBeLessThan(5000);
    expect(large / small).toBeLessThan(10); // 4x the input: about 4x (tight enough to catch a quadratic)
  });

  it('custom detector a*b|a (each one-character match read the rest of the input on RE2): linear per match', () => {
    const only = new DetectorRegistry({ types: [], defaultRegion: 'US', custom: [{ name: 'c', pattern: 'a*b|a', validator: 'none', keys: [], caseInsensitive: false }] });
    const time = (n: number) => {
      const started = performance.now();
      expect(only.scan('a'.repeat(n), undefined).length).toBe(n);
      return performance.now() - started;
    };
    time(4096);
    const small = Math.max(time(16 * 1024), 5);
    const large = time(64 * 1024);
    expect(large / small).toBeLessThan(10); // unwindowed: 16x
    expect(CUSTOM_MAX_MATCH).toBeLessThanOrEqual(64);
  });

  it('overlaps resolve to one match per span (a JWT is not also an email)', () => {
    const text = 'token eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImFAYi5jbyJ9.c2ln and a@b.com';
    expect(typesIn(text)).toEqual(['jwt', 'email']);
  });
});
