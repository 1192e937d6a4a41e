import { formatDeprecation, formatHttpDate, formatLink, signalHeaders } from '../../../plugins/version-deprecation/headers';
import { parseDeprecation, parseImfFixdate, parseLinks } from '../../helpers/http-header-checks';

describe('deprecation headers', () => {
  it('writes Deprecation as an RFC 9651 sf-date that structured-headers parses back to the instant', () => {
    const at = Date.parse('2023-06-30T23:59:59Z');
    expect(formatDeprecation(at)).toBe('@1688169599');
    expect(parseDeprecation(formatDeprecation(at)).getTime()).toBe(at);
    // sub-second instants round down to whole seconds (sf-date is an integer)
    expect(formatDeprecation(at + 999)).toBe('@1688169599');
  });

  it('writes Sunset as a strict IMF-fixdate, for dates across the supported range', () => {
    const cases = ['2025-11-01T00:00:00Z', '1970-01-01T00:00:00Z', '2027-06-30T23:59:59Z', '2028-02-29T12:34:56Z', '9999-12-31T23:59:59Z', '2000-01-09T05:06:07Z'];
    for (const iso of cases) {
      const value = formatHttpDate(Date.parse(iso));
      expect(parseImfFixdate(value).toISOString()).toBe(new Date(iso).toISOString());
      expect(value).toBe(new Date(iso).toUTCString()); // and equal to what Date#toUTCString gives in this range
    }
    expect(formatHttpDate(Date.parse('2025-11-01T00:00:00Z'))).toBe('Sat, 01 Nov 2025 00:00:00 GMT');
    expect(() => formatHttpDate(Date.UTC(10000, 0, 1))).toThrow(RangeError);
  });

  it('writes RFC 8288 links that http-link-header parses', () => {
    expect(formatLink('https://docs.example.com/v1?x=1&y=2', 'deprecation', 'text/html')).toBe('<https://docs.example.com/v1?x=1&y=2>; rel="deprecation"; type="text/html"');
    const headers = signalHeaders({
      deprecatedAt: Date.parse('2026-01-01T00:00:00Z'),
      sunsetAt: Date.parse('2027-06-30T00:00:00Z'),
      deprecationUrl: 'https://docs.example.com/deprecations/v1',
      sunsetUrl: 'https://docs.example.com/sunset-policy',
      successorUrl: 'https://docs.example.com/v2',
    });
    expect(headers.Deprecation).toBe('@1767225600');
    expect(headers.Sunset).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
    expect(parseLinks(headers.Link as string[])).toEqual([
      { uri: 'https://docs.example.com/deprecations/v1', rel: 'deprecation', type: 'text/html' },
      { uri: 'https://docs.example.com/sunset-policy', rel: 'sunset', type: 'text/html' },
      { uri: 'https://docs.example.com/v2', rel: 'successor-version' },
    ]);
  });

  it('sends nothing for a version with nothing scheduled, and only what is configured otherwise', () => {
    expect(signalHeaders({ successorUrl: 'https://x.example/v3' })).toEqual({});
    expect(signalHeaders({ deprecatedAt: 0 })).toEqual({ Deprecation: '@0' });
    expect(signalHeaders({ deprecatedAt: 0, sunsetUrl: 'https://x.example/s' })).toEqual({ Deprecation: '@0' }); // no sunset date, no sunset link
  });
});
