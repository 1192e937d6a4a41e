import fs from 'node:fs';
import { checkSchemaDefinition, type KongFields } from '../emulator/kong-schema';
import { loadPluginDirectory } from '../../shared/server/plugin-module';

/** What validation needs of one built plugin: Kong's view (the dumped schema) and the plugin's own start-time checks. */
export interface SuitePlugin {
  name: string;
  /** The config record's fields, exactly as the query command dumps them for Kong. */
  fields: KongFields;
  /** Kong's metaschema objections to the dumped schema (Kong would refuse to load the plugin). */
  schemaProblems: string[];
  /** Why an instance start would refuse a config; undefined for a plugin not built with definePlugin. */
  checkConfig?: (config: unknown) => string[];
}

export class SuiteLoadError extends Error {
  override readonly name = 'SuiteLoadError';
}

/**
 * Loads the built plugins the way the plugin server does (same discovery, names and Schema export), so the checks see
 * what Kong would be given. Loading a plugin module opens nothing: connections and timers belong to instances.
 */
export function loadSuite(pluginsDir: string): Map<string, SuitePlugin> {
  if (!fs.existsSync(pluginsDir)) throw new SuiteLoadError(`no built plugins in ${pluginsDir} (run \`npm run build\`)`);
  const { plugins, problems } = loadPluginDirectory(pluginsDir);
  if (problems.length) throw new SuiteLoadError(`cannot load the plugins in ${pluginsDir}: ${problems.map((p) => `${p.file}: ${p.error}`).join('; ')}`);
  if (plugins.size === 0) throw new SuiteLoadError(`no built plugins in ${pluginsDir} (run \`npm run build\`)`);
  const suite = new Map<string, SuitePlugin>();
  for (const [name, module] of plugins) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(module.location) as { checkConfig?: unknown };
    const fields = module.info().Schema.fields[0].config.fields as KongFields;
    suite.set(name, {
      name,
      fields,
      schemaProblems: checkSchemaDefinition(fields),
      checkConfig: typeof exports.checkConfig === 'function' ? (exports.checkConfig as SuitePlugin['checkConfig']) : undefined,
    });
  }
  return suite;
}
