import type { VersionState } from './lifecycle';

/**
 * Who still calls deprecated versions, from Prometheus text exposition (what the plugin server's --metrics-port
 * serves). Pure: parsing and aggregation only; usage-cli.ts fetches and prints.
 */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric in Prometheus text format 0.0.4 (label values unescaped). */
export function parseSamples(text: string, metric: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    let at = metric.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (at < line.length && line[at] !== '}') {
        const eq = line.indexOf('=', at);
        if (eq < 0 || line[eq + 1] !== '"') break;
        const name = line.slice(at, eq).trim();
        let value = '';
        let i = eq + 2;
        for (; i < line.length && line[i] !== '"'; i++) {
          if (line[i] === '\\' && i + 1 < line.length) {
            const next = line[++i];
            value += next === 'n' ? '\n' : next;
          } else value += line[i];
        }
        labels[name] = value;
        at = i + 1;
        if (line[at] === ',') at++;
      }
      at++;
    }
    const value = Number(line.slice(at).trim().split(' ')[0]);
    if (Number.isFinite(value)) out.push({ labels, value });
  }
  return out;
}

export interface UsageRow {
  route: string;
  version: string;
  consumer: string;
  requests: number;
  /** Requests per lifecycle state (deprecated, brownout, sunset, announced). */
  states: Partial<Record<VersionState, number>>;
}

export interface ReportOptions {
  states: readonly VersionState[];
  version?: string;
}

export const UNTRACKED = '(untracked)';

/** Aggregates samples (possibly from several plugin servers) per route, version and consumer; busiest first. */
export function usageReport(samples: readonly Sample[], options: ReportOptions): UsageRow[] {
  const wanted = new Set<string>(options.states);
  const rows = new Map<string, UsageRow>();
  for (const { labels, value } of samples) {
    const state = labels.state as VersionState;
    if (!wanted.has(state) || value <= 0) continue;
    if (options.version && labels.version?.toLowerCase() !== options.version.toLowerCase()) continue;
    const consumer = labels.consumer || UNTRACKED;
    const key = `${labels.route}\u0000${labels.version}\u0000${consumer}`;
    let row = rows.get(key);
    if (!row) {
      row = { route: labels.route ?? '', version: labels.version ?? '', consumer, requests: 0, states: {} };
      rows.set(key, row);
    }
    row.requests += value;
    row.states[state] = (row.states[state] ?? 0) + value;
  }
  return [...rows.values()].sort((a, b) => b.requests - a.requests || a.consumer.localeCompare(b.consumer) || a.version.localeCompare(b.version));
}

/** A plain-text table, one row per consumer and version. */
export function formatTable(rows: readonly UsageRow[]): string {
  if (rows.length === 0) return 'No consumer is calling a deprecated API version.\n';
  const header = ['CONSUMER', 'VERSION', 'REQUESTS', 'STATES', 'ROUTE'];
  const body = rows.map((r) => [
    r.consumer,
    r.version,
    String(r.requests),
    Object.entries(r.states)
      .map(([state, n]) => `${state}=${n}`)
      .join(' '),
    r.route,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n';
  return line(header) + body.map(line).join('');
}
