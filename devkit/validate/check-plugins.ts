import type { KongConfig, PluginEntity } from '../emulator/declarative';
import { fillDefaults, validateConfig } from '../emulator/kong-schema';
import { describePluginEntry } from '../emulator/plugin-entry';
import type { SuitePlugin } from './suite';

/** One error: which plugin entry of kong.yml (by name and scope) and what is wrong with it (`config.<path>: ...`). */
export interface ConfigProblem {
  entry: string;
  message: string;
}

export interface ValidationReport {
  problems: ConfigProblem[];
  /** Entries of our plugins checked, per plugin name. */
  checked: Map<string, number>;
  /** Entries of Kong's bundled plugins, per name: Kong validates those itself. */
  skipped: Map<string, number>;
}

const count = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

/**
 * Checks every plugin entry of a declarative config, at any scope, as far as it concerns the suite: Kong's schema
 * rules on the dumped schema first (what loading kong.yml would refuse), then, for configs Kong accepts, the
 * plugin's own start-time checks (what the instance start would refuse). Disabled entries are checked too: Kong
 * validates them, and they start when enabled. Pure: the suite's checks build no handler.
 */
export function checkPluginConfigs(config: KongConfig, suite: ReadonlyMap<string, SuitePlugin>, bundled: ReadonlySet<string>): ValidationReport {
  const report: ValidationReport = { problems: [], checked: new Map(), skipped: new Map() };
  const schemaReported = new Set<string>();
  for (const entity of config.plugins) {
    const entry = describePluginEntry(entity, config);
    const plugin = suite.get(entity.name);
    if (!plugin) {
      if (bundled.has(entity.name)) count(report.skipped, entity.name);
      else report.problems.push({ entry, message: 'unknown plugin: not built in this suite and not bundled with Kong 3.9' });
      continue;
    }
    count(report.checked, entity.name);
    if (plugin.schemaProblems.length && !schemaReported.has(plugin.name)) {
      schemaReported.add(plugin.name);
      for (const problem of plugin.schemaProblems) report.problems.push({ entry, message: `schema refused by Kong's metaschema: ${problem}` });
    }
    for (const message of checkEntry(plugin, entity)) report.problems.push({ entry, message });
  }
  return report;
}

function checkEntry(plugin: SuitePlugin, entity: PluginEntity): string[] {
  if (!entity.config || typeof entity.config !== 'object' || Array.isArray(entity.config)) return ['config: expected a record'];
  const filled = fillDefaults(plugin.fields, entity.config);
  const kongErrors = validateConfig(plugin.fields, filled);
  // as in Kong: an instance only ever starts from a config the schema accepted
  if (kongErrors.length) return kongErrors;
  return plugin.checkConfig ? plugin.checkConfig(structuredClone(filled)) : [];
}
