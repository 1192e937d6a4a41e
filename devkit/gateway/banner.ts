import path from 'node:path';
import type { GatewaySummary } from './summary';

function list(items: string[], empty: string): string[] {
  return items.length ? items.map((item) => `  ${item}`) : [`  ${empty}`];
}

/** The Redis line of the banner; plugins fall back to their local (in-process) state when Redis is away. */
export function redisLine(redis: GatewaySummary['redis']): string {
  const address = `${redis.host}:${redis.port}`;
  return redis.reachable
    ? `Redis reachable at ${address}`
    : `Redis not reachable: plugins use their local fallbacks (${address}: ${redis.detail ?? 'no answer'})`;
}

/** The short human-readable startup banner. */
export function formatBanner(summary: GatewaySummary, cwd = process.cwd()): string {
  const servers =
    summary.pluginServerProcesses === 0
      ? 'no plugin server'
      : summary.perPlugin
        ? `${summary.pluginServerProcesses} ${summary.server} plugin-server process(es), one per plugin`
        : `1 ${summary.server} plugin-server process`;
  const routes = summary.routes.map((r) => {
    const match = [r.paths.join(',') || '(any path)', r.methods.length ? `[${r.methods.join(',')}]` : '', r.hosts.length ? `host ${r.hosts.join(',')}` : '']
      .filter(Boolean)
      .join(' ');
    return `${match} -> ${r.service ?? '(no service)'} ${r.upstream ?? ''}  (route ${r.name}${r.stripPath ? ', strip_path' : ''})`;
  });
  const active = summary.plugins.filter((p) => p.status === 'active').map((p) => `${p.name} (${p.scope})`);
  const configured = new Set(summary.plugins.map((p) => p.name));
  const idle = summary.pluginsServed.filter((name) => !configured.has(name));
  const skipped = summary.plugins.filter((p) => p.status !== 'active').map((p) => `${p.name} (${p.scope}): ${p.reason}`);
  const lines = [
    '',
    `Kong dev gateway on ${summary.url}`,
    `  config ${path.relative(cwd, summary.config) || summary.config}; ${servers}`,
    'Routes:',
    ...list(routes, '(none)'),
    'Custom plugins active:',
    ...list(active, summary.pluginsNote ?? '(none configured in kong.yml)'),
    ...(idle.length ? ['Custom plugins loaded but not configured:', ...list(idle, '')] : []),
    ...(skipped.length ? ['Skipped:', ...list(skipped, '')] : []),
    'Demo upstreams:',
    ...list(summary.upstreams.map((u) => `${u.name} ${u.url}`), '(none)'),
    redisLine(summary.redis),
    'Ctrl-C stops the gateway.',
    '',
  ];
  return lines.join('\n');
}
