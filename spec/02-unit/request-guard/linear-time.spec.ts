import { decodedForms } from '../../../plugins/request-guard/decode';
import { CATEGORIES, DETECTORS } from '../../../plugins/request-guard/detectors';
import { checkJsonLimits } from '../../../plugins/request-guard/limits';

/**
 * Every check is linear in its input: ten times the input costs about ten times the time (a quadratic scan would
 * cost ~100x). Adversarial shapes for each scanner: long runs of the characters they branch on.
 */
const SHAPES = ["'", '"', ' or ', '..', '$', '<', 'on', ';', '|', '%25', '&#', 'select ', '/*', '`', 'union '];

/**
 * CPU time of this process (microseconds), not wall time: on a loaded machine a short run fits in one scheduler
 * slice while a long one is preempted many times, which inflates a wall-clock ratio ~10x.
 */
function timeOf(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/**
 * CPU time of 10x the input over CPU time of the input, the best of 5 interleaved runs each, and the best of 3 such
 * ratios: noise from other processes only ever adds time, so a linear scan shows ~10x on a loaded machine too,
 * while a quadratic one stays near 100x however often it is measured.
 */
function ratio(run: (input: string) => void, unit: string): number {
  const small = unit.repeat(Math.ceil(20000 / unit.length));
  const large = unit.repeat(Math.ceil(200000 / unit.length));
  run(small); // warm up
  const once = () => {
    let bestSmall = Infinity;
    let bestLarge = Infinity;
    for (let i = 0; i < 5; i++) {
      bestSmall = Math.min(bestSmall, timeOf(() => run(small)));
      bestLarge = Math.min(bestLarge, timeOf(() => run(large)));
    }
    return bestLarge / Math.max(bestSmall, 1);
  };
  return Math.min(once(), once(), once());
}

describe.each(CATEGORIES)('%s detector', (category) => {
  it.each(SHAPES)('is linear on runs of %j', (unit) => {
    expect(ratio((s) => DETECTORS[category](s), unit)).toBeLessThan(50);
  });
});

/**
 * Linear is not enough when the constant is a 4 KiB window: runs of unclosed tags with `on` ('<on<on...') made the XSS
 * scan re-read each tag's window (15 us/byte, a 64 KiB value ~1 s). Its cost on them stays near its cost on prose.
 */
it('the XSS tag scan reads each character about once on runs of unclosed tags', () => {
  const prose = 'Please select the blue one, or drop it at the door; <b>thanks</b> on time. ';
  const cost = (unit: string) => {
    const input = unit.repeat(Math.ceil(200000 / unit.length));
    DETECTORS.xss(input);
    return Math.min(...[0, 1, 2, 3, 4].map(() => timeOf(() => DETECTORS.xss(input))));
  };
  expect(cost('<on') / Math.max(cost(prose), 1)).toBeLessThan(20);
});

it('decoding and the JSON limits scan are linear', () => {
  expect(ratio((s) => decodedForms(s, 5), '%2525')).toBeLessThan(50);
  expect(ratio((s) => checkJsonLimits(s, { maxDepth: 1e9, maxArrayLength: 1e9, maxObjectKeys: 1e9, maxStringLength: 1e9 }), '[1,"a\\"b",{"k":1},')).toBeLessThan(50);
});
