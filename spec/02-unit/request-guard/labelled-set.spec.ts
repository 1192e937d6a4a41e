import { CATEGORIES, SCANNED_PARTS, type Category } from '../../../plugins/request-guard/detectors';
import { attacks, benign, flagged } from './labelled-set';

/**
 * Detection and false-positive rates per category on the labelled set (labelled-set.ts). Targets from the issue:
 * detection >= 0.95 per category, false positives <= 0.5% of benign values per category. The table is printed so
 * the README's numbers can be checked against a run.
 */
const benignValues = benign().flatMap((b) => b.values);
const rows: string[] = [];
const exclusions: string[] = [];

afterAll(() => {
  // eslint-disable-next-line no-console
  console.log(['category | attacks | detected | rate | excluded probes | benign | false positives | FP rate', ...rows, ...exclusions].join('\n'));
});

describe.each(CATEGORIES)('%s', (category: Category) => {
  const { payloads, excluded, excludedBy } = attacks(category);
  for (const [reason, lines] of excludedBy) exclusions.push(`${category}: ${lines.length} excluded, ${reason}: ${lines.map((l) => JSON.stringify(l)).join(' ')}`);
  const missed = payloads.filter((p) => !flagged(category, p));
  // CR/LF is not scanned in bodies, where benign prose lives: FP counted on single-line values only
  const pool = SCANNED_PARTS[category].has('body') ? benignValues : benignValues.filter((v) => !v.includes('\n'));
  const fps = pool.filter((v) => flagged(category, v));
  const detection = 1 - missed.length / payloads.length;
  const fpRate = fps.length / pool.length;
  rows.push(`${category} | ${payloads.length} | ${payloads.length - missed.length} | ${detection.toFixed(3)} | ${excluded + [...excludedBy.values()].reduce((n, l) => n + l.length, 0)} | ${pool.length} | ${fps.length} | ${(fpRate * 100).toFixed(2)}%`);

  it(`detects >= 95% of ${payloads.length} public payloads`, () => {
    expect(detection).toBeGreaterThanOrEqual(0.95);
  });

  it('excludes only by documented rules that each still apply', () => {
    for (const [reason, lines] of excludedBy) expect({ reason, excluded: lines.length > 0 }).toEqual({ reason, excluded: true });
  });

  it(`flags <= 0.5% of ${pool.length} benign values`, () => {
    expect(fpRate).toBeLessThanOrEqual(0.005);
  });

  it('finds nothing in our tricky benign values (O\'Brien, prose with "select", markup)', () => {
    expect(benign()[2].values.filter((v) => flagged(category, v))).toEqual(category === 'path_traversal' ? ['Notes: see ../README', '..'] : []);
  });
});
