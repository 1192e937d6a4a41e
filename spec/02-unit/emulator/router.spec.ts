import { parseDeclarative } from '../../../devkit/emulator/declarative';
import { Router, upstreamUriV0 } from '../../../devkit/emulator/router';

const config = parseDeclarative({
  _format_version: '3.0',
  services: [
    {
      name: 'orders',
      url: 'http://127.0.0.1:9000/api',
      routes: [
        { name: 'orders', paths: ['/orders'] },
        { name: 'orders-v2', paths: ['/orders/v2'], strip_path: false },
        { name: 'regex', paths: ['~/items/\\d+$'] },
        { name: 'posts', paths: ['/posts'], methods: ['POST'] },
        { name: 'host', paths: ['/orders'], hosts: ['shop.example.com'] },
      ],
    },
  ],
});
const router = new Router(config.routes, config.services);

describe('Router (Kong\'s matching for the kong.yml subset)', () => {
  it('picks the longest prefix and strips it', () => {
    expect(router.match('GET', 'localhost', '/orders/1')).toMatchObject({ route: { name: 'orders' }, upstreamPath: '/api/1' });
    expect(router.match('GET', 'localhost', '/orders/v2/1')).toMatchObject({ route: { name: 'orders-v2' }, upstreamPath: '/api/orders/v2/1' });
  });

  it('prefers regex paths, then host-specific routes', () => {
    expect(router.match('GET', 'localhost', '/items/42')?.route.name).toBe('regex');
    expect(router.match('GET', 'shop.example.com', '/orders')?.route.name).toBe('host');
  });

  it('honours methods and reports no match', () => {
    expect(router.match('GET', 'localhost', '/posts')).toBeUndefined();
    expect(router.match('POST', 'localhost', '/posts')?.route.name).toBe('posts');
    expect(router.match('GET', 'localhost', '/nothing')).toBeUndefined();
  });

  // kong/router/utils.lua get_upstream_uri_v0, one row per branch
  it.each([
    [true, '', '/orders', '/api', '/api'],
    [true, '', '/orders/', '/api', '/api/'],
    [true, '/1', '/orders/1', '/api', '/api/1'],
    [true, 'x', '/ordersx', '/api', '/api/x'],
    [false, '', '/orders', '/api', '/api/orders'],
    [false, '', '/', '/api', '/api'],
    [true, '', '/orders', '/', '/'],
    [true, '', '/orders/', '/api/', '/api/'],
    [true, '', '/orders', '/api/', '/api'],
    [true, '/1', '/orders/1', '/api/', '/api/1'],
    [true, 'x', '/ordersx', '/api/', '/api/x'],
    [false, '', '/orders', '/api/', '/api/orders'],
  ])('strip_path %s, postfix "%s" of %s onto service path %s gives %s', (strip, postfix, path, base, expected) => {
    expect(upstreamUriV0(strip, postfix, path, base)).toBe(expected);
  });

  it('sends X-Forwarded-Prefix material only when strip_path removed something', () => {
    expect(router.match('GET', 'localhost', '/orders/1')?.prefix).toBe('/orders');
    expect(router.match('GET', 'localhost', '/orders/v2/1')?.prefix).toBeUndefined();
  });
});

describe('declarative config', () => {
  it('resolves plugin scopes and gives stable ids', () => {
    const parsed = parseDeclarative({
      _format_version: '3.0',
      services: [{ name: 's', url: 'http://h:1', routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'a' }] }], plugins: [{ name: 'b' }] }],
      plugins: [{ name: 'c' }, { name: 'd', route: 'r' }],
    });
    const byName = Object.fromEntries(parsed.plugins.map((p) => [p.name, p]));
    expect(byName.a.route?.id).toBe(parsed.routes[0].id);
    expect(byName.b.service?.id).toBe(parsed.services[0].id);
    expect(byName.c.route).toBeUndefined();
    expect(byName.d.route?.id).toBe(parsed.routes[0].id);
    expect(parseDeclarative({ _format_version: '3.0', services: [{ name: 's', url: 'http://h:1' }] }).services[0].id).toBe(parsed.services[0].id);
  });

  it('rejects what Kong would reject', () => {
    expect(() => parseDeclarative({ _format_version: '9' })).toThrow(/_format_version/);
    expect(() => parseDeclarative({ _format_version: '3.0', plugins: [{ name: 'x', route: 'missing' }] })).toThrow(/unknown route/);
  });
});

describe('plugin precedence (Kong\'s lookup order)', () => {
  it('picks the most specific config per plugin, consumer-scoped ones only for their consumer', async () => {
    const { KongEmulator } = await import('../../../devkit/emulator/kong');
    const path = await import('node:path');
    const { startUpstream } = await import('../../helpers/kong-harness');
    const upstream = await startUpstream();
    const kong = new KongEmulator();
    try {
      await kong.addServer({ kind: 'ours', pluginsDir: path.join(__dirname, '..', '..', 'fixtures', 'plugins') });
      kong.configure({
        _format_version: '3.0',
        services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'echo-headers', config: { tag: 'route' } }] }], plugins: [{ name: 'echo-headers', config: { tag: 'service' } }] }],
        consumers: [{ username: 'alice', plugins: [{ name: 'echo-headers', config: { tag: 'consumer' } }] }],
        plugins: [
          { name: 'echo-headers', config: { tag: 'global' } },
          { name: 'echo-headers', config: { tag: 'consumer+route' }, route: 'r', consumer: 'alice' },
        ],
      });
      const alice = kong.consumers.find((c) => c.username === 'alice')!;
      expect((await kong.request({ path: '/x' })).headers.get('x-config-tag')).toBe('route');
      expect((await kong.request({ path: '/x', consumer: alice })).headers.get('x-config-tag')).toBe('consumer+route');
      expect((await kong.request({ path: '/x', consumer: { id: 'someone-else' } })).headers.get('x-config-tag')).toBe('route');
    } finally {
      await kong.close();
      await upstream.close();
    }
  });
});
