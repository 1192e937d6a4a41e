import path from 'node:path';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'plugins');

async function restartServer(kong: KongEmulator): Promise<void> {
  const server = kong.servers[0];
  const oldPid = server.pid;
  server.kill();
  const deadline = Date.now() + 10_000;
  while (server.pid === oldPid || server.pid === undefined) {
    if (Date.now() > deadline) throw new Error('server was not respawned');
    await new Promise((r) => setTimeout(r, 50));
  }
  await server.whenReady();
}

/**
 * Kong caches instance ids across a plugin-server restart (Kong/kong#8370). kong-pdk restarts its ids at 0, so a
 * stale id can name ANOTHER plugin's new instance; ours never reuses an id, so Kong gets "no plugin instance",
 * resets and starts the right one.
 */
describe('restart safety', () => {
  let upstream: TestUpstream;
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(() => upstream.close());

  const config = () => ({
    _format_version: '3.0',
    services: [
      {
        name: 'svc',
        url: upstream.url,
        routes: [
          { name: 'a', paths: ['/a'], plugins: [{ name: 'echo-headers', config: { tag: 'a' } }] },
          { name: 'b', paths: ['/b'], plugins: [{ name: 'exits' }] },
        ],
      },
    ],
  });

  async function scenario(kind: 'ours' | 'stock'): Promise<{ a: number; b: number }> {
    const kong = await startKong({ kind, pluginsDir: FIXTURES, config: config(), respawn: true });
    try {
      expect((await kong.request({ path: '/a' })).status).toBe(200);
      expect((await kong.request({ path: '/b' })).status).toBe(403);
      await restartServer(kong);
      const b = (await kong.request({ path: '/b' })).status;
      const a = (await kong.request({ path: '/a' })).status;
      return { a, b };
    } finally {
      await kong.close();
    }
  }

  it('ours: every route keeps running its own plugin after a restart', async () => {
    expect(await scenario('ours')).toEqual({ a: 200, b: 403 });
  });

  it('stock: a stale id runs another plugin after a restart (the defect ours fixes)', async () => {
    expect(await scenario('stock')).toEqual({ a: 403, b: 403 });
  });
});
