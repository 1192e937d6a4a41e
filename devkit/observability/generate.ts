import fs from 'node:fs';
import path from 'node:path';
import { DASHBOARDS, dashboardJson } from './dashboards';

/**
 * `npm run dashboards`: writes observability/grafana/dashboards/<uid>.json from dashboards.ts and removes stale
 * ones. spec/01-schema/dashboards.spec.ts fails while the committed files differ from what this writes.
 */
export const DASHBOARD_DIR = path.resolve(__dirname, '..', '..', ...(path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..'] : []), 'observability', 'grafana', 'dashboards');

export function writeDashboards(dir = DASHBOARD_DIR): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written = DASHBOARDS.map((spec) => {
    const file = path.join(dir, `${spec.uid}.json`);
    fs.writeFileSync(file, dashboardJson(spec));
    return file;
  });
  for (const entry of fs.readdirSync(dir)) {
    if (entry.endsWith('.json') && !written.includes(path.join(dir, entry))) fs.rmSync(path.join(dir, entry));
  }
  return written;
}

if (require.main === module) {
  for (const file of writeDashboards()) process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
