import { isCardNumber, luhnValid } from '../../../plugins/pii-masking/detectors/card';
import { unsafePatternReason } from '../../../plugins/pii-masking/detectors/custom';
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
    for (const text of ['icon@2x.png', 'lodash@4.17.21', 'user@localhost', '@handle', 'a@-b.com', 'a..b@c.com', 'x@y.c']) expect(typesIn(text)).toEqual([]);
  });

  it('card: IIN range + Luhn, consistent grouping, no float fractions or longer runs', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(isCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(isCardNumber('3782-822463-10005')).toBe(true);
    expect(isCardNumber('4111111111111112')).toBe(false); // Luhn
    expect(isCardNumber('9111111111111111')).toBe(false); // no issuer
    expect(isCardNumber('4111-1111 1111-1111')).toBe(false); // mixed separators
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

  it('custom detectors: safe patterns only, optional validator and key restriction', () => {
    expect(unsafePatternReason('EMP-\\d{6}')).toBeUndefined();
    expect(unsafePatternReason('(?:-\\d+)?x')).toBeUndefined();
    expect(unsafePatternReason('(a+)+b')).toMatch(/nested/);
    expect(unsafePatternReason('(\\d{2,}-)*')).toMatch(/nested/);
    expect(unsafePatternReason('(a)\\1')).toMatch(/backreference/);
    expect(unsafePatternReason('a(?=b)')).toMatch(/lookaround/);
    expect(unsafePatternReason('[')).toMatch(/invalid/);
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

  it('overlaps resolve to one match per span (a JWT is not also an email)', () => {
    const text = 'token eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImFAYi5jbyJ9.c2ln and a@b.com';
    expect(typesIn(text)).toEqual(['jwt', 'email']);
  });
});
