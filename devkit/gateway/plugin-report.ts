import type { KongConfig, PluginEntity } from '../emulator/declarative';
import { isPiiGuard, luajitAvailable } from '../emulator/lua-guard';
import { KONG_BUNDLED_PLUGINS } from './bundled-plugins';

export type PluginStatus = 'active' | 'emulated' | 'kong-only' | 'consumer-scoped' | 'not-loaded' | 'disabled';

export interface PluginReportEntry {
  name: string;
  /** `global`, `route <name>`, `service <name>` or `consumer <name>`. */
  scope: string;
  status: PluginStatus;
  reason?: string;
}

const REASONS: Record<Exclude<PluginStatus, 'active'>, string> = {
  emulated: 'the pii-masking Kong-side guard: its shipped Lua (plugins/pii-masking/kong) runs here with luajit',
  'kong-only': 'runs in Kong only',
  'consumer-scoped': 'consumer-scoped: never applies here (identifying a consumer needs Kong\'s auth plugins)',
  'not-loaded': 'no plugin server serves it here (not built? run `npm run build`)',
  disabled: 'enabled: false',
};

function scopeOf(entity: PluginEntity, config: KongConfig): string {
  const nameOf = (list: Array<{ id: string; name?: string; username?: string }>, id: string) => {
    const found = list.find((e) => e.id === id);
    return found?.name ?? found?.username ?? id;
  };
  if (entity.consumer) return `consumer ${nameOf(config.consumers, entity.consumer.id)}`;
  if (entity.route) return `route ${nameOf(config.routes, entity.route.id)}`;
  if (entity.service) return `service ${nameOf(config.services, entity.service.id)}`;
  return 'global';
}

/** What the dev gateway does with each plugin entry of kong.yml, given the plugins its servers load. */
export function reportPlugins(config: KongConfig, served: ReadonlySet<string>): PluginReportEntry[] {
  return config.plugins.map((entity) => {
    let status: PluginStatus;
    if (!entity.enabled) status = 'disabled';
    else if (served.has(entity.name)) status = entity.consumer ? 'consumer-scoped' : 'active';
    else if (isPiiGuard(entity) && luajitAvailable()) status = 'emulated';
    else status = KONG_BUNDLED_PLUGINS.has(entity.name) ? 'kong-only' : 'not-loaded';
    const entry: PluginReportEntry = { name: entity.name, scope: scopeOf(entity, config), status };
    if (status !== 'active') entry.reason = REASONS[status];
    return entry;
  });
}
