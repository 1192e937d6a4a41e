import type { ValidationReport } from './check-plugins';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function listCounts(counts: ReadonlyMap<string, number>): string {
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => (n === 1 ? name : `${name} x${n}`)).join(', ');
}

/** One line per error, `<file>: <plugin entry>: <config.path>: <message>`, so CI logs and editors can point at it. */
export function errorLines(file: string, report: ValidationReport): string[] {
  return report.problems.map((p) => `${file}: ${p.entry}: ${p.message}`);
}

/** What was checked, for the clean and the failing case alike. */
export function summaryLine(file: string, report: ValidationReport): string {
  const checked = [...report.checked.values()].reduce((a, b) => a + b, 0);
  const skipped = [...report.skipped.values()].reduce((a, b) => a + b, 0);
  const verdict = report.problems.length ? `${plural(report.problems.length, 'error')}` : 'OK';
  const what = checked ? `${plural(checked, 'plugin config')} checked (${listCounts(report.checked)})` : 'no plugin config of this suite';
  const bundled = skipped ? `${plural(skipped, 'bundled-plugin entry').replace('entrys', 'entries')} skipped as not ours (${listCounts(report.skipped)})` : 'no bundled-plugin entry';
  return `${file}: ${verdict}: ${what} against Kong 3.9's schema rules and the plugins' start-time checks; ${bundled}`;
}
