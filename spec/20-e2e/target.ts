import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import type { ServerKind } from '../../devkit/emulator/plugin-server-process';
import { request } from './http-client';

/**
 * Where the end-to-end suite sends its requests.
 * - KONG_PROXY_URL set (`npm run test:kong`, the kong-e2e workflow): a running Kong serving kong.yml. Nothing is
 *   started; Redis is whatever that Kong's tenant-quota config points at.
 * - unset (`npm test`): the dev gateway on 127.0.0.1:0 with ephemeral demo upstreams, one per plugin server kind.
 *   Its tenant-quota talks to a private redis-server started here (kong.yml's config with only `redis` re-aimed),
 *   so the suite never touches the keys of a dev gateway running on 127.0.0.1:6379.
 * The devkit is loaded only for the dev gateway: against Kong the suite runs no emulator code at all.
 */
export const KONG_YML = path.resolve(__dirname, '..', '..', 'kong.yml');
export const PROBE_TIMEOUT_MS = 3_000;

export interface TargetSpec {
  /** For test names: "Kong at http://...", "dev gateway (ours plugin server)". */
  label: string;
  kind: 'kong' | 'dev-gateway';
  server?: ServerKind;
}

export interface RunningTarget {
  url: string;
  close(): Promise<void>;
}

export function kongProxyUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.KONG_PROXY_URL?.trim();
  return url ? url.replace(/\/+$/, '') : undefined;
}

export function targetSpecs(env: NodeJS.ProcessEnv = process.env): TargetSpec[] {
  const url = kongProxyUrl(env);
  if (url) return [{ label: `Kong at ${url}`, kind: 'kong' }];
  return (['ours', 'stock'] as const).map((server) => ({ label: `dev gateway (${server} plugin server)`, kind: 'dev-gateway', server }));
}

/** Fails with what to do when nothing answers HTTP at `url` (any status is an answer: Kong says 404 at /). */
export async function assertAnswers(url: string): Promise<void> {
  try {
    await request(url, '/', { timeoutMs: PROBE_TIMEOUT_MS });
  } catch (err) {
    throw new Error(
      `nothing answers HTTP at ${url} (KONG_PROXY_URL): ${(err as Error).message}.\n` +
        'Start Kong with the suite first (docker compose up --build -d; it is ready when http://127.0.0.1:8001/status answers),\n' +
        'point KONG_PROXY_URL at your Kong proxy, or run `npm test` to run the suite against the dev gateway instead.',
    );
  }
}

/** kong.yml with every tenant-quota config's Redis (and bot-guard's behaviour.redis) aimed at 127.0.0.1:<port>, written to `dir`. */
export function configWithRedis(port: number, dir: string, source = KONG_YML): string {
  const config = YAML.parse(fs.readFileSync(source, 'utf8'));
  let patched = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.name === 'tenant-quota' && record.config && typeof record.config === 'object') {
      const plugin = record.config as Record<string, unknown>;
      plugin.redis = { ...((plugin.redis as object | undefined) ?? {}), host: '127.0.0.1', port };
      patched++;
    }
    const behaviour = record.name === 'bot-guard' ? ((record.config as Record<string, any> | undefined)?.behaviour as Record<string, unknown> | undefined) : undefined;
    if (behaviour) behaviour.redis = { ...((behaviour.redis as object | undefined) ?? {}), host: '127.0.0.1', port };
    Object.values(record).forEach(visit);
  };
  visit(config);
  if (patched === 0) throw new Error(`${source} has no tenant-quota config to aim at the private Redis`);
  const file = path.join(dir, 'kong.yml');
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

export async function startTarget(spec: TargetSpec): Promise<RunningTarget> {
  if (spec.kind === 'kong') {
    const url = kongProxyUrl() as string;
    await assertAnswers(url);
    return { url, close: async () => undefined };
  }
  const [{ startGateway }, { parseOptions }, { startRedisServer }] = await Promise.all([
    import('../../devkit/gateway/gateway'),
    import('../../devkit/gateway/options'),
    import('../helpers/redis-servers'),
  ]);
  const redis = await startRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kong-e2e-'));
  try {
    const config = configWithRedis(redis.port, dir);
    const options = parseOptions(['--host', '127.0.0.1', '--port', '0', '--config', config, '--server', spec.server ?? 'ours', '--ephemeral-upstreams'], {
      REDIS_PORT: String(redis.port),
    });
    const gateway = await startGateway(options, pino({ level: 'silent' }));
    return {
      url: gateway.summary.url,
      close: async () => {
        await gateway.close();
        await redis.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
