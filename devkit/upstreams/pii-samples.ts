import type http from 'node:http';
import zlib from 'node:zlib';
import type { DemoUpstream } from './demo-upstream';

/**
 * Demo upstream for pii-masking (kong.yml route `/pii`): responses full of fake personal data and secrets.
 * GET /customers (JSON; `?gzip=1` compressed), /customers.xml, /notes.txt, /keys (a secret: blocked on the demo
 * route, secret mode block), /clean (nothing to mask: returned byte for byte). All values are test data (documentation ranges,
 * test card numbers, reserved drama phone numbers).
 */
const CUSTOMERS = `{
  "customers": [
    { "id": 12345678901234567890, "name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+44 20 7946 0958",
      "ssn": "219-45-6789", "date_of_birth": "1980-05-17", "iban": "DE89 3704 0044 0532 0130 00",
      "last_login_ip": "203.0.113.42", "balance": 1.10e+10, "password": "hunter2" },
    { "id": 12345678901234567891, "name": "John Roe", "email": "john.roe@example.org", "phone": "+1 415 555 2671",
      "ssn": "219456789", "order_id": "219456789", "date_of_birth": "07/04/1975", "last_login_ip": "2001:db8::7334",
      "note": "card 4111-1111-1111-1111 expires 12/29" }
  ]
}
`;
const XML = `<?xml version="1.0" encoding="UTF-8"?>
<customers>
  <customer id="1" email="jane.doe@example.com">
    <name>Jane Doe</name>
    <ssn>219-45-6789</ssn>
    <phone>+44 20 7946 0958</phone>
    <note><![CDATA[Card on file: 4111 1111 1111 1111]]></note>
  </customer>
</customers>
`;
const TEXT = `Support ticket #4411
From: jane.doe@example.com (+44 20 7946 0958)
Customer SSN 219-45-6789, born on 17.05.1980.
Token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLWRlbW8
Version 2.14.1, order 4111111111111112, request 550e8400-e29b-41d4-a716-446655440000.
`;
const KEYS = '{"service": "billing", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "eu-west-1"}';
const CLEAN = '{ "status": "ok", "id": 12345678901234567890, "ratio": 1.10e+10 }\n';

function send(response: http.ServerResponse, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  response.writeHead(200, { 'Content-Type': type, 'Content-Length': String(bytes.length), ...headers });
  response.end(bytes);
}

export const piiSamples: DemoUpstream = {
  name: 'pii-samples',
  port: 9102,
  handle(request, _body, response) {
    const url = new URL(request.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/customers':
        if (url.searchParams.has('gzip')) return send(response, 'application/json', zlib.gzipSync(CUSTOMERS), { 'Content-Encoding': 'gzip' });
        return send(response, 'application/json', CUSTOMERS, { 'Set-Cookie': 'session=demo-session-secret; Path=/; HttpOnly', 'X-Customer-Email': 'jane.doe@example.com', Location: '/customers/jane.doe@example.com' });
      case '/customers.xml':
        return send(response, 'application/xml; charset=utf-8', XML);
      case '/notes.txt':
        return send(response, 'text/plain; charset=utf-8', TEXT);
      case '/keys':
        return send(response, 'application/json', KEYS);
      case '/clean':
        return send(response, 'application/json', CLEAN);
      default:
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end('{"message":"not found"}');
    }
  },
};
