import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { WSDL_DIR } from '../../../devkit/upstreams/soap-services';
import { main } from '../../../devkit/validate/cli';

const ORDERS = path.join(WSDL_DIR, 'orders', 'OrderService.wsdl');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'kong-plugins', ...args], { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('kong-plugins soap openapi', () => {
  it('prints an OpenAPI 3.1 document whose schemas accept what the plugin accepts and describe what it answers', async () => {
    const { code, out } = await run(['soap', 'openapi', ORDERS, '--soap-version', '1.2', '--base-path', '/orders']);
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/orders/GetOrder', '/orders/ListOrders', '/orders/PlaceOrder']);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const fix = (schema: unknown) => JSON.parse(JSON.stringify(schema).replace(/"#\/components/g, '"doc#/components'));
    const place = doc.paths['/orders/PlaceOrder'].post;
    const request = ajv.compile(fix(place.requestBody.content['application/json'].schema));
    expect(request({ customer: null, lines: { OrderLine: [{ sku: 'ABC-0001', quantity: 1 }] } })).toBe(true);
    expect(request({ customer: 'x', lines: { OrderLine: [{ sku: 'bad', quantity: 1 }] } })).toBe(false);
    const response = ajv.compile(fix(place.responses['200'].content['application/json'].schema));
    expect(response({ PlaceOrderResult: { id: 1, status: 'Pending', customer: null, lines: { OrderLine: [] }, total: 7.5 } })).toBe(true);
    expect(response({ PlaceOrderResult: { id: 'x', status: 'Pending' } })).toBe(false);
    expect(doc.paths['/orders/GetOrder'].post.responses['400'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
  });

  it('documents mappings as path and query parameters; refuses a WSDL it cannot compile (exit 2)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'r2s-oa-')), 'm.json');
    fs.writeFileSync(file, JSON.stringify([{ operation: 'ListOrders', method: 'GET', path: '/list', query_params: ['status'] }]));
    const doc = JSON.parse((await run(['soap', 'openapi', ORDERS, '--mappings', file])).out);
    expect(doc.paths['/list'].get.parameters).toEqual([{ name: 'status', in: 'query', required: false, schema: { enum: ['Pending', 'Shipped', 'Delivered', 'Cancelled'], type: 'string', title: 'OrderStatus' } }]);
    const bad = await run(['soap', 'openapi', '/nonexistent.wsdl']);
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('cannot read /nonexistent.wsdl')]);
  });
});
