import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';

/** A plugins directory with only the built tenant-quota, so its tests do not depend on other plugins being built. */
export function tenantQuotaPluginDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tq-plugins-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'tenant-quota'), path.join(dir, 'tenant-quota'));
  return dir;
}
