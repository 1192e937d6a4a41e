import fs from 'node:fs';
import type { KongEmulator } from '../emulator/kong';
import { PluginServerProcess, serverDefinition, type ServerKind } from '../emulator/plugin-server-process';

export interface PluginServerPlan {
  server: ServerKind;
  pluginsDir: string;
  perPlugin: boolean;
}

export interface StartedPluginServers {
  /** Plugin names served, in start order. */
  plugins: string[];
  /** Processes started (one per plugin in per-plugin mode). */
  processes: number;
  /** Set when nothing was started, e.g. no built plugins. */
  note?: string;
}

/** True when the directory holds at least one entry a plugin server would try to load. */
function hasPluginEntries(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  return fs.readdirSync(dir).some((entry) => !entry.startsWith('.') && entry !== 'node_modules' && !entry.endsWith('.map'));
}

/**
 * Starts the plugin server(s) as Kong would from its pluginserver_* settings: one process for the directory, or
 * (our server, the way Kong >= 3.9 must deploy) one process and socket per plugin, found by one query first.
 */
export async function startPluginServers(kong: KongEmulator, plan: PluginServerPlan): Promise<StartedPluginServers> {
  if (!hasPluginEntries(plan.pluginsDir)) return { plugins: [], processes: 0, note: `no built plugins in ${plan.pluginsDir}` };
  if (!plan.perPlugin) {
    await kong.addServer({ kind: plan.server, pluginsDir: plan.pluginsDir, respawn: true });
    return { plugins: kong.pluginNames(), processes: 1 };
  }
  const names = new PluginServerProcess(serverDefinition('ours', plan.pluginsDir, kong.prefix)).query().map((info) => info.Name);
  if (names.length === 0) return { plugins: [], processes: 0, note: `no loadable plugins in ${plan.pluginsDir}` };
  // each query runs synchronously, the starts overlap; a crashed server is respawned as Kong's worker 0 does
  await Promise.all(names.map((plugin) => kong.addServer({ kind: 'ours', pluginsDir: plan.pluginsDir, plugin, respawn: true })));
  return { plugins: kong.pluginNames(), processes: names.length };
}
