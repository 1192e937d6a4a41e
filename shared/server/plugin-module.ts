import fs from 'node:fs';
import path from 'node:path';

// kong-pdk's order, so GetPluginInfo lists phases exactly as the stock server does
export const PHASES = ['certificate', 'rewrite', 'log', 'access', 'preread', 'response'] as const;
export type Phase = (typeof PHASES)[number];

export interface PluginClass {
  new (config: Record<string, unknown>): Record<string, unknown>;
}

/** What Kong reads from the query command (GetPluginInfo), in kong-pdk's exact shape. */
export interface PluginInfo {
  Name: string;
  Version: string | undefined;
  Phases: Phase[];
  Priority: number;
  Schema: { name: string; fields: Array<{ config: { type: 'record'; fields: unknown[] } }> };
}

/** A loaded kong-pdk-style plugin module: `{ Plugin, Name?, Schema?, Version?, Priority? }`. */
export class PluginModule {
  readonly phases: Phase[];
  readonly loadTime = Date.now() / 1000;
  readonly modTime: number;
  lastStartInstance = 0;
  lastCloseInstance = 0;

  constructor(
    readonly name: string,
    readonly location: string,
    readonly cls: PluginClass,
    readonly priority: number,
    readonly version: string | undefined,
    readonly schema: unknown[],
  ) {
    this.phases = PHASES.filter((phase) => typeof cls.prototype[phase] === 'function');
    this.modTime = fs.statSync(location).mtimeMs / 1000;
  }

  info(): PluginInfo {
    return {
      Name: this.name,
      Version: this.version,
      Phases: this.phases,
      Priority: this.priority,
      Schema: { name: this.name, fields: [{ config: { type: 'record', fields: this.schema } }] },
    };
  }
}

const LOADABLE_EXTENSIONS = new Set(['.js', '.ts', '.cjs', '.node', '']);

export interface LoadProblem {
  file: string;
  error: string;
}

/**
 * Discovers plugins the way kong-pdk does (non-recursive; dotfiles and node_modules skipped; .js/.ts/.cjs/.node
 * files and directories; name from the `Name` export, else the file's basename, lower-cased), but a broken entry
 * (a directory without an index, a module that throws, a module without a Plugin class) is reported, not fatal.
 */
export function loadPluginDirectory(directory: string): { plugins: Map<string, PluginModule>; problems: LoadProblem[] } {
  const plugins = new Map<string, PluginModule>();
  const problems: LoadProblem[] = [];
  for (const file of fs.readdirSync(directory).sort()) {
    if (file.startsWith('.') || file === 'node_modules') continue;
    const candidate = path.join(directory, file);
    const ext = path.extname(file);
    if (!LOADABLE_EXTENSIONS.has(ext) && !fs.statSync(candidate).isDirectory()) continue;
    try {
      const loaded = loadPluginModule(candidate);
      const previous = plugins.get(loaded.name);
      if (previous) {
        problems.push({ file: candidate, error: `plugin "${loaded.name}" already loaded from ${previous.location}` });
        continue;
      }
      plugins.set(loaded.name, loaded);
    } catch (err) {
      problems.push({ file: candidate, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { plugins, problems };
}

let typescriptRegistered = false;

/** Uncompiled TypeScript plugins load through ts-node, as under kong-pdk (which registers it always, at ~2 s a start). */
function registerTypeScript(): void {
  if (typescriptRegistered) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('ts-node').register({ transpileOnly: true });
  typescriptRegistered = true;
}

function resolvePlugin(candidate: string): string {
  const isTypeScript = candidate.endsWith('.ts') || (fs.statSync(candidate).isDirectory() && fs.existsSync(path.join(candidate, 'index.ts')) && !fs.existsSync(path.join(candidate, 'index.js')));
  if (isTypeScript) registerTypeScript();
  return require.resolve(candidate);
}

export function loadPluginModule(candidate: string): PluginModule {
  const resolved = resolvePlugin(candidate);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(resolved) as Record<string, unknown>;
  const cls = mod.Plugin;
  if (typeof cls !== 'function') throw new Error(`${resolved} exports no Plugin class`);
  const parsed = path.parse(resolved);
  const fallbackName = parsed.name === 'index' && fs.statSync(candidate).isDirectory() ? path.basename(candidate) : parsed.name;
  const name = String(mod.Name ?? fallbackName).toLowerCase();
  const priority = mod.Priority === undefined ? 0 : Number(mod.Priority);
  if (!Number.isInteger(priority)) throw new Error(`plugin "${name}": Priority must be an integer, got ${String(mod.Priority)}`);
  const version = mod.Version === undefined ? undefined : String(mod.Version);
  return new PluginModule(name, resolved, cls as PluginClass, priority, version, (mod.Schema as unknown[]) ?? []);
}
