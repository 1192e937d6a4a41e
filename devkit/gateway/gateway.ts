import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadKongYaml, type KongConfig } from '../emulator/declarative';
import { KongEmulator } from '../emulator/kong';
import type { DemoUpstream } from '../upstreams/demo-upstream';
import { describePluginEntry } from '../emulator/plugin-entry';
import { demoUpstreams } from '../upstreams';
import type { Logger } from '../../shared/observability/log';
import { startDemoUpstreams, type RunningUpstream } from './demo-upstreams';
import { createHttpBridge } from './http-bridge';
import { startLogForwarder } from './log-forwarder';
import { GatewayStartError, listenOn } from './listen';
import type { GatewayOptions } from './options';
import { reportPlugins } from './plugin-report';
import { startPluginServers } from './plugin-servers';
import { probePluginRedis } from './redis-probe';
import { summarizeRoutes, summarizeUpstreams, type GatewaySummary } from './summary';

export interface RunningGateway {
  summary: GatewaySummary;
  kong: KongEmulator;
  /** Stops accepting, lets requests and log phases in flight finish (bounded), stops plugin servers and upstreams. */
  close(graceMs?: number): Promise<void>;
}

function readConfig(file: string): KongConfig {
  if (!fs.existsSync(file)) throw new GatewayStartError(`config file ${file} not found (--config / KONG_DEV_CONFIG)`);
  try {
    return loadKongYaml(file);
  } catch (err) {
    throw new GatewayStartError(`config file ${file}: ${(err as Error).message}`);
  }
}

/** Ephemeral demo upstreams: kong.yml services aimed at an upstream's fixed port follow it to its real one. */
function redirectServices(config: KongConfig, upstreams: readonly RunningUpstream[]): void {
  for (const upstream of upstreams) {
    if (upstream.port === upstream.configuredPort) continue;
    for (const service of config.services) {
      if (['127.0.0.1', 'localhost'].includes(service.host) && service.port === upstream.configuredPort) service.port = upstream.port;
    }
  }
}

/**
 * The dev gateway (`npm start`): demo upstreams, plugin server(s) behind the Kong emulator, kong.yml, and an HTTP
 * server in front. Whatever was started is stopped again when a later step fails.
 */
export interface GatewayHooks {
  /** Demo upstreams to start (default: devkit/upstreams/index.ts). */
  upstreams?: readonly DemoUpstream[];
  /** Receives the plugin servers' own output (their pino JSON on stderr); dropped when absent. */
  serverOutput?: (text: string) => void;
}

export async function startGateway(options: GatewayOptions, log: Logger, hooks: GatewayHooks = {}): Promise<RunningGateway> {
  const config = readConfig(options.config);
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log.warn({ err }, 'cleanup step failed'));
  };
  try {
    const upstreams = await startDemoUpstreams(hooks.upstreams ?? demoUpstreams, options.ephemeralUpstreams, log);
    cleanups.push(() => Promise.all(upstreams.map((u) => u.close())).then(() => undefined));
    redirectServices(config, upstreams);

    const kong = new KongEmulator({ workers: options.workers });
    cleanups.push(async () => {
      await kong.close();
      fs.rmSync(kong.prefix, { recursive: true, force: true });
    });
    const servers = await startPluginServers(kong, options).catch((err: Error) => {
      throw new GatewayStartError(`${options.server} plugin server on ${options.pluginsDir} failed to start: ${err.message.slice(0, 2000)}`);
    });
    const stopForwarding = startLogForwarder(kong, log, hooks.serverOutput);
    cleanups.push(async () => stopForwarding());
    try {
      kong.configure(config);
    } catch (err) {
      throw new GatewayStartError(`${options.config}: ${(err as Error).message}`);
    }
    const refused = await kong.startAllInstances();
    if (refused.length) {
      const lines = refused.map((r) => `  ${describePluginEntry(r.entity, config)}: ${r.error}`);
      throw new GatewayStartError(`${options.config}: plugin instances refused to start:\n${lines.join('\n')}\n(check offline first: npx kong-plugins validate ${options.config})`);
    }
    // after the plugin servers' start-up queries (they block the event loop, which would skew the probes' timeouts)
    const redis = await probePluginRedis(config, kong);

    const bridge = createHttpBridge(kong, log);
    const server = http.createServer(bridge.listener);
    server.keepAliveTimeout = 5_000;
    try {
      await listenOn(server, options.host, options.port);
    } catch (err) {
      if (err instanceof GatewayStartError) throw new GatewayStartError(`dev gateway: ${err.message} (pick another with --port or KONG_DEV_PORT)`);
      throw err;
    }
    const port = (server.address() as AddressInfo).port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const summary: GatewaySummary = {
      url: `http://${host}:${port}`,
      port,
      config: options.config,
      server: options.server,
      perPlugin: options.perPlugin,
      pluginServerProcesses: servers.processes,
      pluginsServed: servers.plugins,
      ...(servers.note ? { pluginsNote: servers.note } : {}),
      plugins: reportPlugins(config, new Set(servers.plugins)),
      routes: summarizeRoutes(config),
      upstreams: summarizeUpstreams(upstreams),
      redis,
    };

    let closing: Promise<void> | undefined;
    const close = (graceMs = 5_000) =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await bridge.drain(graceMs);
        server.closeAllConnections();
        await closed;
        await cleanup();
      })());
    return { summary, kong, close };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
