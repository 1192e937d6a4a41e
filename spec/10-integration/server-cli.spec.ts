import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { OUR_SERVER, STOCK_SERVER } from '../../devkit/emulator/plugin-server-process';
import { RpcClient } from '../../devkit/emulator/rpc-client';
import { freePort } from '../helpers/ports';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'plugins');
const NOISY = path.join(__dirname, '..', 'fixtures', 'noisy-plugins');

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'buffer', env: { ...process.env, KONG_PLUGINS_LOG_LEVEL: 'info' } });
}

async function waitForFile(file: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('kong-plugin-server CLI', () => {
  it('dumps clean JSON on stdout even when a plugin prints while loading', () => {
    const result = run(OUR_SERVER, ['-d', NOISY, '--dump-all-plugins']);
    expect(result.status).toBe(0);
    const infos = JSON.parse(result.stdout.toString());
    expect(infos).toEqual([{ Name: 'noisy', Version: '0.0.1', Phases: ['access'], Priority: 1, Schema: { name: 'noisy', fields: [{ config: { type: 'record', fields: [] } }] } }]);
    expect(result.stderr.toString()).toContain('this plugin prints while loading');
  });

  it('documents the stock server defect: the same plugin corrupts its dump (kong-js-pdk#82)', () => {
    const result = run(STOCK_SERVER, ['-d', NOISY, '--dump-all-plugins']);
    expect(() => JSON.parse(result.stdout.toString())).toThrow();
  });

  it('dumps one plugin as MessagePack with --dump-plugin-info, like kong-pdk', () => {
    const ours = decode(run(OUR_SERVER, ['-d', FIXTURES, '--dump-plugin-info', 'exits']).stdout);
    const stock = decode(run(STOCK_SERVER, ['-d', FIXTURES, '--dump-plugin-info', 'exits']).stdout);
    expect(ours).toEqual(stock);
  });

  it('dumps exactly what the stock server dumps for well-behaved plugins', () => {
    const ours = JSON.parse(run(OUR_SERVER, ['-d', FIXTURES, '--dump-all-plugins']).stdout.toString());
    const stock = JSON.parse(run(STOCK_SERVER, ['-d', FIXTURES, '--dump-all-plugins']).stdout.toString());
    const byName = (list: Array<{ Name: string }>) => [...list].sort((a, b) => a.Name.localeCompare(b.Name));
    expect(byName(ours)).toEqual(byName(stock));
  });

  it('accepts kong-pdk\'s single-dash long flags too', () => {
    const result = run(OUR_SERVER, ['-plugins-directory', FIXTURES, '-kong-prefix', '/tmp', '-dump-all-plugins']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.toString()).length).toBeGreaterThan(3);
  });

  it.each(['ours', 'stock'] as const)('%s: loads an uncompiled TypeScript plugin folder and runs it', async (kind) => {
    const { KongEmulator } = await import('../../devkit/emulator/kong');
    const { startUpstream } = await import('../helpers/kong-harness');
    const upstream = await startUpstream();
    const kong = new KongEmulator();
    try {
      await kong.addServer({ kind, pluginsDir: path.join(__dirname, '..', 'fixtures', 'ts-plugins') });
      kong.configure({ _format_version: '3.0', services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'tsdemo' }] }] }] });
      expect((await kong.request({ path: '/' })).headers.get('x-typescript')).toBe('loaded');
    } finally {
      await kong.close();
      await upstream.close();
    }
  }, 90_000); // the stock server registers ts-node, which type-checks: tens of seconds on a loaded 2-core machine

  it('per-plugin mode dumps and serves only the named plugin', () => {
    const result = run(OUR_SERVER, ['-d', FIXTURES, '--plugin', 'noop', '--dump-all-plugins']);
    expect(JSON.parse(result.stdout.toString()).map((i: { Name: string }) => i.Name)).toEqual(['noop']);
    const missing = run(OUR_SERVER, ['-d', FIXTURES, '--plugin', 'absent', '--dump-all-plugins']);
    expect(missing.status).toBe(1);
    expect(missing.stderr.toString()).toContain('plugin "absent" not found');
  });

  it('listens on <prefix>/<plugin>.socket in per-plugin mode and shuts down gracefully on SIGTERM', async () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'kps-'));
    const child = spawn(process.execPath, [OUR_SERVER, '-d', FIXTURES, '-p', prefix, '--plugin', 'concurrent', '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const socket = path.join(prefix, 'concurrent.socket');
    await waitForFile(socket);
    const rpc = new RpcClient(socket);
    const status = (await rpc.call('plugin.StartInstance', { Name: 'concurrent', Config: '{}' })) as { Id: number };
    await expect(rpc.call('plugin.StartInstance', { Name: 'noop', Config: '{}' })).rejects.toThrow('noop not initialized');
    // an event left in flight when SIGTERM arrives is waited for (within the grace period)
    const first = (await rpc.call('plugin.HandleEvent', { InstanceId: status.Id, EventName: 'access' })) as { EventId: number };
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const second = (await rpc.call('plugin.Step', { EventId: first.EventId, Data: 'GET' })) as { Data: { Method: string } };
    expect(second.Data.Method).toBe('kong.request.get_path');
    const third = (await rpc.call('plugin.Step', { EventId: first.EventId, Data: '/x' })) as { Data: { Method: string } };
    expect(third.Data.Method).toBe('kong.response.set_header');
    await rpc.call('plugin.Step', { EventId: first.EventId });
    expect(await exited).toBe(0);
    expect(fs.existsSync(socket)).toBe(false);
    expect(stdout).toBe('');
    rpc.close();
  });
});

