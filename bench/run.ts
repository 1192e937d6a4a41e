import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../devkit/emulator/plugin-server-process';
import { formatTable, progress, type BenchReport } from './harness/report';

/**
 * `npm run bench`: every bench module below, in order; each prints tables with ratios against baselines measured
 * in the same run (our server vs the stock one; each plugin vs an empty plugin). A module not written yet is
 * skipped with a note. Results also go to bench/results/latest.json.
 */
const MODULES: Array<{ file: string; exportName: string }> = [
  { file: './plugin-server', exportName: 'benchPluginServer' },
  { file: './leak', exportName: 'benchLeak' },
  { file: './version-deprecation', exportName: 'benchVersionDeprecation' },
  { file: './operator-pattern', exportName: 'benchOperatorPattern' },
  { file: './pii-masking', exportName: 'benchPiiMasking' },
  { file: './tenant-quota', exportName: 'benchTenantQuota' },
  { file: './bot-guard', exportName: 'benchBotGuard' },
  { file: './request-guard', exportName: 'benchRequestGuard' },
  { file: './tenant-quota-vs-rlf', exportName: 'benchTenantQuotaVsRlf' },
  { file: './plugin-stubs', exportName: 'benchPluginStubs' },
  { file: './istio-policy-sync', exportName: 'benchIstioPolicySync' },
  { file: './rest-to-soap', exportName: 'benchRestToSoap' },
];

type BenchFunction = () => Promise<BenchReport | string | undefined | void>;

function load(file: string, exportName: string): BenchFunction | string {
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(path.basename(file))) {
      return `not present yet`;
    }
    throw err;
  }
  const fn = mod[exportName];
  return typeof fn === 'function' ? (fn as BenchFunction) : `exports no ${exportName}()`;
}

function isReport(value: unknown): value is BenchReport {
  return typeof value === 'object' && value !== null && Array.isArray((value as BenchReport).tables);
}

function textOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { table, text } = value as { table?: unknown; text?: unknown };
  if (typeof table === 'string') return table;
  if (typeof text === 'string') return text;
  return JSON.stringify(value, null, 2);
}

async function main(): Promise<number> {
  const results: Record<string, unknown> = {};
  let failures = 0;
  const started = Date.now();
  for (const { file, exportName } of MODULES) {
    const name = path.basename(file);
    let fn: BenchFunction | string;
    try {
      fn = load(file, exportName);
    } catch (err) {
      failures++;
      process.stdout.write(`# ${name}: failed to load: ${(err as Error).message}\n\n`);
      results[name] = { error: (err as Error).message };
      continue;
    }
    if (typeof fn === 'string') {
      process.stdout.write(`# ${name}: skipped (${fn})\n\n`);
      results[name] = { skipped: fn };
      continue;
    }
    progress(`${name}: ${exportName}()`);
    const t0 = Date.now();
    try {
      const report = await fn();
      if (isReport(report)) {
        for (const table of report.tables) process.stdout.write(formatTable(table) + '\n');
        results[name] = { seconds: (Date.now() - t0) / 1000, tables: report.tables, data: report.data };
      } else {
        // other shapes: a string, or an object carrying a preformatted `table`/`text`
        const text = typeof report === 'string' ? report : textOf(report);
        if (text) process.stdout.write(text.endsWith('\n') ? text + '\n' : text + '\n\n');
        results[name] = { seconds: (Date.now() - t0) / 1000, output: report ?? null };
      }
    } catch (err) {
      failures++;
      process.stdout.write(`# ${name}: FAILED: ${err instanceof Error ? err.stack : String(err)}\n\n`);
      results[name] = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  const out = path.join(ROOT, 'bench', 'results', 'latest.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, seconds: (Date.now() - started) / 1000 };
  fs.writeFileSync(out, JSON.stringify({ meta, results }, null, 2) + '\n');
  process.stdout.write(`results written to ${path.relative(process.cwd(), out)} (${meta.seconds.toFixed(1)} s)\n`);
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
