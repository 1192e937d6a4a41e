import { HeaderMap } from '../../../devkit/emulator/header-map';
import { RequestContext } from '../../../devkit/emulator/request-context';

/**
 * get_headers(max) as nginx answers it (lua-nginx-module ngx_http_lua_ffi_req_get_headers_count and _get_headers):
 * header lines are counted in arrival order and the lines past `max` are dropped, whatever their names; Kong's PDK
 * keeps only the table (kong/pdk/request.lua get_headers: 100 by default, at most 1000).
 */
describe('emulator header lines, counted as nginx counts them', () => {
  it('keeps the first max lines in arrival order: a repeated header past the limit loses its later values', () => {
    const map = HeaderMap.from({ a: ['1', '2'], b: 'x' });
    map.add('a', '3'); // a third line of a, after b
    expect(map.toLuaTable(3)).toEqual({ a: ['1', '2'], b: 'x' });
    expect(map.toLuaTable(2)).toEqual({ a: ['1', '2'] });
    expect(map.toLuaTable(4)).toEqual({ a: ['1', '2', '3'], b: 'x' });
  });

  it('set keeps the place of the header\'s first line (ngx.req.set_header); a new header goes last', () => {
    const map = HeaderMap.from({ a: '1', b: '2', c: '3' });
    map.set('a', 'new');
    map.set('d', '4');
    expect(map.toLuaTable(2)).toEqual({ a: 'new', b: '2' });
    expect(Object.keys(map.toLuaTable(4))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a request that names no Host gets it as its first line, as HTTP clients send it', () => {
    const filler = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-filler-${i}`, 'x']));
    const ctx = new RequestContext({ method: 'GET', path: '/', headers: { ...filler, 'Content-Type': 'application/json' } });
    const first100 = ctx.headers.toLuaTable(100);
    expect(Object.keys(first100)).toHaveLength(100);
    expect(first100.host).toBe('localhost:8000');
    expect(first100['content-type']).toBeUndefined();
    expect(ctx.headers.toLuaTable(1000)['content-type']).toBe('application/json');
  });
});
