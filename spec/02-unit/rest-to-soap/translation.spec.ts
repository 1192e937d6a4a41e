import path from 'node:path';
import * as soap from 'soap';
import { WSDL_DIR } from '../../../devkit/upstreams/soap-services';
import { Translator } from '../../../plugins/rest-to-soap/translator';
import { compileService } from '../../../plugins/rest-to-soap/wsdl/operations';
import { passwordDigest, usernameTokenHeader } from '../../../plugins/rest-to-soap/wsse';
import type { Unwrap } from '../../../plugins/rest-to-soap/response-reader';

const LIMITS = { maxBytes: 1 << 20, maxDepth: 64, maxElements: 10_000, maxAttributes: 64, maxNamespaces: 32, maxNameLength: 256, maxTextLength: 1 << 20 };
const translator = (file: string, version: '1.1' | '1.2' = '1.1', unwrap: Unwrap = 'wrapper') =>
  new Translator(compileService({ path: path.join(WSDL_DIR, file) }, { version }), { mappings: [], defaultRoutes: true, unwrap, limits: LIMITS });
const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const ORDERS_NS = 'http://shop.example/orders';
const DC_NS = 'http://schemas.datacontract.org/2004/07/Shop.Orders';

function envelope(t: Translator, op: string, value: unknown): string {
  const plan = t.request({ method: 'POST', path: `/${op}`, body: body(value) });
  if (plan.kind !== 'soap') throw new Error(JSON.stringify(plan));
  return plan.envelope;
}

const soap12 = (inner: string) => `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>${inner}</s:Body></s:Envelope>`;

