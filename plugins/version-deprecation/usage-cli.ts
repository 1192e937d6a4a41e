import { Command } from 'commander';
import { REQUESTS_METRIC } from './analytics';
import type { VersionState } from './lifecycle';
import { formatTable, parseSamples, usageReport, type Sample } from './usage-report';

/**
 * `version-usage`: which consumers still call deprecated API versions, read from the plugin servers' Prometheus
 * endpoints (kong-plugin-server --metrics-port). Counters are per process: pass every plugin server's endpoint.
 * Exit codes: 0 ok, 1 error, 3 with --fail-if-any when some consumer still calls a deprecated version.
 */
export async function main(argv: string[] = process.argv, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const port = process.env.KONG_PLUGINS_METRICS_PORT;
  const program = new Command('version-usage')
    .description('Report the consumers that still call deprecated API versions (from the version-deprecation metrics)')
    .option('-u, --url <url>', 'metrics endpoint; repeat for several plugin servers (default: http://127.0.0.1:$KONG_PLUGINS_METRICS_PORT/metrics)', collect, [])
    .option('--version <name>', 'only this API version')
    .option('--include-announced', 'also versions whose deprecation date is still ahead')
    .option('--json', 'print JSON rows instead of a table')
    .option('--fail-if-any', 'exit with status 3 when a consumer still calls a deprecated version')
    .option('--timeout <ms>', 'per endpoint', '5000')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv);
  } catch (err) {
    return (err as { exitCode?: number }).exitCode ?? 1;
  }
  const options = program.opts<{ url: string[]; version?: string; includeAnnounced?: boolean; json?: boolean; failIfAny?: boolean; timeout: string }>();
  const urls = options.url.length ? options.url : port ? [`http://127.0.0.1:${port}/metrics`] : [];
  if (urls.length === 0) {
    process.stderr.write('version-usage: no metrics endpoint: pass --url or set KONG_PLUGINS_METRICS_PORT\n');
    return 1;
  }
  const samples: Sample[] = [];
  for (const url of urls) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Number(options.timeout)) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      samples.push(...parseSamples(await response.text(), REQUESTS_METRIC));
    } catch (err) {
      process.stderr.write(`version-usage: ${url}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const states: VersionState[] = ['deprecated', 'brownout', 'sunset'];
  if (options.includeAnnounced) states.push('announced');
  const rows = usageReport(samples, { states, version: options.version });
  out.write(options.json ? JSON.stringify(rows, null, 2) + '\n' : formatTable(rows));
  return options.failIfAny && rows.length > 0 ? 3 : 0;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
