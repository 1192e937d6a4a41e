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
}

/** A KONG_DEV_* variable with a value the gateway cannot use (printed as `kong-dev-gateway: <message>`, exit 1). */
export class EnvironmentError extends Error {
  override get name(): string {
    return 'EnvironmentError';
  }
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return parsed;
  };
}

/** A variable's value through a flag's parser: a refusal names the variable and the value, as flags do. */
function fromEnv<T>(env: NodeJS.ProcessEnv, name: string, parse: (value: string) => T, fallback: T): T {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  try {
    return parse(value);
  } catch (err) {
    throw new EnvironmentError(`${name}=${JSON.stringify(value)} is invalid: ${(err as Error).message}`);
  }
}

function boolean(value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error('expected one of 1, true, yes, on, 0, false, no, off');
}

function choice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new Error(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}

/**
 * Flags first, then KONG_DEV_* variables, then defaults. A bad flag is commander's usage error (CommanderError); a
 * bad variable is an EnvironmentError naming it, thrown before any flag is read.
 */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GatewayOptions {
  const fromEnvironment = {
    port: fromEnv(env, 'KONG_DEV_PORT', integer('KONG_DEV_PORT', 0, 65535), 8000),
    workers: fromEnv(env, 'KONG_DEV_WORKERS', integer('KONG_DEV_WORKERS', 1, 64), 2),
    server: fromEnv(env, 'KONG_DEV_SERVER', choice(['ours', 'stock'] as const), 'ours'),
    perPlugin: fromEnv<boolean | undefined>(env, 'KONG_DEV_PER_PLUGIN', boolean, undefined),
    ephemeralUpstreams: fromEnv(env, 'KONG_DEV_EPHEMERAL_UPSTREAMS', boolean, false),
  };
  const program = new Command('kong-dev-gateway')
    .description('Local development gateway: serves kong.yml with the suite\'s plugin servers and the demo upstreams')
    .exitOverride()
    .option('--host <address>', 'address to listen on (KONG_DEV_HOST)', env.KONG_DEV_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to listen on, 0 for a free one (KONG_DEV_PORT)', integer('--port', 0, 65535), fromEnvironment.port)
    .option('--config <file>', 'declarative config (KONG_DEV_CONFIG)', env.KONG_DEV_CONFIG ?? 'kong.yml')
    .option('--plugins-dir <dir>', 'built plugins to serve (KONG_DEV_PLUGINS_DIR)', env.KONG_DEV_PLUGINS_DIR ?? BUILT_PLUGINS)
    .option('--workers <n>', 'emulated nginx workers (KONG_DEV_WORKERS)', integer('--workers', 1, 64), fromEnvironment.workers)
    .addOption(new Option('--server <kind>', 'plugin server: ours or kong-pdk\'s stock one (KONG_DEV_SERVER)').choices(['ours', 'stock']).default(fromEnvironment.server))
    .option('--per-plugin', 'one plugin-server process per plugin (default for ours; KONG_DEV_PER_PLUGIN)')
    .option('--no-per-plugin', 'one plugin-server process for all plugins')
    .option('--ephemeral-upstreams', 'start demo upstreams on free ports (KONG_DEV_EPHEMERAL_UPSTREAMS)', fromEnvironment.ephemeralUpstreams);
  program.parse(argv as string[], { from: 'user' });
  const opts = program.opts<{
    host: string; port: number; config: string; pluginsDir: string; workers: number; server: string; perPlugin?: boolean; ephemeralUpstreams: boolean;
  }>();
  const server = opts.server as ServerKind; // commander checked the flag's choices, fromEnv the variable's
  const perPlugin = (opts.perPlugin ?? fromEnvironment.perPlugin ?? true) && server === 'ours';
  return {
    host: opts.host,
    port: opts.port,
    config: path.resolve(cwd, opts.config),
    pluginsDir: path.resolve(cwd, opts.pluginsDir),
    workers: opts.workers,
    server,
    perPlugin,
    ephemeralUpstreams: opts.ephemeralUpstreams,
  };
}
