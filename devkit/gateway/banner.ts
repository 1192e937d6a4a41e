import path from 'node:path';
import type { GatewaySummary } from './summary';

function list(items: string[], empty: string): string[] {
  return items.length ? items.map((item) => `  ${item}`) : [`  ${empty}`];
}

/**
 * The Redis lines of the banner: one per plugin entry with a `redis` block, probed at the addresses of that block
 * (what the plugin itself will use). A plugin whose Redis does not answer applies its own failure policy
 * (tenant-quota's on_redis_failure: local fallback by default).
 */
export function redisLines(redis: GatewaySummary['redis']): string[] {
  if (redis.length === 0) return ['Redis: no active plugin entry has a redis block'];
  return [
    'Redis (each plugin entry\'s own redis: block):',
    ...redis.map((use) => {
      const kind = use.mode === 'standalone' ? '' : `${use.mode} `;
      const nodes = use.probes
        .map((p) => `${p.host}:${p.port}${use.tls ? ' (tls)' : ''} ${p.reachable ? 'reachable' : `not reachable (${p.detail ?? 'no answer'})`}`)
        .join(', ');
      return `  ${use.entry}: ${kind}${nodes}${use.reachable ? '' : '; its Redis failure policy applies (e.g. a local fallback)'}`;
    }),
  ];
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
  const emulated = summary.plugins.filter((p) => p.status === 'emulated').map((p) => `${p.name} (${p.scope}): ${p.reason}`);
  const skipped = summary.plugins.filter((p) => p.status !== 'active' && p.status !== 'emulated').map((p) => `${p.name} (${p.scope}): ${p.reason}`);
  const lines = [
    '',
    `Kong dev gateway on ${summary.url}`,
    `  config ${path.relative(cwd, summary.config) || summary.config}; ${servers}`,
    'Routes:',
    ...list(routes, '(none)'),
    'Custom plugins active:',
    ...list(active, summary.pluginsNote ?? '(none configured in kong.yml)'),
    ...(idle.length ? ['Custom plugins loaded but not configured:', ...list(idle, '')] : []),
    ...(emulated.length ? ['Kong bundled plugins emulated:', ...list(emulated, '')] : []),
    ...(skipped.length ? ['Skipped:', ...list(skipped, '')] : []),
    'Demo upstreams:',
    ...list(summary.upstreams.map((u) => `${u.name} ${u.url}`), '(none)'),
    ...redisLines(summary.redis),
    'Ctrl-C stops the gateway.',
    '',
  ];
  return lines.join('\n');
}