describe('rest-to-soap translation (pure)', () => {
  it('follows wsdl:import, xsd:import and a chameleon xsd:include across files', () => {
    const model = compileService({ path: path.join(WSDL_DIR, 'orders', 'OrderService.wsdl') }, { version: '1.2' });
    expect(model.files.map((f) => path.basename(f))).toEqual(['OrderService.wsdl', 'IOrderService.wsdl', 'OrderService.xsd0.xsd', 'OrderService.xsd2.xsd', 'OrderService.enums.xsd']);
    expect([...model.types.keys()]).toContain(`{${DC_NS}}PriorityOrder`);
  });

  it('writes children in xs:sequence order with schema namespaces (elementFormDefault), arrays per item, null as xsi:nil', () => {
    const xml = envelope(translator('orders/OrderService.wsdl', '1.2'), 'PlaceOrder', { express: false, note: null, lines: { OrderLine: [{ quantity: 1, sku: 'ABC-0001' }, { sku: 'XYZ-0002', quantity: 2, unitPrice: '1.50' }] }, customer: 'c & <d>' });
    expect(xml).toContain(`xmlns:ns0="${ORDERS_NS}"`);
    expect(xml).toContain(`xmlns:ns1="${DC_NS}"`);
    expect(xml).toContain(
      '<ns0:PlaceOrder><ns0:customer>c &amp; &lt;d&gt;</ns0:customer><ns0:lines><ns1:OrderLine><ns1:sku>ABC-0001</ns1:sku><ns1:quantity>1</ns1:quantity></ns1:OrderLine>' +
        '<ns1:OrderLine><ns1:sku>XYZ-0002</ns1:sku><ns1:quantity>2</ns1:quantity><ns1:unitPrice>1.50</ns1:unitPrice></ns1:OrderLine></ns0:lines><ns0:note xsi:nil="true"/><ns0:express>false</ns0:express></ns0:PlaceOrder>',
    );
  });

  it('validates against the XSD: every wrong field named (types, bounds, enums, patterns, arrays, nil, unknown keys)', () => {
    const orders = translator('orders/OrderService.wsdl', '1.2');
    const plan = orders.request({ method: 'POST', path: '/PlaceOrder', body: body({ customer: 1, lines: { OrderLine: { sku: 'ABC-0001', quantity: 1 } }, express: 'yes', bogus: true }) });
    expect(plan.kind).toBe('problem');
    const errors = plan.kind === 'problem' ? (plan.problem.errors as Array<{ field: string }>).map((e) => e.field).sort() : [];
    expect(errors).toEqual(['/bogus', '/customer', '/express', '/lines/OrderLine']);
    const list = orders.request({ method: 'POST', path: '/ListOrders', body: body({ status: 'Lost', maxResults: 1.5 }) });
    expect(list.kind === 'problem' && list.problem.errors).toEqual([
      { field: '/status', message: 'must be one of: Pending, Shipped, Delivered, Cancelled' },
      { field: '/maxResults', message: 'must be integer' },
    ]);
    const calc = translator('calculator.wsdl');
    const nil = calc.request({ method: 'POST', path: '/Add', body: body({ intA: null, intB: -2_147_483_649 }) });
    expect(nil.kind === 'problem' && (nil.problem.errors as Array<{ field: string }>).map((e) => e.field)).toEqual(['/intA', '/intB']);
    const control = calc.request({ method: 'POST', path: '/Add', body: body({ intA: 1, intB: 2 }) });
    expect(control.kind).toBe('soap');
  });

  it('SOAP 1.1 and 1.2 headers; rpc/literal wrapper in the soap:body namespace with unqualified parts', () => {
    const v11 = translator('calculator.wsdl').request({ method: 'POST', path: '/Add', body: body({ intA: 1, intB: 2 }) });
    expect(v11.kind === 'soap' && v11.headers).toEqual({ 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://tempuri.org/Add"', Accept: 'text/xml', 'Accept-Encoding': 'identity' });
    const v12 = translator('calculator.wsdl', '1.2').request({ method: 'POST', path: '/Add', body: body({ intA: 1, intB: 2 }) });
    expect(v12.kind === 'soap' && v12.headers['Content-Type']).toBe('application/soap+xml; charset=utf-8; action="http://tempuri.org/Add"');
    const rpc = envelope(translator('stock-quote-rpc.wsdl'), 'GetTradePrice', { tickerSymbol: 'KONG', time: { endTime: '2024-01-02T00:00:00Z', startTime: '2024-01-01T00:00:00Z' } });
    expect(rpc).toContain('<ns0:GetTradePrice><tickerSymbol>KONG</tickerSymbol><time><startTime>2024-01-01T00:00:00Z</startTime><endTime>2024-01-02T00:00:00Z</endTime></time></ns0:GetTradePrice>');
  });

  it('types a response by the XSD: numbers, booleans, numeric-looking strings, decimals exact, dates, nil, arrays of 0 and 1, xsi:type', () => {
    const orders = translator('orders/OrderService.wsdl', '1.2');
    const xml = soap12(
      `<GetOrderResponse xmlns="${ORDERS_NS}"><GetOrderResult xmlns:d="${DC_NS}" xsi:type="d:PriorityOrder"><d:id>+007</d:id><d:reference>0042</d:reference><d:customer xsi:nil="true"/>` +
        `<d:status>Shipped</d:status><d:placed>2024-03-01T10:00:00Z</d:placed><d:lines><d:OrderLine><d:sku>ABC-0001</d:sku><d:quantity>2</d:quantity></d:OrderLine></d:lines>` +
        `<d:total>12345678901234567890.10</d:total><d:paid>1</d:paid><d:courier>DHL</d:courier><d:slaHours>24</d:slaHours></GetOrderResult></GetOrderResponse>`,
    );
    const out = orders.response(xml);
    expect(out.json).toBe(
      '{"GetOrderResult":{"id":7,"reference":"0042","customer":null,"status":"Shipped","placed":"2024-03-01T10:00:00Z","lines":{"OrderLine":[{"sku":"ABC-0001","quantity":2}]},"total":12345678901234567890.10,"paid":true,"courier":"DHL","slaHours":24}}',
    );
    const empty = orders.response(soap12(`<ListOrdersResponse xmlns="${ORDERS_NS}"><ListOrdersResult/></ListOrdersResponse>`));
    expect(empty.json).toBe('{"ListOrdersResult":{"Order":[]}}');
    const unwrapped = translator('calculator.wsdl', '1.2', 'result').response(soap12('<AddResponse xmlns="http://tempuri.org/"><AddResult>3</AddResult></AddResponse>'));
    expect(unwrapped.json).toBe('3');
    const none = translator('calculator.wsdl', '1.2', 'none').response(soap12('<AddResponse xmlns="http://tempuri.org/"><AddResult>3</AddResult></AddResponse>'));
    expect(none.json).toBe('{"AddResponse":{"AddResult":3}}');
    const odd = translator('calculator.wsdl', '1.2').response(soap12('<AddResponse xmlns="http://tempuri.org/"><AddResult>three</AddResult></AddResponse>'));
    expect(odd.json).toBe('{"AddResult":"three"}'); // a malformed number is not guessed
  });

  it('maps faults: 1.1 Client 400, Server 502; 1.2 Sender 400, Receiver/VersionMismatch/MustUnderstand 502; non-SOAP 502', () => {
    const f11 = (code: string) =>
      translator('calculator.wsdl').response(`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault><faultcode>e:${code}</faultcode><faultstring>boom</faultstring><faultactor>urn:a</faultactor><detail><x>1</x></detail></e:Fault></e:Body></e:Envelope>`);
    expect(f11('Client.Auth').problem).toMatchObject({ status: 400, fault_code: 'Client.Auth', fault_reason: 'boom', fault_actor: 'urn:a', fault_detail: { x: '1' } });
    for (const code of ['Server', 'VersionMismatch', 'MustUnderstand']) expect(f11(code).status).toBe(502);
    const f12 = (code: string) =>
      translator('calculator.wsdl', '1.2').response(soap12(`<s:Fault><s:Code><s:Value>s:${code}</s:Value><s:Subcode><s:Value xmlns:app="urn:app">app:Quota</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="de">kaputt</s:Text><s:Text xml:lang="en">broken</s:Text></s:Reason></s:Fault>`));
    expect(f12('Sender').problem).toMatchObject({ status: 400, soap_version: '1.2', fault_code: 'Sender', fault_subcodes: ['app:Quota'], fault_reason: 'broken' });
    for (const code of ['Receiver', 'VersionMismatch', 'MustUnderstand', 'DataEncodingUnknown']) expect(f12(code).status).toBe(502);
    for (const bad of ['<html>down</html>', '', '{"json":1}', '<x:Envelope xmlns:x="urn:other"/>']) expect(translator('calculator.wsdl').response(bad).problem).toMatchObject({ status: 502, code: 'soap-bad-upstream' });
    expect(translator('calculator.wsdl').response('<!DOCTYPE e><e/>').problem).toMatchObject({ limit: 'dtd' });
  });

  it('routes: mappings with path params coerced to the XSD type, literal beats parameter, 405 with Allow', () => {
    const model = compileService({ path: path.join(WSDL_DIR, 'orders', 'OrderService.wsdl') }, { version: '1.2' });
    const t = new Translator(model, { mappings: [{ operation: 'GetOrder', method: 'GET', path: '/orders/{orderId}' }, { operation: 'ListOrders', method: 'GET', path: '/orders/all', query_params: ['status', 'maxResults'] }], defaultRoutes: false, unwrap: 'wrapper', limits: LIMITS });
    const one = t.request({ method: 'GET', path: '/api/orders/42' });
    expect(one.kind === 'soap' && one.envelope).toContain('<ns0:orderId>42</ns0:orderId>');
    expect(t.request({ method: 'GET', path: '/api/orders/all' }).kind).toBe('need-query');
    const all = t.request({ method: 'GET', path: '/api/orders/all', rawQuery: 'maxResults=5&status=Pending' });
    expect(all.kind === 'soap' && all.envelope).toContain('<ns0:ListOrders><ns0:status>Pending</ns0:status><ns0:maxResults>5</ns0:maxResults></ns0:ListOrders>');
    const bad = t.request({ method: 'GET', path: '/api/orders/abc' });
    expect(bad.kind === 'problem' && bad.problem.errors).toEqual([{ field: '/orderId', message: 'must be integer' }]);
    const wrong = t.request({ method: 'DELETE', path: '/api/orders/1' });
    expect(wrong.kind === 'problem' && [wrong.problem.status, wrong.headers]).toEqual([405, { Allow: 'GET' }]);
    expect(t.request({ method: 'POST', path: '/GetOrder', body: body({ orderId: 1 }) }).kind).toBe('problem'); // default routes off
  });

  it('WS-Security UsernameToken digest equals node-soap\'s for the same nonce and instant', () => {
    const nonce = Buffer.from('0123456789abcdef');
    const header = usernameTokenHeader({ username: 'u<1>', password: 'pw', type: 'PasswordDigest', mustUnderstand: true }, Date.UTC(2024, 0, 1));
    expect(header).toContain('<wsse:Username>u&lt;1&gt;</wsse:Username>');
    expect(header).toContain('<wsu:Created>2024-01-01T00:00:00.000Z</wsu:Created>');
    expect(passwordDigest(nonce, '2024-01-01T00:00:00.000Z', 'pw')).toBe(soap.passwordDigest(nonce.toString('base64'), '2024-01-01T00:00:00.000Z', 'pw'));
    const fixed = usernameTokenHeader({ username: 'u', password: 'pw', type: 'PasswordDigest', mustUnderstand: false }, Date.UTC(2024, 0, 1), nonce);
    expect(fixed).toContain(`>${soap.passwordDigest(nonce.toString('base64'), '2024-01-01T00:00:00.000Z', 'pw')}</wsse:Password>`);
    expect(fixed).not.toContain('mustUnderstand');
    expect(usernameTokenHeader({ username: 'u', password: 'pw', type: 'PasswordText', mustUnderstand: true }, 0)).toContain('#PasswordText">pw</wsse:Password>');
  });
});
