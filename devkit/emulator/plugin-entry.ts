import type { KongConfig, PluginEntity } from './declarative';

/** `plugin tenant-quota on route quota-demo`: a plugin entry of kong.yml as a person finds it in the file (names, not ids). */
export function describePluginEntry(entity: PluginEntity, config: Pick<KongConfig, 'routes' | 'services' | 'consumers'>): string {
  const nameOf = (list: ReadonlyArray<{ id: string; name?: string; username?: string; custom_id?: string }>, id: string) => {
    const found = list.find((e) => e.id === id);
    return found?.name ?? found?.username ?? found?.custom_id ?? id;
  };
  const scopes: string[] = [];
  if (entity.route) scopes.push(`route ${nameOf(config.routes, entity.route.id)}`);
  if (entity.service) scopes.push(`service ${nameOf(config.services, entity.service.id)}`);
  if (entity.consumer) scopes.push(`consumer ${nameOf(config.consumers, entity.consumer.id)}`);
  const label = entity.instance_name ? `plugin ${entity.name} (instance ${entity.instance_name})` : `plugin ${entity.name}`;
  return scopes.length ? `${label} on ${scopes.join(' + ')}` : `${label} (global)`;
}
