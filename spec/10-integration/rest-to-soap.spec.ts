import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as soap from 'soap';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';
import { SECURE_USER, startSoapServices, WSDL_DIR } from '../../devkit/upstreams/soap-services';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';

/** Only this plugin, so the test does not depend on the other plugins being built. */
function pluginDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2s-plugins-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'rest-to-soap'), path.join(dir, 'rest-to-soap'));
  return dir;
}

const wsdl = (name: string) => path.join(WSDL_DIR, name);
const PASSWORD = 'correct horse battery';

function kongConfig(soapUrl: string, htmlUrl: string) {
  const route = (name: string, config: Record<string, unknown>, url = soapUrl) => ({
    name,
    url,
    routes: [{ name, paths: [`/${name}`], plugins: [{ name: 'rest-to-soap', config }] }],
  });
  return {
    _format_version: '3.0',
    services: [
      route('calculator', { wsdl_path: wsdl('calculator.wsdl') }),
      route('calculator12', { wsdl_path: wsdl('calculator.wsdl'), soap_version: '1.2', response_unwrap: 'result' }),
      route('countries', {
        wsdl_path: wsdl('country-info.wsdl'),
        mappings: [
          { operation: 'FullCountryInfo', method: 'GET', path: '/countries/{sCountryISOCode}' },
          { operation: 'ListOfCountryNamesByName', method: 'GET', path: '/countries' },
          { operation: 'CapitalCity', method: 'GET', path: '/capital', query_params: ['sCountryISOCode'] },
        ],
      }),
      route('numbers', { wsdl_path: wsdl('number-conversion.wsdl'), soap_version: '1.2' }),
      route('orders', { wsdl_path: wsdl('orders/OrderService.wsdl'), soap_version: '1.2', mappings: [{ operation: 'GetOrder', method: 'GET', path: '/orders/{orderId}' }] }),
      route('orders11', { wsdl_path: wsdl('orders/OrderService.wsdl'), response_unwrap: 'none' }),
      route('stock', { wsdl_path: wsdl('stock-quote-rpc.wsdl') }),
      route('secure', { wsdl_path: wsdl('calculator.wsdl'), endpoint_path: '/secure/calculator.asmx', ws_security: { username: SECURE_USER, password_env: 'R2S_TEST_PASSWORD' } }),
      route('secure-text', { wsdl_path: wsdl('calculator.wsdl'), endpoint_path: '/secure/calculator.asmx', ws_security: { username: SECURE_USER, password: PASSWORD, password_type: 'PasswordText' } }),
      route('secure-wrong', { wsdl_path: wsdl('calculator.wsdl'), endpoint_path: '/secure/calculator.asmx', ws_security: { username: SECURE_USER, password: 'wrong' } }),
      route('html', { wsdl_path: wsdl('calculator.wsdl') }, htmlUrl),
      route('tight', { wsdl_path: wsdl('country-info.wsdl'), limits: { max_elements: 10 } }),
      route('smallbody', { wsdl_path: wsdl('calculator.wsdl'), limits: { max_request_body_bytes: 10_000 } }),
    ],
  };
}

const json = (body: Buffer) => JSON.parse(body.toString('utf8')) as any;
const post = (kong: KongEmulator, p: string, body: unknown) =>
  kong.request({ method: 'POST', path: p, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });

