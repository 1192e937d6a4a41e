import { maskJson } from '../../../plugins/pii-masking/json-masker';
import { maskText } from '../../../plugins/pii-masking/text-masker';
import { MaskReport } from '../../../plugins/pii-masking/value-masker';
import { maskXml } from '../../../plugins/pii-masking/xml-masker';
import { buildDeps } from './helpers';

/**
 * No detector may take super-linear time. Each adversarial input is masked at 256 KB and 1 MB (best of 3): the 1 MB
 * run must finish in under 2 s and take at most 8x the 256 KB run (linear is 4x; 8x leaves room for GC and for
 * other test workers on the same CPUs, while a quadratic scanner takes 16x and a catastrophic regex never ends).
 */
const deps = buildDeps({
  custom: [{ name: 'employee_id', pattern: 'EMP-\\d{4,8}', validator: 'none', keys: [], caseInsensitive: false }],
});
const MB = 1 << 20;

function fill(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

function timeMs(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
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
];

describe('pii-masking adversarial inputs finish in bounded, linear time', () => {
  it.each(TEXT_UNITS)('text of %s', (_name, unit) => {
    const half = fill(unit, MB / 4);
    const full = fill(unit, MB);
    const t1 = timeMs(() => maskText(half, deps.values, new MaskReport()));
    const t2 = timeMs(() => maskText(full, deps.values, new MaskReport()));
    expect(t2).toBeLessThan(2000);
    expect(t2).toBeLessThan(Math.max(8 * t1, 100));
  });

  it.each(TEXT_UNITS)('JSON string leaf of %s', (_name, unit) => {
    const doc = (bytes: number) => `{"ssn": "${fill(unit, bytes).replace(/["\\]/g, '')}"}`;
    const t1 = timeMs(() => maskJson(doc(MB / 4), deps, new MaskReport()));
    const t2 = timeMs(() => maskJson(doc(MB), deps, new MaskReport()));
    expect(t2).toBeLessThan(2000);
    expect(t2).toBeLessThan(Math.max(8 * t1, 100));
  });

  it('deep nesting, many backslashes and 1 MB of digits as a number', () => {
    const deep = '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000);
    const backslashes = `{"a": "${'\\\\'.repeat(MB / 4)}", "b": "x"}`;
    const number = `{"card": ${fill('4', MB)}}`;
    for (const input of [deep, backslashes, number]) {
      const ms = timeMs(() => maskJson(input, deps, new MaskReport()));
      expect(ms).toBeLessThan(2000);
    }
  });

  it('XML with 1 MB of attributes, entities and nesting', () => {
    const xml = (n: number) => `<r>${'<a e="x@y.com &#64;">1.2.3.4</a>'.repeat(n)}</r>`;
    const t1 = timeMs(() => maskXml(xml(7_500), deps, new MaskReport()));
    const t2 = timeMs(() => maskXml(xml(30_000), deps, new MaskReport()));
    expect(t2).toBeLessThan(2000);
    expect(t2).toBeLessThan(Math.max(8 * t1, 100));
  });
});
