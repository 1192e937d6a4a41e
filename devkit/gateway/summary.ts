import type { KongConfig } from '../emulator/declarative';
import type { ServerKind } from '../emulator/plugin-server-process';
import type { RunningUpstream } from './demo-upstreams';
import type { PluginReportEntry } from './plugin-report';
import type { PluginRedis } from './redis-probe';

export interface RouteSummary {
  name: string;
  paths: string[];
  methods: string[];
  hosts: string[];
  stripPath: boolean;
  service: string | undefined;
  upstream: string | undefined;
}

/** What the dev gateway serves, for the startup log line and the banner. */
export interface GatewaySummary {
  url: string;
  port: number;
  config: string;
  server: ServerKind;
  perPlugin: boolean;
  pluginServerProcesses: number;
  /** Plugins the plugin servers load (configured or not). */
  pluginsServed: string[];
  pluginsNote?: string;
  plugins: PluginReportEntry[];
  routes: RouteSummary[];
  upstreams: Array<{ name: string; url: string }>;
  /** The Redis of every active plugin entry that has a `redis` block, probed where that block points. */
  redis: PluginRedis[];
}

export function summarizeRoutes(config: KongConfig): RouteSummary[] {
  const services = new Map(config.services.map((s) => [s.id, s]));
  return config.routes.map((route) => {
    const service = route.service ? services.get(route.service.id) : undefined;
    return {
      name: route.name ?? route.id,
      paths: route.paths ?? [],
      methods: route.methods ?? [],
      hosts: route.hosts ?? [],
      stripPath: route.strip_path !== false,
      service: service?.name,
      upstream: service ? `${service.protocol}://${service.host}:${service.port}${service.path && service.path !== '/' ? service.path : ''}` : undefined,
    };
  });
}

export function summarizeUpstreams(running: readonly RunningUpstream[]): Array<{ name: string; url: string }> {
  return running.map((u) => ({ name: u.name, url: `http://127.0.0.1:${u.port}` }));
}
