import crypto from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import type { Consumer, RouteEntity, ServiceEntity } from './request-context';

/** A plugin entry of kong.yml, resolved to the entities it is scoped to. */
export interface PluginEntity {
  id: string;
  name: string;
  config: Record<string, unknown>;
  enabled: boolean;
  instance_name?: string;
  route?: { id: string };
  service?: { id: string };
  consumer?: { id: string };
}

export interface KongConfig {
  services: ServiceEntity[];
  routes: RouteEntity[];
  consumers: Consumer[];
  plugins: PluginEntity[];
}

/** Stable ids from names, so the same kong.yml always yields the same entity ids (as decK's would be fixed). */
export function stableId(kind: string, name: string): string {
  const hex = crypto.createHash('sha1').update(`${kind}:${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

type Raw = Record<string, any>;

export function loadKongYaml(file: string): KongConfig {
  return parseDeclarative(YAML.parse(fs.readFileSync(file, 'utf8')) as Raw);
}

/** Parses the declarative format (`_format_version: "3.0"`), nested or flat, as decK and Kong's DB-less mode read it. */
export function parseDeclarative(doc: Raw): KongConfig {
  if (!doc || typeof doc !== 'object') throw new Error('declarative config must be a mapping');
  const version = String(doc._format_version ?? '');
  if (!/^(1\.1|2\.1|3\.0)$/.test(version)) throw new Error(`unsupported _format_version "${version}" (expected "3.0")`);
  const config: KongConfig = { services: [], routes: [], consumers: [], plugins: [] };
  const serviceByName = new Map<string, ServiceEntity>();
  const routeByName = new Map<string, RouteEntity>();
  const consumerByName = new Map<string, Consumer>();

  const addPlugin = (raw: Raw, scope: { route?: string; service?: string; consumer?: string }) => {
    if (!raw.name) throw new Error('plugin entry without a name');
    const scopeName = [scope.route, scope.service, scope.consumer].map((s) => s ?? '').join(':');
    config.plugins.push({
      id: raw.id ?? stableId('plugin', `${raw.name}:${raw.instance_name ?? ''}:${scopeName}`),
      name: String(raw.name),
      config: (raw.config ?? {}) as Record<string, unknown>,
      enabled: raw.enabled !== false,
      instance_name: raw.instance_name,
      route: scope.route ? { id: scope.route } : undefined,
      service: scope.service ? { id: scope.service } : undefined,
      consumer: scope.consumer ? { id: scope.consumer } : undefined,
    });
  };

  const addRoute = (raw: Raw, serviceId: string | undefined) => {
    const name = raw.name ?? `route-${config.routes.length}`;
    const route: RouteEntity = {
      id: raw.id ?? stableId('route', name),
      name,
      paths: raw.paths,
      methods: raw.methods,
      hosts: raw.hosts,
      strip_path: raw.strip_path ?? true,
      preserve_host: raw.preserve_host ?? false,
      protocols: raw.protocols ?? ['http', 'https'],
      tags: raw.tags,
      service: serviceId ? { id: serviceId } : undefined,
    };
    config.routes.push(route);
    routeByName.set(name, route);
    for (const plugin of raw.plugins ?? []) addPlugin(plugin, { route: route.id, service: undefined });
  };

  for (const raw of (doc.services ?? []) as Raw[]) {
    const name = raw.name ?? `service-${config.services.length}`;
    const service: ServiceEntity = { id: raw.id ?? stableId('service', name), name, ...serviceTarget(raw), tags: raw.tags };
    config.services.push(service);
    serviceByName.set(name, service);
    for (const route of raw.routes ?? []) addRoute(route, service.id);
    for (const plugin of raw.plugins ?? []) addPlugin(plugin, { service: service.id });
  }
  for (const raw of (doc.routes ?? []) as Raw[]) {
    const service = raw.service ? serviceByName.get(raw.service.name ?? raw.service) : undefined;
    addRoute(raw, service?.id);
  }
  for (const raw of (doc.consumers ?? []) as Raw[]) {
    const consumer: Consumer = {
      id: raw.id ?? stableId('consumer', raw.username ?? raw.custom_id),
      username: raw.username,
      custom_id: raw.custom_id,
      tags: raw.tags,
      created_at: 1_700_000_000,
    };
    config.consumers.push(consumer);
    consumerByName.set(raw.username ?? raw.custom_id, consumer);
    for (const plugin of raw.plugins ?? []) addPlugin(plugin, { consumer: consumer.id });
  }
  for (const raw of (doc.plugins ?? []) as Raw[]) {
    const route = raw.route ? routeByName.get(raw.route.name ?? raw.route) : undefined;
    const service = raw.service ? serviceByName.get(raw.service.name ?? raw.service) : undefined;
    // a foreign key names the entity by its endpoint key (username) or its id, as a string or as {username}/{id}
    const consumerKey = raw.consumer?.username ?? raw.consumer?.id ?? raw.consumer;
    const consumer = raw.consumer ? (consumerByName.get(consumerKey) ?? config.consumers.find((c) => c.id === consumerKey)) : undefined;
    if (raw.route && !route) throw new Error(`plugin ${raw.name}: unknown route ${JSON.stringify(raw.route)}`);
    if (raw.service && !service) throw new Error(`plugin ${raw.name}: unknown service ${JSON.stringify(raw.service)}`);
    if (raw.consumer && !consumer) throw new Error(`plugin ${raw.name}: unknown consumer ${JSON.stringify(raw.consumer)}`);
    addPlugin(raw, { route: route?.id, service: service?.id, consumer: consumer?.id });
  }
  return config;
}

function serviceTarget(raw: Raw): Pick<ServiceEntity, 'protocol' | 'host' | 'port' | 'path'> {
  if (raw.url) {
    const url = new URL(raw.url);
    return {
      protocol: url.protocol.replace(':', ''),
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      path: url.pathname === '' ? undefined : url.pathname,
    };
  }
  return { protocol: raw.protocol ?? 'http', host: raw.host, port: raw.port ?? 80, path: raw.path };
}
