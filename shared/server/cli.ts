import { guardStdout, writeKongStdout } from './stdout-guard';
guardStdout(); // before anything else loads: plugins may print while loading

import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { encode } from '@msgpack/msgpack';
import { rootLogger } from '../observability/log';
import { sampledGauge, serveMetrics } from '../observability/metrics';
import { runShutdownHooks } from '../lifecycle';
import { loadPluginDirectory, type PluginModule } from './plugin-module';
import { PluginServer, type FailurePolicy } from './plugin-server';
import { connectedSockets, listen } from './socket-listener';

interface CliOptions {
  pluginsDirectory: string;
  kongPrefix: string;
  sockName?: string;
  plugin?: string;
  dumpAllPlugins?: boolean;
  dumpPluginInfo?: string;
  verbose: number;
  eventTimeout: string;
  instanceTtl: string;
  onPluginError: FailurePolicy;
  metricsPort?: string;
  shutdownGrace: string;
}

function parseArgs(argv: string[]): CliOptions {
  const program = new Command('kong-plugin-server')
    .description('Hardened drop-in replacement for kong-pdk\'s kong-js-pluginserver')
    .version(packageVersion(), '--version')
    .requiredOption('-d, --plugins-directory <dir>', 'directory of kong-pdk plugins (files or folders)')
    .option('-p, --kong-prefix <prefix>', 'directory of the unix socket', '/usr/local/kong')
    .option('--sock-name <name>', 'socket file name (default js_pluginserver.sock, or <plugin>.socket with --plugin)')
    .option('--plugin <name>', 'per-plugin mode: serve and dump only this plugin (one plugin-server entry per plugin, Kong >= 3.9)')
    .option('--dump-all-plugins', 'print every plugin\'s info as JSON on stdout and exit')
    .option('--dump-plugin-info <name>', 'print one plugin\'s info as MessagePack on stdout and exit')
    .option('-v, --verbose', 'more logging (repeatable)', (_v: string, previous: number) => previous + 1, 0)
    .option('--event-timeout <ms>', 'abandon events Kong has not stepped for this long', '60000')
    .option('--instance-ttl <seconds>', 'close instances idle this long', '3600')
    .addOption(new Option('--on-plugin-error <policy>', 'when a phase throws').choices(['fail-closed', 'fail-open']).default('fail-closed'))
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>', process.env.KONG_PLUGINS_METRICS_PORT)
    .option('--shutdown-grace <ms>', 'on SIGTERM, wait this long for in-flight events', '5000');
  program.parse(normalizeLegacyFlags(argv));
  return program.opts<CliOptions>();
}

/** kong-pdk's CLI also takes Go-style single-dash long flags (`-kong-prefix /usr/local/kong`); so do we. */
const LEGACY_FLAGS = new Set(['-kong-prefix', '-plugins-directory', '-dump-all-plugins', '-dump-plugin-info']);

export function normalizeLegacyFlags(argv: string[]): string[] {
  return argv.map((arg, i) => {
    if (i < 2) return arg;
    const [flag, value] = arg.split(/=(.*)/s, 2);
    if (!LEGACY_FLAGS.has(flag)) return arg;
    return value === undefined ? `-${flag}` : `-${flag}=${value}`;
  });
}

function packageVersion(): string {
  const file = path.join(__dirname, '..', '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function selectPlugins(all: Map<string, PluginModule>, only: string | undefined): Map<string, PluginModule> {
  if (!only) return all;
  const plugin = all.get(only.toLowerCase());
  if (!plugin) throw new Error(`plugin "${only}" not found; loaded: ${[...all.keys()].join(', ') || 'none'}`);
  return new Map([[plugin.name, plugin]]);
}

export async function main(argv = process.argv): Promise<void> {
  const options = parseArgs(argv);
  if (options.verbose > 0) rootLogger.level = options.verbose > 1 ? 'trace' : 'debug';
  const directory = path.resolve(options.pluginsDirectory);
  const { plugins: loaded, problems } = loadPluginDirectory(directory);
  for (const problem of problems) rootLogger.warn(problem, 'plugin not loaded');
  const plugins = selectPlugins(loaded, options.plugin);
  const server = new PluginServer(plugins, {
    eventTimeoutMs: Number(options.eventTimeout),
    instanceIdleMs: Number(options.instanceTtl) * 1000,
    onPluginError: options.onPluginError,
  });

  if (options.dumpAllPlugins) {
    writeKongStdout(JSON.stringify([...plugins.keys()].map((name) => server.pluginInfo(name))) + '\n');
    server.close();
    return process.exit(0);
  }
  if (options.dumpPluginInfo) {
    writeKongStdout(encode(server.pluginInfo(options.dumpPluginInfo)));
    server.close();
    return process.exit(0);
  }

  const sockName = options.sockName ?? (options.plugin ? `${options.plugin}.socket` : 'js_pluginserver.sock');
  const socketPath = path.join(options.kongPrefix, sockName);
  registerServerMetrics(server);
  // metrics first: once the socket exists Kong (and the emulator) treat the server as ready, /metrics included
  if (options.metricsPort) await serveMetrics(Number(options.metricsPort));
  const listener = await listen(server, socketPath);
  rootLogger.info({ socket: socketPath, plugins: [...plugins.keys()] }, 'plugin server ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    rootLogger.info({ signal, active_events: server.activeEvents }, 'shutting down');
    listener.close();
    const deadline = Date.now() + Number(options.shutdownGrace);
    while (server.activeEvents > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const socket of connectedSockets(listener)) socket.destroy();
    server.close();
    removeSocketFile(socketPath);
    await runShutdownHooks();
    rootLogger.info({ abandoned: server.activeEvents }, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function removeSocketFile(socketPath: string): void {
  try {
    fs.unlinkSync(socketPath);
  } catch {
    // already gone
  }
}

function registerServerMetrics(server: PluginServer): void {
  sampledGauge('kong_plugin_server_events_total', 'Phase events handled', () => server.counters.events);
  sampledGauge('kong_plugin_server_phase_errors_total', 'Phase handlers that threw', () => server.counters.phaseErrors);
  sampledGauge('kong_plugin_server_abandoned_events_total', 'Events Kong never stepped again, swept', () => server.counters.abandonedEvents);
  sampledGauge('kong_plugin_server_stuck_handlers_total', 'Handlers that never answered within the event timeout, dropped', () => server.counters.stuckHandlers);
  sampledGauge('kong_plugin_server_expired_instances_total', 'Instances closed after their idle expiry', () => server.counters.expiredInstances);
  sampledGauge('kong_plugin_server_rpc_errors_total', 'RPC requests answered with an error (unknown method, bad arguments, no instance)', () => server.counters.rpcErrors);
  sampledGauge('kong_plugin_server_instances', 'Live plugin instances', () => server.instances.size);
  sampledGauge('kong_plugin_server_events_waiting', 'Events waiting for a Step', () => server.eventsWaiting);
}
