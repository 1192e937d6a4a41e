import { LogMasking } from '../../../plugins/pii-masking/log-masking';
import { DEFAULT_LOG_HEADERS, DEFAULT_LOG_QUERY_PARAMS } from '../../../plugins/pii-masking/schema';
import { MaskReport } from '../../../plugins/pii-masking/value-masker';
import { buildDeps } from './helpers';

const deps = buildDeps({ modes: { email: 'token' } });
const logs = (mode: 'redact' | 'token' = 'redact') =>
  new LogMasking({ headers: DEFAULT_LOG_HEADERS, queryParams: DEFAULT_LOG_QUERY_PARAMS, mode }, deps.values, deps.values.masker, deps.keys);
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';

describe('pii-masking log masking', () => {
  it('masks listed headers keeping their structure, scans the others, and leaves clean ones alone', () => {
    const overrides = logs().headerOverrides(
      'request.headers',
      { authorization: [`Bearer ${JWT}`], cookie: ['sid=abc; theme=dark'], 'x-user': ['jane@example.com'], accept: ['*/*'], 'x-trace': ['1234'] },
      new MaskReport(),
    );
    expect(overrides).toEqual([
      { path: 'request.headers.authorization', value: 'Bearer [REDACTED]' },
      { path: 'request.headers.cookie', value: 'sid=[REDACTED]; theme=[REDACTED]' },
      { path: 'request.headers.x-user', value: deps.values.masker.token('email', 'jane@example.com') },
    ]);
  });

  it('token log mode writes the same token the body would get for a JWT', () => {
    const [override] = logs('token').headerOverrides('request.headers', { authorization: [`Bearer ${JWT}`] }, new MaskReport());
    expect(override.value).toBe(`Bearer ${deps.values.masker.token('jwt', JWT)}`);
  });

  it('set-cookie keeps cookie names and attributes; multi-valued headers stay arrays', () => {
    const [override] = logs().headerOverrides('response.headers', { 'set-cookie': ['a=1; Path=/; HttpOnly', 'b=2'] }, new MaskReport());
    expect(override).toEqual({ path: 'response.headers.set-cookie', value: ['a=[REDACTED]; Path=/; HttpOnly', 'b=[REDACTED]'] });
  });

  it('masks the query as one table and a raw query for the URI', () => {
    const query = logs().query('token=abc&page=2&email=a%40b.com&flag&page=3', new MaskReport());
    expect(query).toEqual({
      table: { token: '[REDACTED]', page: ['2', '3'], email: deps.values.masker.token('email', 'a@b.com'), flag: true },
      raw: `token=%5BREDACTED%5D&page=2&email=${deps.values.masker.token('email', 'a@b.com')}&flag&page=3`,
    });
    expect(logs().query('page=2&sort=name', new MaskReport())).toBeUndefined();
    expect(logs().query('', new MaskReport())).toBeUndefined();
  });

  it('attacker spellings: Cookie "session =SECRET", Set-Cookie with a leading space, dotted header names, token[] and token%5B0%5D', () => {
    const report = new MaskReport();
    const cookie = logs().headerOverrides('request.headers', { cookie: ['session =SECRET1; a = SECRET2;b=SECRET3'] }, report);
    expect(JSON.stringify(cookie)).not.toMatch(/SECRET/);
    const setCookie = logs().headerOverrides('response.headers', { 'set-cookie': [' session=SECRET4; Path=/'] }, report);
    expect(setCookie).toEqual([{ path: 'response.headers.set-cookie', value: ' session=[REDACTED]; Path=/' }]);
    const dotted = logs().headerOverrides('request.headers', { 'x.api.key': ['jane@example.com'], 'x-plain': ['ok'] }, report);
    // one override of the whole table: a dotted serialize path would nest in Kong and leave the original in place
    expect(dotted).toEqual([{ path: 'request.headers', value: { 'x.api.key': deps.values.masker.token('email', 'jane@example.com'), 'x-plain': 'ok' } }]);
    for (const raw of ['token[]=SECRET5', 'token%5B0%5D=SECRET6', 'TOKEN[a]=SECRET7', 'access_token[]=SECRET8']) {
      const query = logs().query(raw, report);
      expect(query).toBeDefined();
      expect(JSON.stringify(query)).not.toMatch(/SECRET/);
    }
  });
});
