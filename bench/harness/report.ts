/**
 * What a bench module returns: tables printed by bench/run.ts and the same data written to bench/results/.
 * Ratios compare against baselines measured in the same run (never against stored numbers).
 */
export interface BenchTable {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  notes?: string[];
}

export interface BenchReport {
  name: string;
  tables: BenchTable[];
  /** Raw measurements for bench/results/latest.json. */
  data?: Record<string, unknown>;
}

export function formatTable(table: BenchTable): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map(formatCell))];
  const widths = table.columns.map((_, c) => Math.max(...cells.map((row) => String(row[c] ?? '').length)));
  const line = (row: Array<string | number>) =>
    row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
  const out = [`## ${table.title}`, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of cells.slice(1)) out.push(line(row));
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join('\n') + '\n';
}

function formatCell(cell: string | number): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Math.abs(cell) >= 1000) return Math.round(cell).toLocaleString('en-US');
  if (Math.abs(cell) >= 100) return cell.toFixed(0);
  if (Math.abs(cell) >= 10) return cell.toFixed(1);
  return cell.toFixed(2);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function ratio(value: number, baseline: number): string {
  return baseline > 0 ? `${(value / baseline).toFixed(2)}x` : 'n/a';
}

/** Progress lines go to stderr so stdout carries only the tables. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * The entry of a bench run on its own (`node dist/bench/<name>.js`): when `entry` is the main module, runs the bench,
 * prints its tables (or its preformatted `table`) to stdout and exits (pools and workers would keep the process
 * alive); a failure prints its stack and exits 1.
 */
export function runWhenMain(entry: NodeModule, bench: () => Promise<BenchReport | { table: string }>): void {
  if (require.main !== entry) return;
  bench().then(
    (result) => {
      const text = 'table' in result ? result.table : result.tables.map(formatTable).join('\n');
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`, () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
