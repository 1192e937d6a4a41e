import { unsupportedVersion, versionBrownout, versionSunset } from '../../../plugins/version-deprecation/problem';

describe('RFC 9457 problems', () => {
  it('uses about:blank with the reason phrase when no type base is configured', () => {
    const p = unsupportedVersion({}, 'v9', 'header', ['v1', 'v2']);
    expect(p).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      code: 'unsupported-api-version',
      detail: 'API version "v9" (from the header) is not supported; use one of: v1, v2.',
      requested_version: 'v9',
      supported_versions: ['v1', 'v2'],
    });
  });

  it('names the successor and its link in 410 answers', () => {
    const f = { typeBase: 'https://problems.example.com/' };
    const sunset = versionSunset(f, 'v1', Date.parse('2027-06-30T00:00:00Z'), 'v2', 'https://docs.example.com/v2');
    expect(sunset).toMatchObject({
      type: 'https://problems.example.com/api-version-sunset',
      title: 'API version gone',
      status: 410,
      version: 'v1',
      sunset: 'Wed, 30 Jun 2027 00:00:00 GMT',
      successor: 'v2',
      successor_link: 'https://docs.example.com/v2',
    });
    expect(sunset.detail).toBe('API version v1 was retired on Wed, 30 Jun 2027 00:00:00 GMT. Use v2 instead (https://docs.example.com/v2).');
    const brownout = versionBrownout(f, 'v1', Date.parse('2026-09-01T11:00:00Z'), undefined, 'v2');
    expect(brownout).toMatchObject({ status: 410, code: 'api-version-brownout', brownout_ends: 'Tue, 01 Sep 2026 11:00:00 GMT', successor: 'v2' });
    expect(brownout).not.toHaveProperty('sunset');
    expect(brownout).not.toHaveProperty('successor_link');
    expect(JSON.parse(JSON.stringify(brownout))).toEqual(brownout);
  });
});
