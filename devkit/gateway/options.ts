import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BUILT_PLUGINS, type ServerKind } from '../emulator/plugin-server-process';

/** Everything `npm start` can be told, from CLI flags first, then KONG_DEV_* variables, then defaults. */
export interface GatewayOptions {
  host: string;
  /** 0 picks a free port (tests read the bound one from the gateway). */
  port: number;
  /** kong.yml path. */
  config: string;
  /** Directory of built plugins the plugin servers load. */
  pluginsDir: string;
  /** Emulated nginx workers (each with its own RPC connections and instance table). */
  workers: number;
  server: ServerKind;
  /** One plugin-server process per plugin (our server's --plugin mode), as Kong >= 3.9 deploys them. */
  perPlugin: boolean;
  /** Demo upstreams on free ports instead of their fixed ones; kong.yml services aimed at them are redirected. */
  ephemeralUpstreams: boolean;
  redis: { host: string; port: number };
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return parsed;
  };
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return !/^(0|false|no|off)$/i.test(value);
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GatewayOptions {
  const program = new Command('kong-dev-gateway')
    .description('Local development gateway: serves kong.yml with the suite\'s plugin servers and the demo upstreams')
    .exitOverride()
    .option('--host <address>', 'address to listen on (KONG_DEV_HOST)', env.KONG_DEV_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to listen on, 0 for a free one (KONG_DEV_PORT)', integer('--port', 0, 65535), integer('KONG_DEV_PORT', 0, 65535)(env.KONG_DEV_PORT ?? '8000'))
    .option('--config <file>', 'declarative config (KONG_DEV_CONFIG)', env.KONG_DEV_CONFIG ?? 'kong.yml')
    .option('--plugins-dir <dir>', 'built plugins to serve (KONG_DEV_PLUGINS_DIR)', env.KONG_DEV_PLUGINS_DIR ?? BUILT_PLUGINS)
    .option('--workers <n>', 'emulated nginx workers (KONG_DEV_WORKERS)', integer('--workers', 1, 64), integer('KONG_DEV_WORKERS', 1, 64)(env.KONG_DEV_WORKERS ?? '2'))
    .addOption(new Option('--server <kind>', 'plugin server: ours or kong-pdk\'s stock one (KONG_DEV_SERVER)').choices(['ours', 'stock']).default(env.KONG_DEV_SERVER ?? 'ours'))
    .option('--per-plugin', 'one plugin-server process per plugin (default for ours; KONG_DEV_PER_PLUGIN)')
    .option('--no-per-plugin', 'one plugin-server process for all plugins')
    .option('--ephemeral-upstreams', 'start demo upstreams on free ports (KONG_DEV_EPHEMERAL_UPSTREAMS)', flag(env.KONG_DEV_EPHEMERAL_UPSTREAMS) ?? false);
  program.parse(argv as string[], { from: 'user' });
  const opts = program.opts<{
    host: string; port: number; config: string; pluginsDir: string; workers: number; server: string; perPlugin?: boolean; ephemeralUpstreams: boolean;
  }>();
  const server = opts.server as ServerKind;
  if (server !== 'ours' && server !== 'stock') throw new InvalidArgumentError(`--server must be ours or stock, got "${opts.server}"`);
  const perPlugin = (opts.perPlugin ?? flag(env.KONG_DEV_PER_PLUGIN) ?? true) && server === 'ours';
  return {
    host: opts.host,
    port: opts.port,
    config: path.resolve(cwd, opts.config),
    pluginsDir: path.resolve(cwd, opts.pluginsDir),
    workers: opts.workers,
    server,
    perPlugin,
    ephemeralUpstreams: opts.ephemeralUpstreams,
    redis: { host: env.REDIS_HOST ?? '127.0.0.1', port: integer('REDIS_PORT', 1, 65535)(env.REDIS_PORT ?? '6379') },
  };
}
