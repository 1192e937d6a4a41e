import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { parseRateLimitList } from '../helpers/ratelimit-headers';
import { parseDeprecation, parseImfFixdate, parseLinks } from '../helpers/http-header-checks';
import { calendarWindow, globalPlugins, plan, routePaths, routePlugin } from './demo-config';
import { header, json, request, type Reply, type RequestOptions } from './http-client';
import { startTarget, targetSpecs, type RunningTarget } from './target';

/**
 * End to end through every demo route of kong.yml: HTTP in, HTTP out, assertions on what a client sees only, so
 * the same suite holds against the dev gateway (`npm test`, started here) and against real Kong
 * (`npm run test:kong`, KONG_PROXY_URL). Reruns against a live Kong with a persistent Redis do not collide: every
 * tenant-quota sequence uses tenants named for this run.
 */

const NO_ROUTE = 'no Route matched with those values';
const RUN = `${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
const onKong = targetSpecs()[0].kind === 'kong';
const kongOnly = onKong ? it : it.skip;
const kongOnlyNote = onKong ? '' : ' [skipped on the dev gateway: bundled Kong plugins run in Kong only]';

const quota = routePlugin('tenant-quota-demo', 'tenant-quota');
const versioning = routePlugin('versioned-api', 'version-deprecation');

/** Within `slack` of `expected` (clocks, rounding up to whole seconds, request latency). */
function near(actual: number, expected: number, slack: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected - slack);
  expect(actual).toBeLessThanOrEqual(expected + slack);
}

describe.each(targetSpecs())('kong.yml demo routes, end to end: $label', (spec) => {
  let target: RunningTarget;
  let tenantSeq = 0;
  const send = (path: string, options?: RequestOptions) => request(target.url, path, options);
  const tenant = () => `e2e-${RUN}-${spec.server ?? 'kong'}-${++tenantSeq}`;

  beforeAll(async () => {
    target = await startTarget(spec);
  }, 90_000); // one plugin-server process per plugin (7 now) start one after the other

  afterAll(() => target?.close());

  describe('routing (/demo: demo-json-api, strip_path)', () => {
    it('proxies to the demo JSON API with the route prefix stripped', async () => {
      expect(routePaths('demo-json-api')).toEqual(['/demo']);
      const health = await send('/demo/health');
      expect(health.status).toBe(200);
      expect(header(health, 'content-type')).toBe('application/json; charset=utf-8');
      expect(json(health)).toEqual({ status: 'ok', api_version: null });

      const orders = await send('/demo/orders?status=shipped');
      expect(orders.status).toBe(200);
      expect(json(orders)).toMatchObject({ count: 1, orders: [{ id: 'ord_1001', status: 'shipped' }] });
      const one = await send('/demo/orders/ord_1002');
      expect(json(one).order.customer.name).toBe('Alan Turing');
    });

    it('passes the upstream\'s own errors through (404 of the API is not Kong\'s 404)', async () => {
      const reply = await send('/demo/orders/ord_9999');
      expect(reply.status).toBe(404);
      expect(json(reply)).toEqual({ error: 'order ord_9999 not found' });
    });

    it('forwards method, versioned path, query, repeated headers and X-Forwarded-*; the upstream gets its own Host', async () => {
      const reply = await send('/demo/v2/anything/items?x=1&x=2&flag', { headers: ['X-Multi', 'a', 'X-Multi', 'b', 'Host', 'api.example.test'] });
      expect(reply.status).toBe(200);
      expect(header(reply, 'x-api-version')).toBe('v2');
      const echo = json(reply);
      expect(echo).toMatchObject({ method: 'GET', path: '/v2/anything/items', api_version: 'v2', query: { x: ['1', '2'], flag: '' }, raw_query: 'x=1&x=2&flag' });
      expect(echo.headers['x-multi']).toBe('a, b');
      expect(echo.headers['x-forwarded-proto']).toBe('http');
      expect(echo.headers['x-forwarded-host']).toBe('api.example.test');
      const proxy = new URL(target.url);
      expect(echo.headers['x-forwarded-port']).toBe(proxy.port || (proxy.protocol === 'https:' ? '443' : '80'));
      expect(echo.headers['x-forwarded-path']).toBe('/demo/v2/anything/items');
      expect(net.isIP(echo.headers['x-real-ip'])).not.toBe(0);
      expect(echo.headers['x-forwarded-for']).toBe(echo.headers['x-real-ip']);
      // preserve_host is off: the upstream sees the service's host, never the client's
      expect(echo.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    });

    it('sends request bodies through and the upstream\'s status and headers back', async () => {
      const created = await send('/demo/v1/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sku: 'MUG-007', quantity: 3 }) });
      expect(created.status).toBe(201);
      expect(header(created, 'location')).toBe('/v1/orders/ord_new');
      expect(json(created).order).toMatchObject({ id: 'ord_new', status: 'pending', sku: 'MUG-007', quantity: 3 });
      const rejected = await send('/demo/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[1,2]' });
      expect(rejected.status).toBe(400);
      const wrongMethod = await send('/demo/orders', { method: 'DELETE' });
      expect(wrongMethod.status).toBe(405);
      expect(header(wrongMethod, 'allow')).toBe('GET, POST');
    });

    it('answers HEAD without a body', async () => {
      const reply = await send('/demo/health', { method: 'HEAD' });
      expect(reply.status).toBe(200);
      expect(reply.body.length).toBe(0);
    });

    it('answers Kong\'s 404 for a path no route matches', async () => {
      for (const path of ['/nowhere', '/', '/pi/customers']) {
        const reply = await send(path);
        expect(reply.status).toBe(404);
        expect(header(reply, 'content-type')).toBe('application/json; charset=utf-8');
        // Kong >= 3.5 adds a request_id to its own error bodies
        expect(json(reply)).toMatchObject({ message: NO_ROUTE });
      }
    });

    kongOnly(`correlation-id (global in kong.yml) gives the upstream an X-Request-ID uuid${kongOnlyNote}`, async () => {
      expect(globalPlugins()).toContain('correlation-id');
      const first = json(await send('/demo/anything'));
      const second = json(await send('/demo/anything'));
      expect(first.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    });
  });

  describe('request-guard (/guarded: inline OpenAPI 3.1 contract, injection blocked)', () => {
    const post = (path: string, body: unknown) => send(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const locations = (reply: Reply) => (json(reply).errors as Array<{ location: string }>).map((e) => e.location).sort();

    it('passes requests the contract allows to the upstream', async () => {
      expect(routePaths('guarded-orders')).toEqual(['/guarded']);
      const orders = await send('/guarded/orders?status=open&limit=5');
      expect(orders.status).toBe(200);
      expect(header(orders, 'content-type')).toContain('application/json');
    });

    it('answers every violation with its location as problem+json, without schema internals', async () => {
      const query = await send('/guarded/orders?status=lost&limit=500');
      expect(query.status).toBe(400);
      expect(header(query, 'content-type')).toBe('application/problem+json');
      expect(json(query)).toMatchObject({ code: 'request-validation-failed', operation: 'listOrders' });
      expect(locations(query)).toEqual(['query/limit', 'query/status']);
      const body = await post('/guarded/orders', { customer: 'x', items: [{ sku: 'ABC-1234', quantity: 1 }, { sku: 'bad', quantity: 0 }], extra: true });
      expect(body.status).toBe(400);
      expect(locations(body)).toEqual(['body/extra', 'body/items/1/quantity', 'body/items/1/sku']);
      expect(body.text).not.toContain('[A-Z]{3}');
      expect((await send('/guarded/orders/0')).status).toBe(400);
    });

    it('refuses unknown operations, methods and media types', async () => {
      expect(json(await send('/guarded/nothing'))).toMatchObject({ status: 404, code: 'operation-not-found' });
      const method = await send('/guarded/orders/7', { method: 'DELETE' });
      expect(method.status).toBe(405);
      expect(header(method, 'allow')).toBe('GET');
      const text = await send('/guarded/orders', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
      expect(json(text)).toMatchObject({ status: 415, code: 'unsupported-media-type' });
    });

    it('blocks injection on decoded values (category and location, never the value); names and free text pass', async () => {
      const sqli = await send("/guarded/orders?status=open&q=1'%2520or%2520'1'%253D'1");
      expect(sqli.status).toBe(403);
      expect(json(sqli)).toMatchObject({ code: 'injection-detected', violations: [{ category: 'sql', location: 'query/q' }] });
      expect(sqli.text).not.toContain("'1'");
      const xss = await post('/guarded/orders', { customer: '<img src=x onerror=alert(1)>', items: [{ sku: 'ABC-1234', quantity: 1 }] });
      expect(json(xss).violations).toEqual([{ category: 'xss', location: 'body/customer' }]);
      const nosql = await send('/guarded/orders?status[$ne]=open');
      expect(nosql.status).toBe(403);
      const fine = await post('/guarded/orders', { customer: "Siobhán O'Brien", note: "SELECT * FROM orders WHERE id = '1' OR 1=1; -- select the blue one", items: [{ sku: 'ABC-1234', quantity: 2 }] });
      expect(fine.status).not.toBe(400);
      expect(fine.status).not.toBe(403);
    });

    it('refuses JSON nested deeper than the limit before parsing it', async () => {
      const deep = await send('/guarded/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"customer":${'['.repeat(40)}${']'.repeat(40)}}` });
      expect(json(deep)).toMatchObject({ status: 400, code: 'request-limit-exceeded', limit: 'max_json_depth' });
    });
  });

  describe('tenant-quota (/quota: tenant from X-Tenant-ID)', () => {
    const free = plan(quota, 'free');
    const pro = plan(quota, 'pro');
    const timeZone: string = quota.calendar.time_zone;
    const minuteOf = (limits: typeof free) => limits.find((l) => l.algorithm === 'gcra') ?? fail('no gcra limit');
    const calendarOf = (limits: typeof free) => limits.find((l) => l.algorithm === 'calendar') ?? fail('no calendar limit');
    function fail(message: string): never {
      throw new Error(`kong.yml tenant-quota demo: ${message}`);
    }

    it('is configured as the README describes (tenant header, free as the default plan, anchor day 1)', () => {
      expect(quota.identity).toMatchObject({ source: 'header', header_name: 'X-Tenant-ID', trust_header: true });
      expect(quota.default_plan).toBe('free');
      expect(quota.calendar.billing_anchor_day).toBe(1);
      expect(free.map((l) => l.name)).toEqual([minuteOf(free).name, calendarOf(free).name]);
    });

    it('admits a new tenant up to its plan\'s burst, then answers 429 problem+json with RateLimit headers and Retry-After', async () => {
      const who = tenant();
      const minute = minuteOf(free);
      const month = calendarOf(free);
      const burst = minute.burst ?? minute.limit;
      const interval = (minute.window_seconds as number) / minute.limit;
      const window = calendarWindow('month', timeZone);
      const policy = `"${minute.name}";q=${minute.limit};w=${minute.window_seconds}, "${month.name}";q=${month.limit};w=${Math.round((window.end - window.start) / 1000)}`;

      const replies: Reply[] = [];
      for (let i = 0; i <= burst; i++) replies.push(await send('/quota/anything', { headers: { 'X-Tenant-ID': who } }));
      expect(replies.map((r) => r.status)).toEqual([...Array(burst).fill(200), 429]);

      replies.slice(0, burst).forEach((reply, i) => {
        expect(header(reply, 'ratelimit-policy')).toBe(policy);
        const state = parseRateLimitList(header(reply, 'ratelimit'));
        expect(state[minute.name].r).toBe(burst - 1 - i);
        near(Number(state[minute.name].t), interval * (i + 1), 2); // gcra: until the bucket is full again
        expect(state[month.name].r).toBe(month.limit - 1 - i);
        near(Number(state[month.name].t), (window.end - Date.now()) / 1000, 10); // the calendar month's end
        expect(reply.headers['retry-after']).toBeUndefined();
      });
      // strip_path: the upstream got /anything, with the tenant header
      const echo = json(replies[0]);
      expect(echo.path).toBe('/anything');
      expect(echo.headers['x-tenant-id']).toBe(who);

      const denied = replies[burst];
      expect(header(denied, 'content-type')).toBe('application/problem+json');
      expect(header(denied, 'ratelimit-policy')).toBe(policy);
      expect(parseRateLimitList(header(denied, 'ratelimit'))[minute.name].r).toBe(0);
      const retryAfter = Number(header(denied, 'retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(interval));
      expect(json(denied)).toMatchObject({
        type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
        status: 429,
        'violated-policies': [minute.name],
      });
    });

    // on a 429 the script consumes nothing, so the limits that admitted report their state without the request
    it('a denied request consumes nothing, and its RateLimit says what is really left of the other limits', async () => {
      const who = tenant();
      const minute = minuteOf(free);
      const month = calendarOf(free);
      const burst = minute.burst ?? minute.limit;
      let last: Reply | undefined;
      for (let i = 0; i <= burst; i++) last = await send('/quota/anything', { headers: { 'X-Tenant-ID': who } });
      expect(last?.status).toBe(429);
      expect(parseRateLimitList(header(last as Reply, 'ratelimit'))[month.name].r).toBe(month.limit - burst);
    });

    it('keeps tenants apart: another tenant still has its whole budget', async () => {
      const minute = minuteOf(free);
      const burst = minute.burst ?? minute.limit;
      const first = tenant();
      for (let i = 0; i < burst; i++) await send('/quota/anything', { headers: { 'X-Tenant-ID': first } });
      expect((await send('/quota/anything', { headers: { 'X-Tenant-ID': first } })).status).toBe(429);
      const other = await send('/quota/anything', { headers: { 'X-Tenant-ID': tenant() } });
      expect(other.status).toBe(200);
      expect(parseRateLimitList(header(other, 'ratelimit'))[minute.name].r).toBe(burst - 1);
    });

    it('applies the tenant\'s own plan (acme: pro) with that plan\'s policy', async () => {
      // acme is a fixed demo tenant: against a live Kong it may already be limited, so only the policy is exact
      expect(quota.tenant_plans.acme).toBe('pro');
      const minute = minuteOf(pro);
      const day = calendarOf(pro);
      const window = calendarWindow('day', timeZone);
      const reply = await send('/quota/health', { headers: { 'X-Tenant-ID': 'acme' } });
      expect([200, 429]).toContain(reply.status);
      expect(header(reply, 'ratelimit-policy')).toBe(`"${minute.name}";q=${minute.limit};w=${minute.window_seconds}, "${day.name}";q=${day.limit};w=${Math.round((window.end - window.start) / 1000)}`);
      const state = parseRateLimitList(header(reply, 'ratelimit'));
      expect(state[minute.name].r).toBeLessThanOrEqual((minute.burst ?? minute.limit) - (reply.status === 200 ? 1 : 0));
      near(Number(state[day.name].t), (window.end - Date.now()) / 1000, 10);
    });

    it('answers 401 problem+json when the request names no tenant, without reaching the upstream', async () => {
      const reply = await send('/quota/anything');
      expect(reply.status).toBe(401);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      expect(json(reply)).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect(reply.headers.ratelimit).toBeUndefined();
    });
  });

  describe('pii-masking (/pii: email token, card partial, secret block)', () => {
    const masking = routePlugin('pii-samples', 'pii-masking');
    const RAW_PII = ['jane.doe@example.com', 'john.roe@example.org', '7946 0958', '415 555 2671', '219-45-6789', '1980-05-17', 'DE89', '203.0.113.42', '2001:db8::7334', 'hunter2', '4111-1111-1111-1111'];
    const TOKEN = /^tok_email_[a-z2-7]{16}$/;

    function expectNoRawPii(text: string): void {
      for (const value of RAW_PII) expect(text).not.toContain(value);
    }

    function expectMaskedCustomers(text: string): string {
      expectNoRawPii(text);
      const body = JSON.parse(text);
      const [jane, john] = body.customers;
      expect(jane.email).toMatch(TOKEN);
      expect(john.email).toMatch(TOKEN);
      expect(john.email).not.toBe(jane.email);
      expect(jane).toMatchObject({ name: 'Jane Doe', phone: '[PHONE]', ssn: '[SSN]', date_of_birth: '[DOB]', iban: '[IBAN]', last_login_ip: '[IPV4]', password: '[REDACTED]' });
      expect(john).toMatchObject({ name: 'John Roe', phone: '[PHONE]', ssn: '[SSN]', order_id: '219456789', last_login_ip: '[IPV6]', note: 'card ****-****-****-1111 expires 12/29' });
      // unmasked bytes stay as the upstream wrote them: 64-bit ids and floats are not re-serialized
      expect(text).toContain('"id": 12345678901234567890,');
      expect(text).toContain('"balance": 1.10e+10,');
      return jane.email;
    }

    it('is configured as kong.yml\'s comment says', () => {
      expect(masking.modes).toEqual({ email: 'token', card: 'partial', secret: 'block' });
    });

    it('masks PII in a JSON body (keyed tokens, partial cards, redaction), keeping everything else byte for byte', async () => {
      const reply = await send('/pii/customers');
      expect(reply.status).toBe(200);
      expect(header(reply, 'content-type')).toBe('application/json');
      expect(Number(header(reply, 'content-length'))).toBe(reply.body.length);
      expectMaskedCustomers(reply.text);
    });

    it('masks a gzip body and sends it gzip again', async () => {
      const reply = await send('/pii/customers?gzip=1', { headers: { 'Accept-Encoding': 'gzip' } });
      expect(reply.status).toBe(200);
      expect(header(reply, 'content-encoding')).toBe('gzip');
      expectMaskedCustomers(zlib.gunzipSync(reply.body).toString('utf8'));
    });

    it('masks XML and text bodies, with the same token for the same address in every format', async () => {
      const jsonToken = expectMaskedCustomers((await send('/pii/customers')).text);
      const xml = await send('/pii/customers.xml');
      expect(xml.status).toBe(200);
      expect(header(xml, 'content-type')).toBe('application/xml; charset=utf-8');
      expectNoRawPii(xml.text);
      expect(xml.text).toContain(`<customer id="1" email="${jsonToken}">`);
      expect(xml.text).toContain('<ssn>[SSN]</ssn>');
      expect(xml.text).toContain('<![CDATA[Card on file: **** **** **** 1111]]>');

      const text = await send('/pii/notes.txt');
      expect(text.status).toBe(200);
      expectNoRawPii(text.text);
      expect(text.text).toContain(`From: ${jsonToken} ([PHONE])`);
      expect(text.text).toContain('Customer SSN [SSN], born on [DOB].');
      expect(text.text).toContain('Token: [JWT]');
      // near misses stay: a version, a Luhn-invalid number, a UUID
      expect(text.text).toContain('Version 2.14.1, order 4111111111111112, request 550e8400-e29b-41d4-a716-446655440000.');
    });

    it('blocks a response carrying a secret (secret: block) with problem+json naming the type, never the value', async () => {
      const reply = await send('/pii/keys');
      expect(reply.status).toBe(masking.block_status ?? 502);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      expect(json(reply)).toMatchObject({ status: masking.block_status ?? 502, reason: 'pii', types: ['secret'] });
      expect(reply.text).not.toContain('AKIA');
    });

    it('passes a response without PII byte for byte', async () => {
      const reply = await send('/pii/clean');
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('{ "status": "ok", "id": 12345678901234567890, "ratio": 1.10e+10 }\n');
    });

    it('masks response headers for the client like bodies (Location, X-Customer-Email), but leaves the session cookie (masked in logs only)', async () => {
      const reply = await send('/pii/customers');
      expect(reply.headers['set-cookie']).toEqual(['session=demo-session-secret; Path=/; HttpOnly']);
      expect(header(reply, 'x-customer-email')).toMatch(TOKEN);
      expect(header(reply, 'location')).toMatch(/^\/customers\/tok_email_[a-z2-7]{16}$/);
    });

    it('fails closed: a Range request is answered whole (Range stripped upstream), never as a 206 fragment', async () => {
      const reply = await send('/pii/customers', { headers: { Range: 'bytes=0-40' } });
      expect(reply.status).toBe(200);
      expectMaskedCustomers(reply.text);
    });
  });

  describe('rest-to-soap (/soap: JSON REST face of a SOAP 1.1 CountryInfoService)', () => {
    it('maps GET /countries/{code} to FullCountryInfo and types the answer by the XSD (arrays, strings that look numeric)', async () => {
      expect(routePaths('soap-countries')).toEqual(['/soap']);
      const reply = await send('/soap/countries/CH');
      expect(reply.status).toBe(200);
      expect(header(reply, 'content-type')).toBe('application/json');
      const info = json(reply).FullCountryInfoResult;
      expect(info).toMatchObject({ sISOCode: 'CH', sName: 'Switzerland', sCapitalCity: 'Bern', sPhoneCode: '41' });
      expect(info.Languages.tLanguage).toHaveLength(4);
      expect(json(await send('/soap/countries/DE')).FullCountryInfoResult.Languages.tLanguage).toEqual([{ sISOCode: 'de', sName: 'German' }]);
    });

    it('takes query parameters and POST /<Operation> bodies; unknown operations are 404, invalid bodies 400', async () => {
      expect(json(await send('/soap/capital?sCountryISOCode=NL'))).toEqual({ CapitalCityResult: 'Amsterdam' });
      const posted = await send('/soap/CountryIntPhoneCode', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"sCountryISOCode":"DE"}' });
      expect(json(posted)).toEqual({ CountryIntPhoneCodeResult: '49' });
      const missing = await send('/soap/Nope', { method: 'POST', body: '{}' });
      expect(missing.status).toBe(404);
      expect(header(missing, 'content-type')).toBe('application/problem+json');
      const invalid = await send('/soap/CapitalCity', { method: 'POST', body: '{"sCountryISOCode":1}' });
      expect(invalid.status).toBe(400);
      expect(json(invalid)).toMatchObject({ code: 'invalid-soap-request', errors: [{ field: '/sCountryISOCode' }] });
    });

    it('answers a SOAP Client fault as 400 problem+json keeping code and reason', async () => {
      const reply = await send('/soap/countries/XX');
      expect(reply.status).toBe(400);
      expect(json(reply)).toMatchObject({ code: 'soap-fault', fault_code: 'Client', fault_reason: 'Country not found in the database' });
    });
  });

  describe('bot-guard (/bot-demo: scored verdicts upstream, scanners blocked, /.env and /wp-admin traps)', () => {
    const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
    // the demo keys clients by IP + User-Agent + Accept: a run-specific Accept keeps reruns and servers apart
    const browser = (tag: string) => ({ 'User-Agent': CHROME, Accept: `text/html;run=${RUN}-${spec.server ?? 'kong'}-${tag}`, 'Accept-Language': 'en', 'Accept-Encoding': 'gzip' });
    const upstreamHeaders = (reply: Reply) => json(reply).headers as Record<string, string>;

    it('is configured as kong.yml\'s comment says (traps on /.env and /wp-admin, Redis behaviour)', () => {
      expect(routePaths('bot-demo')).toEqual(['/bot-demo']);
      expect(routePlugin('bot-demo', 'bot-guard').behaviour).toMatchObject({ enabled: true, trap_paths: ['/bot-demo/.env', '/bot-demo/wp-admin'], fingerprint: 'ip_ua_accept' });
    });

    it('passes browsers and client libraries with X-Bot-Score, X-Bot-Category and X-Bot-Reasons upstream', async () => {
      const page = await send('/bot-demo/anything', { headers: browser('page') });
      expect(page.status).toBe(200);
      expect(upstreamHeaders(page)).toMatchObject({ 'x-bot-score': '0', 'x-bot-category': 'browser', 'x-bot-reasons': 'none', 'x-bot-action': 'allow' });
      for (const ua of ['curl/8.4.0', 'python-requests/2.31.0', 'Go-http-client/1.1', 'axios/1.6.7', 'okhttp/4.12.0']) {
        const api = await send('/bot-demo/anything', { headers: { 'User-Agent': ua } });
        expect([ua, api.status, upstreamHeaders(api)['x-bot-category'], upstreamHeaders(api)['x-bot-action']]).toEqual([ua, 200, 'http-client', 'allow']);
      }
    });

    it('blocks a scanner with 403 problem+json naming the reasons', async () => {
      const reply = await send('/bot-demo/anything', { headers: { 'User-Agent': 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:map_codes)' } });
      expect(reply.status).toBe(403);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      expect(json(reply)).toMatchObject({ status: 403, code: 'bot-blocked', category: 'scanner', reasons: ['ua-scanner'] });
    });

    it('flags a client that opens a trap path: blocked on every path afterwards, other clients unaffected', async () => {
      const trapped = browser('trapped');
      expect((await send('/bot-demo/anything', { headers: trapped })).status).toBe(200);
      const trap = await send('/bot-demo/.env', { headers: trapped });
      expect(trap.status).toBe(403);
      expect(json(trap).reasons).toContain('trap-hit');
      const after = await send('/bot-demo/anything', { headers: trapped });
      expect(after.status).toBe(403);
      expect(json(after).reasons).toContain('trap-flagged');
      expect((await send('/bot-demo/anything', { headers: browser('bystander') })).status).toBe(200);
    });
  });

  describe('version-deprecation (/versioned: version from path segment 2, header, query or Accept)', () => {
    type Version = { name: string; aliases?: string[]; deprecated_at?: string; sunset_at?: string; successor?: string; documentation_url?: string; sunset_url?: string; brownouts?: Array<{ start: string; end: string }> };
    const versions: Version[] = versioning.versions;
    const byName = (name: string) => versions.find((v) => v.name === name) ?? (() => { throw new Error(`kong.yml: no version ${name}`); })();
    const at = (iso: string) => Date.parse(iso);

    /** The lifecycle kong.yml gives `version` right now (brownout and sunset windows are dates, not config flags). */
    function stateOf(version: Version, now = Date.now()): 'current' | 'deprecated' | 'brownout' | 'sunset' {
      if (version.sunset_at && now >= at(version.sunset_at)) return 'sunset';
      if ((version.brownouts ?? []).some((b) => now >= at(b.start) && now < at(b.end))) return 'brownout';
      return version.deprecated_at ? 'deprecated' : 'current';
    }

    function expectLifecycleHeaders(reply: Reply, version: Version): void {
      expect(parseDeprecation(header(reply, 'deprecation')).getTime()).toBe(at(version.deprecated_at as string));
      expect(parseImfFixdate(header(reply, 'sunset')).getTime()).toBe(at(version.sunset_at as string));
      const links = parseLinks(reply.headers.link ?? '');
      const successor = version.successor ? byName(version.successor) : undefined;
      expect(links).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ rel: 'deprecation', uri: version.documentation_url }),
          expect.objectContaining({ rel: 'sunset', uri: version.sunset_url }),
          ...(successor ? [expect.objectContaining({ rel: 'successor-version', uri: successor.documentation_url })] : []),
        ]),
      );
    }

    /** What a deprecated version answers as kong.yml has it today: served with headers, or 410 in a brownout / after sunset. */
    function expectDeprecatedAnswer(reply: Reply, version: Version): void {
      const state = stateOf(version);
      expectLifecycleHeaders(reply, version);
      if (state === 'deprecated') {
        expect(reply.status).toBe(200);
        expect(json(reply).headers['x-resolved-api-version']).toBe(version.name);
        return;
      }
      expect(reply.status).toBe(410);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      if (state === 'brownout') expect(Number(header(reply, 'retry-after'))).toBeGreaterThan(0);
    }

    it('is configured as kong.yml\'s comment says (v0 gone, v1 deprecated, v2 current and the default)', () => {
      expect(versioning.path_segment).toBe(2);
      expect(versioning.default_version).toBe('v2');
      expect(stateOf(byName('v0'))).toBe('sunset');
      expect(byName('v1').deprecated_at).toBeDefined();
      expect(stateOf(byName('v2'))).toBe('current');
    });

    it('serves the current version without lifecycle headers, naming the resolved version upstream', async () => {
      for (const [path, headers] of [['/versioned/v2/anything', {}], ['/versioned/anything', {}], ['/versioned/anything', { 'X-API-Version': '2' }]] as const) {
        const reply = await send(path, { headers });
        expect(reply.status).toBe(200);
        expect(reply.headers.deprecation).toBeUndefined();
        expect(reply.headers.sunset).toBeUndefined();
        expect(header(reply, 'vary')).toMatch(/\bX-API-Version\b.*\bAccept\b/i);
        const echo = json(reply);
        expect(echo.headers['x-resolved-api-version']).toBe('v2');
        expect(echo.path).toBe('/anything'); // route prefix and version segment stripped
      }
    });

    it('answers a deprecated version with Deprecation, Sunset and Link headers (RFC 9745, 8594, 8288), by path, header, query or Accept', async () => {
      const v1 = byName('v1');
      expect(stateOf(v1)).not.toBe('current');
      const requests: Array<[string, Record<string, string>]> = [
        ['/versioned/v1/anything', {}],
        ['/versioned/anything', { 'X-API-Version': '1' }],
        ['/versioned/anything?api-version=v1', {}],
        ['/versioned/anything', { Accept: 'application/json; version=1' }],
      ];
      for (const [path, headers] of requests) expectDeprecatedAnswer(await send(path, { headers }), v1);
    });

    it('answers 410 Gone after the sunset, naming the successor', async () => {
      const v0 = byName('v0');
      const reply = await send('/versioned/v0/anything');
      expect(reply.status).toBe(410);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      expectLifecycleHeaders(reply, v0);
      expect(json(reply)).toMatchObject({ status: 410, version: 'v0', successor: 'v2', successor_link: byName('v2').documentation_url });
    });

    it('answers 400 problem+json for an unknown version, listing the supported ones (retired versions are not)', async () => {
      const reply = await send('/versioned/v9/anything');
      expect(reply.status).toBe(400);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      const supported = versions.filter((v) => stateOf(v) !== 'sunset').map((v) => v.name);
      expect(json(reply)).toMatchObject({ status: 400, requested_version: 'v9', supported_versions: supported });
    });
  });

  describe('istio-policy-sync (/mesh*: the shipped istio/generated/zero-trust policies decided at the edge)', () => {
    it('allows what the mesh allows: Kong\'s mTLS identity is what allow-kong-mesh-api lets in', async () => {
      const reply = await send('/mesh/anything/orders');
      expect(reply.status).toBe(200);
      expect(json(reply)).toMatchObject({ method: 'GET', path: '/anything/orders' });
    });

    it('answers 403 problem+json when the workload\'s PeerAuthentication is STRICT and Kong talks plaintext', async () => {
      const reply = await send('/mesh-plaintext/anything');
      expect(reply.status).toBe(403);
      expect(header(reply, 'content-type')).toBe('application/problem+json');
      expect(json(reply)).toMatchObject({ code: 'mesh-authorization-denied', reason: 'peer-authentication-strict', policy: 'istio-system/default', action: 'PeerAuthentication', workload: 'apis/app=mesh-api' });
    });

    it('answers 403 naming deny-by-default for a workload no ALLOW policy lets Kong reach', async () => {
      const reply = await send('/mesh-unlisted/anything', { method: 'DELETE' });
      expect(reply.status).toBe(403);
      expect(json(reply)).toMatchObject({ code: 'mesh-authorization-denied', reason: 'no-allow-match', action: 'ALLOW', workload: 'apis/app=unlisted' });
    });

    it('dry_run blocks nothing and tells the upstream what the mesh would decide', async () => {
      const reply = await send('/mesh-dry/anything');
      expect(reply.status).toBe(200);
      expect(json(reply).headers['x-mesh-authz-decision']).toBe('deny; reason=peer-authentication-strict; policy="istio-system/default"; status=403');
    });
  });
});
