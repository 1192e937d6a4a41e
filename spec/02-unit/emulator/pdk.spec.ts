import { callPdk, LuaError, luaValue, parseQuery, serialize, type PdkEnvironment } from '../../../devkit/emulator/pdk';
import { RequestContext } from '../../../devkit/emulator/request-context';

const env = (): PdkEnvironment => ({ nodeId: 'node', logLines: [] });

function context(phase: RequestContext['phase'] = 'access'): RequestContext {
  const ctx = new RequestContext({ method: 'post', path: '/a/./b/../c?x=1&flag&x=2', headers: { 'X-Multi': ['1', '2'], Cookie: 'c=1' }, body: 'hi' });
  ctx.phase = phase;
  return ctx;
}

describe('emulated PDK (Kong semantics)', () => {
  it('normalizes the path like nginx and keeps the raw one', () => {
    const ctx = context();
    expect(callPdk(ctx, env(), 'kong.request.get_path', []).value).toBe('/a/c');
    expect(callPdk(ctx, env(), 'kong.request.get_raw_path', []).value).toBe('/a/./b/../c');
    expect(callPdk(ctx, env(), 'kong.request.get_method', []).value).toBe('POST');
  });

  it('answers multimaps through StepMultiMap and reads headers case- and underscore-insensitively', () => {
    const ctx = context();
    expect(callPdk(ctx, env(), 'kong.request.get_headers', [])).toEqual({
      value: { 'x-multi': ['1', '2'], cookie: ['c=1'], host: ['localhost:8000'] },
      step: 'plugin.StepMultiMap',
    });
    expect(callPdk(ctx, env(), 'kong.request.get_header', ['x_multi']).value).toBe('1');
    expect(callPdk(ctx, env(), 'kong.request.get_query', []).value).toEqual({ x: ['1', '2'], flag: [] });
  });

  it('returns raw bodies as bytes and consumers through StepConsumer', () => {
    const ctx = context();
    const body = callPdk(ctx, env(), 'kong.request.get_raw_body', []).value;
    expect(Buffer.isBuffer(body) && body.toString()).toBe('hi');
    expect(callPdk(ctx, env(), 'kong.client.get_consumer', []).step).toBe('plugin.StepConsumer');
  });

  it.each([
    ['kong.response.set_header', 'log', ['x', '1']],
    ['kong.response.get_status', 'access', []],
    ['kong.service.request.set_path', 'response', ['/x']],
    ['kong.service.response.get_raw_body', 'access', []],
    ['kong.client.authenticate', 'rewrite', [{ id: 'c' }]],
    ['kong.client.get_consumer', 'rewrite', []],
    ['kong.log.serialize', 'access', []],
    ['kong.request.get_raw_body', 'log', []],
  ])('%s is a Lua error in %s', (method, phase, args) => {
    expect(() => callPdk(context(phase as RequestContext['phase']), env(), method, args)).toThrow(LuaError);
  });

  it('checks arguments like Kong', () => {
    const ctx = context();
    expect(() => callPdk(ctx, env(), 'kong.response.exit', [99])).toThrow('code must be a number between 100 and 599');
    expect(() => callPdk(ctx, env(), 'kong.response.error', [302])).toThrow(LuaError);
    // validate_header walks a table value with ipairs: a map passes (and clears the header), a non-string element fails
    expect(() => callPdk(ctx, env(), 'kong.response.set_header', ['x', ['a', 1]])).toThrow('invalid header value in array "x": got number, expected string');
    expect(() => callPdk(ctx, env(), 'kong.response.set_header', ['x', { a: 1 }])).not.toThrow();
    expect(() => callPdk(ctx, env(), 'kong.service.request.set_path', ['relative'])).toThrow(/must start with/);
  });

  it('logs unknown methods and answers nil', () => {
    const e = env();
    expect(callPdk(context(), e, 'kong.request.get_iP', []).value).toBeUndefined();
    expect(e.logLines[0].message).toBe('could not find pdk method: kong.request.get_iP');
  });

  it('builds Kong\'s standard error body in the format the client accepts', () => {
    const ctx = new RequestContext({ path: '/', headers: { Accept: 'text/plain' } });
    ctx.phase = 'access';
    callPdk(ctx, env(), 'kong.response.error', [403]);
    expect(ctx.response?.body.toString()).toBe(`Forbidden\nrequest_id: ${ctx.requestId}\n`);
    const json = context();
    callPdk(json, env(), 'kong.response.error', [429]);
    expect(JSON.parse(json.response!.body.toString())).toEqual({ message: 'Too many requests', request_id: json.requestId });
    expect(json.response?.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('applies set_serialize_value to the log serializer output, nested and removals', () => {
    const ctx = context();
    callPdk(ctx, env(), 'kong.log.set_serialize_value', ['request.headers.cookie', '[MASKED]']);
    callPdk(ctx, env(), 'kong.log.set_serialize_value', ['custom.field', 3]);
    callPdk(ctx, env(), 'kong.log.set_serialize_value', ['client_ip', null]);
    const record = serialize(ctx) as { request: { headers: Record<string, unknown> }; custom: unknown; client_ip?: string };
    expect(record.request.headers.cookie).toBe('[MASKED]');
    expect(record.custom).toEqual({ field: 3 });
    expect(record.client_ip).toBeUndefined();
  });

  it('packs empty Lua tables as arrays and query strings as Kong parses them', () => {
    expect(luaValue({})).toEqual([]);
    expect(luaValue({ a: {}, b: null })).toEqual({ a: [] });
    expect(parseQuery('a=1&a=2&b&c=%20x+y')).toEqual({ a: ['1', '2'], b: true, c: ' x y' });
  });
});