describe.each(SERVER_KINDS)('rest-to-soap through the Kong emulator against node-soap (%s server)', (kind) => {
  let services: Awaited<ReturnType<typeof startSoapServices>>;
  let html: TestUpstream;
  let kong: KongEmulator;
  const dir = pluginDir();

  beforeAll(async () => {
    process.env.SOAP_DEMO_PASSWORD = PASSWORD;
    services = await startSoapServices();
    html = await startUpstream((_req, res) => {
      res.writeHead(503, { 'Content-Type': 'text/html' });
      res.end('<html><body>maintenance</body></html>');
    });
    kong = await startKong({ kind, pluginsDir: dir, workers: 1, config: kongConfig(services.url, html.url), env: { R2S_TEST_PASSWORD: PASSWORD } });
  }, 60_000);
  afterAll(async () => {
    await kong.close();
    await services.close();
    await html.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const last = () => services.requests[services.requests.length - 1];

  it('POST /<Operation>: JSON body -> SOAP 1.1 envelope (text/xml, quoted SOAPAction, WSDL address path) -> typed JSON, with 7 + 2 PDK calls', async () => {
    const res = await post(kong, '/calculator/Add', { intB: 3, intA: 2 });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(json(res.body)).toEqual({ AddResult: 5 });
    const sent = last();
    expect(sent.url).toBe('/calculator.asmx');
    expect(sent.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(sent.headers.soapaction).toBe('"http://tempuri.org/Add"');
    // xs:sequence order, whatever the JSON key order
    expect(sent.body.indexOf('intA>')).toBeLessThan(sent.body.indexOf('intB>'));
    // access: get_method, get_path, get_header(content-length), get_raw_body, set_path, set_headers, set_raw_body;
    // response: get_raw_body, exit
    expect(res.context.pdkCalls).toBe(9);
  });

  it('a body over max_request_body_bytes answers 413 from its Content-Length, never read: past 8 KiB Kong keeps it in a temp file and its get_raw_body over the limit ends in a 500', async () => {
    const big = Buffer.from(JSON.stringify({ intA: 1, intB: 2, pad: 'x'.repeat(20_000) }));
    const before = services.requests.length;
    const res = await kong.request({ method: 'POST', path: '/smallbody/Add', headers: { 'Content-Type': 'application/json', 'Content-Length': String(big.length) }, body: big });
    expect([res.status, json(res.body).code]).toEqual([413, 'soap-request-too-large']);
    expect(res.context.pdkTrace.filter((call) => call.endsWith('kong.request.get_raw_body'))).toEqual([]);
    expect(services.requests.length).toBe(before);
    // under the limit the same route translates
    expect((await post(kong, '/smallbody/Add', { intA: 1, intB: 2 })).status).toBe(200);
  });

  it('SOAP 1.2: application/soap+xml with action, Receiver fault -> 502, result unwrapped', async () => {
    const res = await post(kong, '/calculator12/Multiply', { intA: 6, intB: 7 });
    expect([res.status, res.body.toString()]).toEqual([200, '42']);
    expect(last().headers['content-type']).toBe('application/soap+xml; charset=utf-8; action="http://tempuri.org/Multiply"');
    expect(last().headers.soapaction).toBeUndefined();
    const fault = await post(kong, '/calculator12/Divide', { intA: 1, intB: 0 });
    expect(fault.status).toBe(502);
    expect(fault.headers.get('content-type')).toBe('application/problem+json');
    expect(json(fault.body)).toMatchObject({ code: 'soap-fault', status: 502, soap_version: '1.2', fault_code: 'Receiver', fault_reason: expect.stringContaining('divide by zero') });
  });

  it('SOAP 1.1 Server fault -> 502, Client fault -> 400, both keeping code and reason', async () => {
    const server = await post(kong, '/calculator/Divide', { intA: 1, intB: 0 });
    expect(server.status).toBe(502);
    expect(json(server.body)).toMatchObject({ type: 'urn:kong-plugins:rest-to-soap:soap-fault', fault_code: 'Server', soap_version: '1.1' });
    const client = await kong.request({ path: '/countries/countries/XX' });
    expect(client.status).toBe(400);
    expect(json(client.body)).toMatchObject({ fault_code: 'Client', fault_reason: 'Country not found in the database' });
  });

  it('GET mappings: path and query parameters fill request fields; arrays even with one item or none', async () => {
    const ch = await kong.request({ path: '/countries/countries/CH' });
    expect(ch.status).toBe(200);
    const info = json(ch.body).FullCountryInfoResult;
    expect(info.sPhoneCode).toBe('41'); // numeric-looking xs:string stays a string
    expect(info.Languages.tLanguage).toHaveLength(4);
    expect(last().body).toContain('<ns0:sCountryISOCode>CH</ns0:sCountryISOCode>');
    const de = json((await kong.request({ path: '/countries/countries/DE' })).body).FullCountryInfoResult;
    expect(de.Languages.tLanguage).toEqual([{ sISOCode: 'de', sName: 'German' }]);
    const aq = json((await kong.request({ path: '/countries/countries/AQ' })).body).FullCountryInfoResult;
    expect(aq.Languages.tLanguage).toEqual([]);
    const capital = await kong.request({ path: '/countries/capital?sCountryISOCode=NL&other=1' });
    expect(json(capital.body)).toEqual({ CapitalCityResult: 'Amsterdam' });
    expect(last().url).toBe('/websamples.countryinfo/CountryInfoService.wso'); // the query is consumed
    const list = json((await kong.request({ path: '/countries/countries' })).body);
    expect(list.ListOfCountryNamesByNameResult.tCountryCodeAndName.map((c: any) => c.sISOCode)).toEqual(['AQ', 'DE', 'NL', 'CH', 'US']);
  });

  it('404 for an unmapped path, 405 with Allow for a mapped path and another method', async () => {
    const before = services.requests.length;
    const missing = await post(kong, '/calculator/Modulo', {});
    expect(missing.status).toBe(404);
    expect(json(missing.body)).toMatchObject({ code: 'soap-operation-not-found', operations: ['Add', 'Subtract', 'Multiply', 'Divide'] });
    const wrong = await kong.request({ method: 'GET', path: '/calculator/Add' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(services.requests.length).toBe(before);
  });

  it('400 problem+json naming every wrong field, nothing sent upstream', async () => {
    const before = services.requests.length;
    const res = await post(kong, '/calculator/Add', { intA: 'two', intB: 2_147_483_648, extra: 1 });
    expect(res.status).toBe(400);
    const body = json(res.body);
    expect(body.code).toBe('invalid-soap-request');
    expect(body.errors.map((e: any) => e.field).sort()).toEqual(['/extra', '/intA', '/intB']);
    const missing = json((await post(kong, '/calculator/Add', { intA: 1 })).body);
    expect(missing.errors).toEqual([{ field: '/intB', message: 'is required' }]);
    const notJson = await kong.request({ method: 'POST', path: '/calculator/Add', body: Buffer.from('<xml/>') });
    expect(notJson.status).toBe(400);
    const order = json((await post(kong, '/orders/PlaceOrder', { customer: 'x', lines: { OrderLine: [{ sku: 'bad', quantity: 1 }] } })).body);
    expect(order.errors).toEqual([{ field: '/lines/OrderLine/0/sku', message: expect.stringContaining('pattern') }]);
    expect(services.requests.length).toBe(before);
  });

  it('xs:unsignedLong beyond 2^53 travels as digits; xs:decimal keeps its digits', async () => {
    const res = await post(kong, '/numbers/NumberToWords', { ubiNum: '12345678901234567' });
    expect(res.status).toBe(200);
    expect(last().body).toContain('<ns0:ubiNum>12345678901234567</ns0:ubiNum>');
    expect(json(res.body).NumberToWordsResult).toMatch(/^twelve quadrillion/);
    const dollars = await post(kong, '/numbers/NumberToDollars', { dNum: 0.0000001 });
    expect(last().body).toContain('<ns0:dNum>0.0000001</ns0:dNum>');
    expect(dollars.status).toBe(200);
  });

  it('WCF-style multi-file WSDL over SOAP 1.2: nillable -> null, enums and dates as strings, xsi:type extension, decimals exact, typed fault detail', async () => {
    const list = await post(kong, '/orders/ListOrders', {});
    expect(list.status).toBe(200);
    const text = list.body.toString();
    expect(text).toContain('"total":12345678901234567890.10'); // every digit, as the service wrote it
    const orders = json(list.body).ListOrdersResult.Order;
    expect(orders[0]).toMatchObject({ id: 1, reference: '00042', status: 'Shipped', placed: '2024-03-01T10:00:00Z', paid: true, note: null, lines: { OrderLine: [{ sku: 'ABC-0001', quantity: 2, unitPrice: 9.9 }] } });
    expect(orders[1]).toMatchObject({ id: 2, reference: '1e3', customer: null, lines: { OrderLine: [] }, courier: 'DHL', slaHours: 24 });
    const missing = await kong.request({ path: '/orders/orders/99' });
    expect(missing.status).toBe(400);
    expect(json(missing.body)).toMatchObject({ fault_code: 'Sender', fault_subcodes: ['rpc:BadArguments'], fault_detail: { OrderNotFound: { orderId: 99, message: 'no such order' } } });
    const placed = await post(kong, '/orders/PlaceOrder', { note: null, customer: null, lines: { OrderLine: [{ sku: 'ABC-0001', quantity: 3, unitPrice: 2.5 }] }, express: true });
    expect(last().body).toContain('<ns0:customer xsi:nil="true"/>');
    expect(json(placed.body).PlaceOrderResult).toMatchObject({ customer: null, total: 7.5, status: 'Shipped' });
  });

  it('response_unwrap none keeps the response element; SOAP 1.1 port of the same WSDL', async () => {
    const res = await post(kong, '/orders11/GetOrder', { orderId: 1 });
    expect(res.status).toBe(200);
    expect(json(res.body).GetOrderResponse.GetOrderResult.id).toBe(1);
    expect(last().url).toBe('/Shop/OrderService.svc/basic');
  });

  it('rpc/literal: operation wrapper in the soap:body namespace, parts unqualified', async () => {
    const res = await post(kong, '/stock/GetLastTradePrice', { tickerSymbol: 'KONG' });
    expect(json(res.body)).toEqual({ price: 42.5 });
    expect(last().body).toContain('<ns0:GetLastTradePrice><tickerSymbol>KONG</tickerSymbol></ns0:GetLastTradePrice>');
    expect(last().body).toContain('xmlns:ns0="http://example.com/stockquote"');
  });

  it('WS-Security UsernameToken: digest (password from the environment) and text accepted by node-soap, a wrong password refused', async () => {
    const digest = await post(kong, '/secure/Add', { intA: 1, intB: 1 });
    expect([digest.status, json(digest.body)]).toEqual([200, { AddResult: 2 }]);
    const sent = last().body;
    const nonce = /<wsse:Nonce[^>]*>([^<]+)</.exec(sent)![1];
    const created = /<wsu:Created>([^<]+)</.exec(sent)![1];
    expect(sent).toContain(`>${soap.passwordDigest(nonce, created, PASSWORD)}</wsse:Password>`);
    const text = await post(kong, '/secure-text/Add', { intA: 2, intB: 2 });
    expect(text.status).toBe(200);
    const refused = await post(kong, '/secure-wrong/Add', { intA: 1, intB: 1 });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(json(refused.body).code).toBe('soap-fault');
  });

  it('a non-SOAP upstream answer and an answer over the XML limits are 502', async () => {
    const res = await post(kong, '/html/Add', { intA: 1, intB: 1 });
    expect(res.status).toBe(502);
    expect(json(res.body)).toMatchObject({ code: 'soap-bad-upstream' });
    const tight = await post(kong, '/tight/ListOfCountryNamesByName', {});
    expect(tight.status).toBe(502);
    expect(json(tight.body)).toMatchObject({ code: 'soap-bad-upstream', limit: 'elements' });
  });
});
