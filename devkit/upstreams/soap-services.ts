import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as soap from 'soap';
import type { DemoUpstream } from './demo-upstream';

/**
 * Real SOAP services for rest-to-soap, served by the `soap` npm package (node-soap) from the WSDLs in
 * devkit/upstreams/soap/wsdl (written after public services: dneonline's Calculator, oorsprong's CountryInfoService,
 * dataaccess' NumberConversion, a WCF-style multi-file OrderService, the WSDL 1.1 Note's StockQuote in rpc/literal).
 * node-soap speaks one SOAP version per listener, so every service is listened twice and a request goes to the
 * SOAP 1.2 listener when its Content-Type is application/soap+xml. /secure/calculator.asmx demands a WS-Security
 * UsernameToken (user "demo", password SOAP_DEMO_PASSWORD or "demo-secret"), checked with node-soap's own digest.
 */
/** The WSDLs stay in the source tree (tsc copies no .wsdl): found from src/ and from dist/ alike. */
export const WSDL_DIR = [path.resolve(__dirname, 'soap', 'wsdl'), path.resolve(__dirname, '..', '..', '..', 'devkit', 'upstreams', 'soap', 'wsdl')].find((d) => fs.existsSync(d)) as string;

export const SECURE_USER = 'demo';
export const securePassword = (): string => process.env.SOAP_DEMO_PASSWORD ?? 'demo-secret';

type Args = Record<string, any>;

const COUNTRIES: Record<string, { name: string; capital: string; phone: string; continent: string; currency: string; languages: Array<[string, string]> }> = {
  DE: { name: 'Germany', capital: 'Berlin', phone: '49', continent: 'EU', currency: 'EUR', languages: [['de', 'German']] },
  CH: { name: 'Switzerland', capital: 'Bern', phone: '41', continent: 'EU', currency: 'CHF', languages: [['de', 'German'], ['fr', 'French'], ['it', 'Italian'], ['rm', 'Romansh']] },
  NL: { name: 'Netherlands', capital: 'Amsterdam', phone: '31', continent: 'EU', currency: 'EUR', languages: [['nl', 'Dutch']] },
  AQ: { name: 'Antarctica', capital: '', phone: '672', continent: 'AN', currency: '', languages: [] },
  US: { name: 'United States', capital: 'Washington', phone: '1', continent: 'AM', currency: 'USD', languages: [['en', 'English']] },
};

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: Array<[bigint, string]> = [[10n ** 15n, 'quadrillion'], [10n ** 12n, 'trillion'], [10n ** 9n, 'billion'], [10n ** 6n, 'million'], [1000n, 'thousand']];

export function numberToWords(n: bigint): string {
  if (n < 20n) return ONES[Number(n)];
  if (n < 100n) return TENS[Number(n / 10n)] + (n % 10n ? ` ${ONES[Number(n % 10n)]}` : '');
  if (n < 1000n) return `${ONES[Number(n / 100n)]} hundred${n % 100n ? ` ${numberToWords(n % 100n)}` : ''}`;
  for (const [scale, name] of SCALES) {
    if (n >= scale) return `${numberToWords(n / scale)} ${name}${n % scale ? ` ${numberToWords(n % scale)}` : ''}`;
  }
  return String(n);
}

interface OrderData {
  id: number;
  reference: string | null;
  customer: string | null;
  status: string;
  placed: string;
  lines: Array<{ sku: string; quantity: number; unitPrice: string }>;
  total: string;
  paid: boolean;
  note: string | null;
  courier?: string;
  slaHours?: number;
}

const ORDERS: OrderData[] = [
  { id: 1, reference: '00042', customer: 'ACME Corp', status: 'Shipped', placed: '2024-03-01T10:00:00Z', lines: [{ sku: 'ABC-0001', quantity: 2, unitPrice: '9.90' }], total: '19.80', paid: true, note: null },
  {
    id: 2,
    reference: '1e3',
    customer: null,
    status: 'Pending',
    placed: '2024-03-02T11:30:00Z',
    lines: [],
    total: '12345678901234567890.10',
    paid: false,
    note: 'fragile',
    courier: 'DHL',
    slaHours: 24,
  },
];