describe('metrics endpoint and connect mode', () => {
  it('serves Prometheus metrics of the server and of plugins on --metrics-port', async () => {
    const port = await freePort();
    const { KongEmulator } = await import('../../devkit/emulator/kong');
    const { startUpstream } = await import('../helpers/kong-harness');
    const upstream = await startUpstream();
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-'));
    const child = spawn(process.execPath, [OUR_SERVER, '-d', FIXTURES, '-p', prefix, '--metrics-port', String(port)], { stdio: 'ignore' });
    const kong = new KongEmulator();
    try {
      await waitForFile(path.join(prefix, 'js_pluginserver.sock'));
      await kong.connectServer(path.join(prefix, 'js_pluginserver.sock'), ['typed', 'noop']);
      expect(kong.pluginNames()).toEqual(['typed', 'noop']);
      kong.configure({
        _format_version: '3.0',
        services: [{ name: 's', url: upstream.url, routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'typed', config: { greeting: 'hi' } }] }] }],
      });
      expect((await kong.request({ path: '/' })).headers.get('x-greeting')).toBe('hi x1');
      expect((await kong.request({ path: '/', headers: { 'x-boom': 'yes' } })).status).toBe(500);
      // an RPC the server refuses (no such instance) is counted
      const { RpcClient } = await import('../../devkit/emulator/rpc-client');
      const rpc = new RpcClient(path.join(prefix, 'js_pluginserver.sock'));
      await expect(rpc.call('plugin.InstanceStatus', 4242)).rejects.toThrow(/no plugin instance/);
      rpc.close();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^kong_plugin_server_rpc_errors_total 1$/m);
      expect(text).toMatch(/^kong_plugin_server_expired_instances_total 0$/m);
      expect(text).toMatch(/^kong_plugin_server_events_total 2$/m);
      expect(text).toMatch(/^kong_plugin_server_instances 1$/m);
      expect(text).toMatch(/^kong_plugins_phase_errors_total\{plugin="typed",phase="access",policy="fail_closed"\} 1$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    } finally {
      await kong.close();
      child.kill('SIGTERM');
      await upstream.close();
    }
  });
});
