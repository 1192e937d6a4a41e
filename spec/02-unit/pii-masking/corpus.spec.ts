import fs from 'node:fs';
import path from 'node:path';
import { BUILTIN_TYPES } from '../../../plugins/pii-masking/detectors/registry';
import { maskJson } from '../../../plugins/pii-masking/json-masker';
import { maskText } from '../../../plugins/pii-masking/text-masker';
import { MaskReport } from '../../../plugins/pii-masking/value-masker';
import { buildDeps } from './helpers';

/**
 * The labelled corpus (fixtures/corpus.json, made by fixtures/generate-corpus.js): realistic PII per type, and
 * near-miss decoys (UUIDs, ids failing Luhn, timestamps, versions, scientific floats, hashes, IBANs with a wrong
 * checksum, ZIP+4...). Each item is scanned the way the plugin scans bodies: as a JSON leaf under its key (string or
 * number) or as text. Targets: recall >= 0.98 and decoy false positives <= 1% for every type.
 */
interface Item {
  id: number;
  expect: string | null;
  decoyFor?: string;
  value: string;
  key?: string;
  text?: boolean;
  number?: boolean;
}

const corpus = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'corpus.json'), 'utf8')) as { items: Item[] };
const deps = buildDeps({ maskKeys: [] });

function detect(item: Item): Map<string, number> {
  const report = new MaskReport();
  if (item.text) maskText(Buffer.from(item.value).toString('latin1'), deps.values, report);
  else {
    const leaf = item.number ? item.value : JSON.stringify(item.value);
    const outcome = maskJson(`{"${item.key ?? 'value'}": ${leaf}}`, deps, report);
    expect(outcome.valid).toBe(true);
    if (outcome.output !== undefined) expect(() => JSON.parse(outcome.output!)).not.toThrow();
  }
  return report.counts;
}

describe('pii-masking labelled corpus', () => {
  const results = corpus.items.map((item) => ({ item, found: detect(item) }));
  const rows: Array<Record<string, string | number>> = [];

  for (const type of BUILTIN_TYPES) {
    const positives = results.filter((r) => r.item.expect === type);
    const decoys = results.filter((r) => r.item.decoyFor === type);
    const hits = positives.filter((r) => (r.found.get(type) ?? 0) > 0).length;
    const falsePositives = decoys.filter((r) => (r.found.get(type) ?? 0) > 0).length;
    rows.push({ type, positives: positives.length, recall: +(hits / positives.length).toFixed(3), decoys: decoys.length, decoy_fp_rate: +(falsePositives / Math.max(1, decoys.length)).toFixed(3) });
  }
  const allDecoys = results.filter((r) => r.item.expect === null);
  const anyFp = allDecoys.filter((r) => r.found.size > 0);

  afterAll(() => {
    process.stderr.write(`pii-masking corpus (${results.length} items):\n${rows.map((r) => JSON.stringify(r)).join('\n')}\n` + `decoys flagged by any detector: ${anyFp.length}/${allDecoys.length}\n`);
  });

  it.each(BUILTIN_TYPES.map((t) => [t]))('%s: recall >= 0.98 and decoy false positives <= 1%%', (type) => {
    const row = rows.find((r) => r.type === type)!;
    expect(row.positives).toBeGreaterThanOrEqual(40);
    expect(row.recall).toBeGreaterThanOrEqual(0.98);
    expect(row.decoy_fp_rate).toBeLessThanOrEqual(0.01);
  });

  it('flags at most 1% of all decoys with any detector', () => {
    expect(anyFp.length / allDecoys.length).toBeLessThanOrEqual(0.01);
  });

  it('has at least 2,000 decoys and 500 positives', () => {
    expect(allDecoys.length).toBeGreaterThanOrEqual(2000);
    expect(results.length - allDecoys.length).toBeGreaterThanOrEqual(500);
  });
});