/** node-soap writes attributes as given and declares no xsi prefix itself. */
const NIL = { attributes: { 'xsi:nil': 'true', 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance' } };

function orderXml(order: OrderData): Args {
  const lines = order.lines.length ? { OrderLine: order.lines } : {};
  const base: Args = {
    id: order.id,
    reference: order.reference === null ? NIL : order.reference,
    customer: order.customer === null ? NIL : order.customer,
    status: order.status,
    placed: order.placed,
    lines,
    total: order.total,
    paid: order.paid,
    note: order.note === null ? NIL : order.note,
  };
  if (order.courier !== undefined) {
    return { ...base, courier: order.courier, slaHours: order.slaHours, attributes: { 'xsi:type': 'q1:PriorityOrder', 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xmlns:q1': 'http://schemas.datacontract.org/2004/07/Shop.Orders' } };
  }
  return base;
}

function faultFor(version: '1.1' | '1.2', client: boolean, reason: string, detail?: Args): { Fault: Args } {
  if (version === '1.1') return { Fault: { faultcode: client ? 'soap:Client' : 'soap:Server', faultstring: reason, ...(detail ? { detail } : {}), statusCode: 500 } };
  return {
    Fault: {
      Code: { Value: client ? 'soap:Sender' : 'soap:Receiver', ...(client ? { Subcode: { Value: 'rpc:BadArguments' } } : {}) },
      Reason: { Text: reason },
      ...(detail ? { Detail: detail } : {}),
      statusCode: client ? 400 : 500,
    },
  };
}

function services(version: '1.1' | '1.2'): Array<{ path: string; wsdl: string; services: Args; secure?: boolean }> {
  const calculatorOps = {
    Add: (a: Args) => ({ AddResult: Number(a.intA) + Number(a.intB) }),
    Subtract: (a: Args) => ({ SubtractResult: Number(a.intA) - Number(a.intB) }),
    Multiply: (a: Args) => ({ MultiplyResult: Number(a.intA) * Number(a.intB) }),
    Divide: (a: Args) => {
      if (Number(a.intB) === 0) throw faultFor(version, false, 'Server was unable to process request. ---> Attempted to divide by zero.');
      return { DivideResult: Math.trunc(Number(a.intA) / Number(a.intB)) };
    },
  };
  const countryOps = {
    ListOfContinentsByName: () => ({ ListOfContinentsByNameResult: { tContinent: [{ sCode: 'AF', sName: 'Africa' }, { sCode: 'AN', sName: 'Antarctica' }, { sCode: 'EU', sName: 'Europe' }] } }),
    ListOfCountryNamesByName: () => ({ ListOfCountryNamesByNameResult: { tCountryCodeAndName: Object.entries(COUNTRIES).map(([code, c]) => ({ sISOCode: code, sName: c.name })).sort((a, b) => a.sName.localeCompare(b.sName)) } }),
    CapitalCity: (a: Args) => ({ CapitalCityResult: COUNTRIES[String(a.sCountryISOCode).toUpperCase()]?.capital ?? 'Country not found in the database' }),
    CountryIntPhoneCode: (a: Args) => ({ CountryIntPhoneCodeResult: COUNTRIES[String(a.sCountryISOCode).toUpperCase()]?.phone ?? 'Country not found in the database' }),
    FullCountryInfo: (a: Args) => {
      const code = String(a.sCountryISOCode).toUpperCase();
      const c = COUNTRIES[code];
      if (!c) throw faultFor(version, true, 'Country not found in the database');
      const languages = c.languages.length ? { tLanguage: c.languages.map(([sISOCode, sName]) => ({ sISOCode, sName })) } : {};
      return {
        FullCountryInfoResult: {
          sISOCode: code, sName: c.name, sCapitalCity: c.capital, sPhoneCode: c.phone, sContinentCode: c.continent, sCurrencyISOCode: c.currency,
          sCountryFlag: `http://www.oorsprong.org/WebSamples.CountryInfo/Flags/${c.name.replace(/ /g, '_')}.jpg`, Languages: languages,
        },
      };
    },
  };
  const numberOps = {
    NumberToWords: (a: Args) => ({ NumberToWordsResult: `${numberToWords(BigInt(String(a.ubiNum)))} ` }),
    NumberToDollars: (a: Args) => {
      const [dollars, cents = '0'] = Number(a.dNum).toFixed(2).split('.');
      const c = Number(cents.padEnd(2, '0').slice(0, 2));
      return { NumberToDollarsResult: `${numberToWords(BigInt(dollars))} dollars${c ? ` and ${numberToWords(BigInt(c))} cents` : ''}` };
    },
  };
  const orderOps = {
    GetOrder: (a: Args) => {
      const order = ORDERS.find((o) => o.id === Number(a.orderId));
      if (!order) throw faultFor(version, true, `Order ${a.orderId} not found`, { OrderNotFound: { attributes: { xmlns: 'http://shop.example/orders' }, orderId: Number(a.orderId), message: 'no such order' } });
      return { GetOrderResult: orderXml(order) };
    },
    ListOrders: (a: Args) => {
      const wanted = a?.status as string | undefined;
      const max = a?.maxResults === undefined ? 100 : Number(a.maxResults);
      if (max < 0) throw faultFor(version, false, 'Internal error: negative page size');
      const orders = ORDERS.filter((o) => !wanted || o.status === wanted).slice(0, max);
      return { ListOrdersResult: orders.length ? { Order: orders.map(orderXml) } : {} };
    },
    PlaceOrder: (a: Args) => {
      const raw = a.lines?.OrderLine ?? [];
      const lines = (Array.isArray(raw) ? raw : [raw]).map((l: Args) => ({ sku: String(l.sku), quantity: Number(l.quantity), unitPrice: String(l.unitPrice ?? '0') }));
      const total = lines.reduce((sum, l) => sum + l.quantity * Number(l.unitPrice), 0).toFixed(2);
      const customer = typeof a.customer === 'string' ? a.customer : null;
      const note = typeof a.note === 'string' ? a.note : null;
      return { PlaceOrderResult: orderXml({ id: 100, reference: '00100', customer, status: a.express === true || a.express === 'true' ? 'Shipped' : 'Pending', placed: '2024-04-01T00:00:00Z', lines, total, paid: false, note }) };
    },
  };
  const stockOps = {
    GetLastTradePrice: (a: Args) => ({ price: a.tickerSymbol === 'KONG' ? 42.5 : 1.25 }),
    GetTradePrice: (a: Args) => ({ result: a.tickerSymbol === 'KONG' ? 40.125 : 1 }),
  };
  const list: Array<{ path: string; wsdl: string; services: Args; secure?: boolean }> = [
    { path: '/calculator.asmx', wsdl: 'calculator.wsdl', services: { Calculator: { CalculatorSoap: calculatorOps, CalculatorSoap12: calculatorOps } } },
    { path: '/secure/calculator.asmx', wsdl: 'calculator.wsdl', services: { Calculator: { CalculatorSoap: calculatorOps, CalculatorSoap12: calculatorOps } }, secure: true },
    { path: '/websamples.countryinfo/CountryInfoService.wso', wsdl: 'country-info.wsdl', services: { CountryInfoService: { CountryInfoServiceSoap: countryOps, CountryInfoServiceSoap12: countryOps } } },
    { path: '/webservicesserver/NumberConversion.wso', wsdl: 'number-conversion.wsdl', services: { NumberConversion: { NumberConversionSoap: numberOps, NumberConversionSoap12: numberOps } } },
    { path: version === '1.1' ? '/Shop/OrderService.svc/basic' : '/Shop/OrderService.svc/soap12', wsdl: 'orders/OrderService.wsdl', services: { OrderService: { BasicHttpBinding_IOrderService: orderOps, CustomBinding_IOrderService: orderOps } } },
  ];
  if (version === '1.1') list.push({ path: '/stockquote', wsdl: 'stock-quote-rpc.wsdl', services: { StockQuoteService: { StockQuotePort: stockOps } } });
  return list;
}

function secureCheck(security: Args | undefined): boolean {
  const token = security?.UsernameToken;
  if (!token || token.Username !== SECURE_USER) return false;
  const password = token.Password;
  const value = typeof password === 'object' ? password.$value : password;
  const type = typeof password === 'object' ? String(password.attributes?.Type ?? '') : '';
  if (type.endsWith('#PasswordText')) return value === securePassword();
  const nonce = typeof token.Nonce === 'object' ? token.Nonce.$value : token.Nonce;
  return value === soap.passwordDigest(nonce, token.Created, securePassword());
}

/** Two request routers (SOAP 1.1 and 1.2), each with every service attached by node-soap. Resolves when the WSDLs are loaded. */
async function routers(): Promise<{ v11: http.Server; v12: http.Server }> {
  const make = async (version: '1.1' | '1.2') => {
    const server = http.createServer();
    server.on('request', (_req, res) => {
      if (!res.headersSent && !res.writableEnded) {
        // reached only when no node-soap listener took the path
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('no SOAP service here');
      }
    });
    for (const s of services(version)) {
      await new Promise<void>((resolve, reject) => {
        const xml = fs.readFileSync(path.join(WSDL_DIR, s.wsdl), 'utf8');
        const listener = soap.listen(server, { path: s.path, services: s.services, xml, uri: path.join(WSDL_DIR, s.wsdl), forceSoap12Headers: version === '1.2', returnFault: true, callback: (err: unknown) => (err ? reject(err as Error) : resolve()) } as never);
        if (s.secure) (listener as unknown as { authenticate: (security: Args) => boolean }).authenticate = (security) => secureCheck(security);
      });
    }
    return server;
  };
  return { v11: await make('1.1'), v12: await make('1.2') };
}

let shared: Promise<{ v11: http.Server; v12: http.Server }> | undefined;

function dispatch(r: { v11: http.Server; v12: http.Server }, request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void {
  (request as http.IncomingMessage & { body?: Buffer }).body = body;
  const soap12 = String(request.headers['content-type'] ?? '').startsWith('application/soap+xml');
  (soap12 ? r.v12 : r.v11).emit('request', request, response);
}

export const soapServices: DemoUpstream = {
  name: 'soap-services',
  port: 9103,
  async handle(request, body, response) {
    dispatch(await (shared ??= routers()), request, body, response);
  },
};

/** The same services on their own port (tests and benchmarks): a real node-soap server on 127.0.0.1:<port>. */
export async function startSoapServices(port = 0): Promise<{ url: string; port: number; requests: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }>; close(): Promise<void> }> {
  const r = await routers();
  const requests: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ url: req.url ?? '/', headers: req.headers, body: body.toString('utf8') });
      dispatch(r, req, body, res);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
