import { Command } from 'commander';
import Redis, { Cluster } from 'ioredis';
import { tenantTag } from './limits';

/**
 * `tenant-usage`: show or reset a tenant's usage in Redis. Keys are `<prefix>:{<tenant>}:<scope>[:<who>]:<limit>:
 * <window>`, so one SCAN pattern finds a tenant's keys (on every master of a cluster; they all sit in the tenant's
 * slot). Exit codes: 0 ok, 1 error, 2 usage.
 */
export interface UsageRow {
  key: string;
  scope: string;
  limit: string;
  window: string;
  /** calendar: units used; gcra: ms until the bucket is full again; sliding: units in the window. */
  value: number;
  kind: 'calendar' | 'gcra' | 'sliding';
  ttl_ms: number;
}

interface Options {
  host: string;
  port: string;
  cluster?: string;
  password?: string;
  db: string;
  prefix: string;
  json?: boolean;
  limit?: string;
}

function connect(o: Options): Redis | Cluster {
  const common = { password: o.password || process.env.REDIS_PASSWORD || undefined, lazyConnect: false, maxRetriesPerRequest: 1, connectTimeout: 2000 };
  if (o.cluster) {
    const nodes = o.cluster.split(',').map((n) => {
      const [host, port] = n.split(':');
      return { host, port: Number(port) };
    });
    return new Cluster(nodes, { redisOptions: common });
  }
  return new Redis({ ...common, host: o.host, port: Number(o.port), db: Number(o.db) });
}

async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return [...new Set(keys)].sort();
}

/** Escapes glob characters of the tenant tag for SCAN MATCH. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export async function tenantKeys(client: Redis | Cluster, prefix: string, tenant: string, limit?: string): Promise<string[]> {
  const keys = await scanKeys(client, `${globEscape(tenantTag(prefix, tenant))}:*`);
  return limit ? keys.filter((k) => describeKey(k, prefix, tenant)?.limit === limit) : keys;
}

function describeKey(key: string, prefix: string, tenant: string): Pick<UsageRow, 'scope' | 'limit' | 'window'> | undefined {
  const rest = key.slice(tenantTag(prefix, tenant).length + 1).split(':');
  if (rest[0] === 't') return { scope: 'tenant', limit: rest[1], window: rest.slice(2).join(':') };
  if (rest[0] === 'c' || rest[0] === 'e') return { scope: `${rest[0] === 'c' ? 'consumer' : 'endpoint'}:${decodeURIComponent(rest[1])}`, limit: rest[2], window: rest.slice(3).join(':') };
  return undefined;
}

export async function usage(client: Redis | Cluster, prefix: string, tenant: string): Promise<UsageRow[]> {
  const rows: UsageRow[] = [];
  for (const key of await tenantKeys(client, prefix, tenant)) {
    const where = describeKey(key, prefix, tenant);
    if (!where || key.endsWith(':z')) continue;
    const ttl = Number(await client.pttl(key));
    if (key.endsWith(':h')) {
      rows.push({ key: key.slice(0, -2), ...where, window: where.window.slice(0, -2), kind: 'sliding', value: Number((await client.hget(key, 'n')) ?? 0), ttl_ms: ttl });
    } else if (where.window.startsWith('g')) {
      const [tat, time] = await Promise.all([client.get(key), client.time()]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      rows.push({ key, ...where, kind: 'gcra', value: Math.max(0, Math.ceil(Number(tat ?? 0) - now)), ttl_ms: ttl });
    } else {
      rows.push({ key, ...where, kind: 'calendar', value: Number((await client.get(key)) ?? 0), ttl_ms: ttl });
    }
  }
  return rows;
}

export function formatRows(rows: UsageRow[]): string {
  if (!rows.length) return 'no usage recorded\n';
  const head = ['scope', 'limit', 'kind', 'window', 'usage', 'resets in'];
  const cells = rows.map((r) => [r.scope, r.limit, r.kind, r.window, r.kind === 'gcra' ? `full in ${Math.ceil(r.value / 1000)} s` : `${r.value} units`, `${Math.ceil(r.ttl_ms / 1000)} s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

export async function main(argv: string[] = process.argv, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const program = new Command('tenant-usage')
    .description("Show or reset a tenant's tenant-quota usage in Redis")
    .option('-H, --host <host>', 'Redis host', '127.0.0.1')
    .option('-p, --port <port>', 'Redis port', '6379')
    .option('-c, --cluster <nodes>', 'Redis Cluster startup nodes host:port,host:port (instead of host/port)')
    .option('-a, --password <password>', 'Redis password (or REDIS_PASSWORD)')
    .option('-n, --db <db>', 'database', '0')
    .option('--prefix <prefix>', 'key_prefix of the plugin config', 'tq')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => process.stderr.write(s) });
  let action: Promise<number> = Promise.resolve(0);
  program
    .command('show <tenant>')
    .description("print the tenant's counters: scope, limit, usage, time to reset")
    .option('--json', 'JSON rows')
    .action((tenant: string, cmd: { json?: boolean }) => {
      action = run(program.opts<Options>(), async (client, o) => {
        const rows = await usage(client, o.prefix, tenant);
        out.write(cmd.json ? JSON.stringify(rows, null, 2) + '\n' : formatRows(rows));
        return 0;
      });
    });
  program
    .command('reset <tenant>')
    .description("delete the tenant's counters (all, or one limit's): its quotas start afresh")
    .option('--limit <name>', 'only this limit')
    .action((tenant: string, cmd: { limit?: string }) => {
      action = run(program.opts<Options>(), async (client, o) => {
        const keys = await tenantKeys(client, o.prefix, tenant, cmd.limit);
        for (const key of keys) await client.del(key);
        out.write(`deleted ${keys.length} key(s) of tenant ${tenant}${cmd.limit ? ` limit ${cmd.limit}` : ''}\n`);
        return 0;
      });
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  return action;
}

async function run(o: Options, work: (client: Redis | Cluster, o: Options) => Promise<number>): Promise<number> {
  const client = connect(o);
  client.on('error', () => undefined);
  try {
    return await work(client, o);
  } catch (err) {
    process.stderr.write(`tenant-usage: ${(err as Error).message}\n`);
    return 1;
  } finally {
    client.disconnect();
  }
}
