import v8 from 'node:v8';
import vm from 'node:vm';
import { maskJson } from '../../../plugins/pii-masking/json-masker';
import { maskText } from '../../../plugins/pii-masking/text-masker';
import { MaskReport } from '../../../plugins/pii-masking/value-masker';
import { maskXml } from '../../../plugins/pii-masking/xml-masker';
import { buildDeps } from './helpers';

/**
 * Linear time on every input, at 1, 4 and 16 MB: each adversarial input is masked at the three sizes and each 4x
 * step must cost at most RATIO (7) times the previous one (linear is 4x, and GC of 16 MB strings adds up to ~2x; a quadratic scanner, like the string-end search
 * that restarted after every backslash, takes 16x; a catastrophic regex never ends). Times are the fastest of a few
 * runs in CPU time from a collected heap (load on a shared 2-core machine only adds time, so the minimum is the honest figure), and every run is
 * bounded by an absolute limit.
 */
const deps = buildDeps({
  custom: [{ name: 'employee_id', pattern: 'EMP-\\d{4,8}', validator: 'none', keys: [], caseInsensitive: false }],
  maskPaths: ['$.a.b.c'],
});
const MB = 1 << 20;
const RATIO = 7;

function fill(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * CPU ms of the fastest run: each run starts from a collected heap (this jest worker may hold an earlier spec's
 * garbage), and CPU time leaves out the time another process on the 2 cores takes from this one.
 */
function fastest(fn: () => void, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    gc();
    const start = process.cpuUsage();
    fn();
    const spent = process.cpuUsage(start);
    best = Math.min(best, (spent.user + spent.system) / 1000);
  }
  return best;
}

/** Times at 1, 4 and 16 MB; asserts each 4x step costs <= RATIO x (with a 15 ms floor for timer noise). */
function expectLinear(make: (bytes: number) => string, run: (input: string) => void): number[] {
  const times = [1, 4, 16].map((mb) => {
    const input = make(mb * MB);
    return fastest(() => run(input), 3);
  });
  expect(times[2]).toBeLessThan(60_000);
  expect(times[1]).toBeLessThan(Math.max(RATIO * times[0], 15));
  expect(times[2]).toBeLessThan(Math.max(RATIO * times[1], 60));
  return times;
}

const TEXT_UNITS: Array<[string, string]> = [
  ['digits', '7'],
  ['@ and dots', '@.'],
  ['dots and digits', '1.'],
  ['colons and hex', 'a:'],
  ['plus and digits', '+1 '],
  ['eyJ segments', 'eyJ.'],
  ['local parts', 'a.'],
  ['email-ish', 'a@a.'],
  ['card-ish groups', '4111 '],
  ['PEM headers', '-----BEGIN PRIVATE KEY-----'],
  ['secret prefixes', 'AKIA'],
  ['born dates', 'born 1/1/1'],
  ['ampersands', '&#'],
  ['ssn-ish', '123-45-'],
  ['ipv4-ish', '1.1.1.'],
];

const report: string[] = [];
afterAll(() => process.stderr.write(`pii-masking linear time, ms at 1/4/16 MB:\n${report.join('\n')}\n`));

describe('pii-masking adversarial inputs take linear time (1, 4, 16 MB)', () => {
  jest.setTimeout(180_000);

  it.each(TEXT_UNITS)('text of %s', (name, unit) => {
    const times = expectLinear((bytes) => fill(unit, bytes), (input) => maskText(input, deps.values, new MaskReport()));
    report.push(`text ${name}: ${times.map((t) => t.toFixed(0)).join(' / ')}`);
  });

  const LEAF_UNITS = TEXT_UNITS.filter(([name]) => ['digits', '@ and dots', 'colons and hex', 'email-ish', 'card-ish groups', 'ssn-ish'].includes(name));
  it.each(LEAF_UNITS)('JSON string leaf of %s', (name, unit) => {
    const times = expectLinear(
      (bytes) => `{"ssn": "${fill(unit, bytes).replace(/["\\]/g, '')}"}`,
      (input) => maskJson(input, deps, new MaskReport()),
    );
    report.push(`json ${name}: ${times.map((t) => t.toFixed(0)).join(' / ')}`);
  });

  it.each([
    ['escape-dense string (\\n after every char)', (bytes: number) => `{"bio": "${'a\\n'.repeat(bytes / 3)}"}`],
    ['escape-dense string with an email', (bytes: number) => `{"bio": "${'a\\u0040b.co '.repeat(bytes / 12)}"}`],
    ['only backslashes', (bytes: number) => `{"a": "${'\\\\'.repeat(bytes / 2)}", "b": "x"}`],
    ['many short escaped strings', (bytes: number) => `[${'"\\"x\\"",'.repeat(bytes / 8)}"z"]`],
    ['escaped keys', (bytes: number) => `{${Array.from({ length: bytes / 16 }, (_, i) => `"k\\u0065y${i}":1`).join(',')}}`],
    ['deep nesting (mask_paths on)', (bytes: number) => '{"a":'.repeat(bytes / 10) + '1' + '}'.repeat(bytes / 10)],
    ['digits as one number', (bytes: number) => `{"card": ${fill('4', bytes)}}`],
    ['numbers', (bytes: number) => `[${fill('4111111111111111,', bytes)}1]`],
  ])('JSON: %s', (name, make) => {
    const times = expectLinear(make, (input) => maskJson(input, deps, new MaskReport()));
    report.push(`json ${name}: ${times.map((t) => t.toFixed(0)).join(' / ')}`);
  });

  it.each([
    ['attributes, entities and nesting', (bytes: number) => `<r>${'<a e="x@y.com &#64;">1.2.3.4</a>'.repeat(bytes / 34)}</r>`],
    ['entity-dense text', (bytes: number) => `<r>${'a&#64;'.repeat(bytes / 6)}</r>`],
    ['comments and processing instructions', (bytes: number) => `<r>${'<!-- a@b.com --><?pi x?>'.repeat(bytes / 25)}</r>`],
  ])('XML: %s', (name, make) => {
    const times = expectLinear(make, (input) => maskXml(input, deps, new MaskReport()));
    report.push(`xml ${name}: ${times.map((t) => t.toFixed(0)).join(' / ')}`);
  });
});
