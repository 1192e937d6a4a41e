import util from 'node:util';
import { createKongObject, wireName } from '../../../shared/server/pdk-bridge';

describe('the kong object (kong-pdk-compatible bridge)', () => {
  it('converts property names exactly as kong-pdk does, quirks included', () => {
    expect(wireName('getHeader')).toBe('get_header');
    expect(wireName('get_headers')).toBe('get_headers');
    expect(wireName('getIP')).toBe('get_iP');
    expect(wireName('setSerializeValue')).toBe('set_serialize_value');
  });

  it('turns a property path and call into one RPC with the arguments as sent', async () => {
    const calls: Array<[string, unknown[]]> = [];
    const kong = createKongObject(async (method, args) => {
      calls.push([method, args]);
      return 'answer';
    });
    await expect(kong.service.request.setHeader('x-a', 1)).resolves.toBe('answer');
    await expect(kong.ctx.shared.get('k')).resolves.toBe('answer');
    expect(calls).toEqual([
      ['kong.service.request.set_header', ['x-a', 1]],
      ['kong.ctx.shared.get', ['k']],
    ]);
  });

  it('sends no RPC when a namespace is awaited or inspected (kong-pdk sends "kong.request.then")', async () => {
    const calls: string[] = [];
    const kong = createKongObject(async (method) => {
      calls.push(method);
    });
    const request = await kong.request;
    expect(typeof request.getMethod).toBe('function');
    expect(() => util.inspect(kong)).not.toThrow();
    expect(calls).toEqual([]);
  });
});
