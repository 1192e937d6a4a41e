import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** The plugin server loads plugins with require(): every runtime dependency must load as CommonJS on Node 20. */
describe('runtime dependencies load with require()', () => {
  // kong-pdk's package main ("app.js") does not exist; we use its server binary and nothing else
  const entries = Object.keys(pkg.dependencies).map((name) => (name === 'kong-pdk' ? 'kong-pdk/server.js' : name));

  it.each(entries)('%s', (entry) => {
    const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(entry)})`], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  it('every built plugin loads with require() and exports the kong-pdk module shape', () => {
    const script = `
      const fs = require('fs'); const path = require('path');
      const dir = path.join(process.cwd(), 'dist', 'plugins');
      const out = fs.readdirSync(dir).map((name) => { const m = require(path.join(dir, name)); return [name, m.Name, typeof m.Plugin, m.Version, m.Priority]; });
      process.stdout.write(JSON.stringify(out));`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, KONG_PLUGINS_LOG_LEVEL: 'silent' } });
    expect(result.status).toBe(0);
    const plugins = JSON.parse(result.stdout) as Array<[string, string, string, string, number]>;
    expect(plugins.length).toBeGreaterThanOrEqual(3);
    for (const [dir, name, type, version, priority] of plugins) {
      expect(name).toBe(dir);
      expect(type).toBe('function');
      expect(version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Number.isInteger(priority)).toBe(true);
    }
  });
});
