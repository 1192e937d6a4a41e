import { OperatorPattern } from '../shared/safety/operator-pattern';
import { type BenchReport, type BenchTable, formatTable, median, ratio, runWhenMain } from './harness/report';

/**
 * Operator patterns on RE2 (re2js, shared/safety/operator-pattern) against V8's RegExp, in the same run: ns per
 * test() on the inputs plugins feed them (a version segment, a request path, a body field), and on the
 * attacker's catastrophic patterns (RegExp only at lengths it survives). Run alone:
 * `npm run build && node dist/bench/operator-pattern.js`.
 */
interface Case {
  name: string;
  pattern: string;
  inputs: string[];
  /** RegExp is not run at these lengths: it would not return. */
  regexpUnsafe?: boolean;
}

const TYPICAL: Case[] = [
  { name: 'version segment', pattern: '^v[0-9]+([.][0-9]+)?([.][0-9]+)?$', inputs: ['v1', 'v2.1', 'beta', 'v10.2.3', 'orders'] },
  { name: 'endpoint path', pattern: '^/orders/[0-9]+/items$', inputs: ['/orders/123/items', '/orders/abc/items', '/v2/orders/1/items/9', '/health'] },
  { name: 'endpoint prefix', pattern: '^/reports/', inputs: ['/reports/2024/q1', '/orders/1', '/reports/'] },
  { name: 'detector in 1 KB text', pattern: 'EMP-\\d{6}', inputs: ['x'.repeat(1000) + ' EMP-123456', 'lorem ipsum '.repeat(85)] },
];

function nsPerCall(fn: (input: string) => boolean, inputs: string[], minMs = 150): number {
  let calls = 0;
  const started = performance.now();
  let sink = 0;
  do {
    for (let i = 0; i < 200; i++) for (const input of inputs) if (fn(input)) sink++;
    calls += 200 * inputs.length;
  } while (performance.now() - started < minMs);
  if (sink < 0) throw new Error('unreachable');
  return ((performance.now() - started) * 1e6) / calls;
}

export async function benchOperatorPattern(rounds = 3): Promise<BenchReport & { table: string }> {
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, unknown> = {};
  for (const c of TYPICAL) {
    const re2 = OperatorPattern.compile(c.pattern);
    const js = new RegExp(c.pattern);
    const r2: number[] = [];
    const v8: number[] = [];
    for (let r = 0; r < rounds; r++) {
      v8.push(nsPerCall((s) => js.test(s), c.inputs));
      r2.push(nsPerCall((s) => re2.test(s), c.inputs));
    }
    rows.push([c.name, median(v8), median(r2), ratio(median(r2), median(v8))]);
    data[c.name] = { regexpNs: median(v8), re2Ns: median(r2) };
  }
  const typical: BenchTable = { title: 'operator patterns: ns per test(), RegExp (V8) vs RE2 (re2js), same run', columns: ['pattern', 'RegExp ns', 're2js ns', 're2js/RegExp'], rows };

  const hostile: Array<Array<string | number>> = [];
  const attacks: Array<{ pattern: string; input: (n: number) => string; regexpAt: number; longer: number }> = [
    { pattern: '(a*){12}$', input: (n) => 'a'.repeat(n) + '!', regexpAt: 12, longer: 16 },
    { pattern: '^[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*$', input: (n) => 'a'.repeat(n) + '!', regexpAt: 40, longer: 80 },
    { pattern: '^/rq/.*/.*/.*/.*/report$', input: (n) => '/rq/' + '/x'.repeat(n / 2), regexpAt: 100, longer: 200 },
  ];
  for (const a of attacks) {
    const re2 = OperatorPattern.compile(a.pattern);
    const js = new RegExp(a.pattern);
    const time = (fn: () => void) => {
      const started = performance.now();
      fn();
      return performance.now() - started;
    };
    const v8Small = time(() => js.test(a.input(a.regexpAt)));
    const v8Longer = time(() => js.test(a.input(a.longer)));
    const re2Long = time(() => re2.test(a.input(8192)));
    hostile.push([a.pattern, `${a.regexpAt} ch: ${v8Small.toFixed(2)} ms`, `${a.longer} ch: ${v8Longer.toFixed(2)} ms`, `8192 ch: ${re2Long.toFixed(2)} ms`]);
  }
  const attacksTable: BenchTable = {
    title: 'catastrophic patterns: RegExp grows exponentially/polynomially, re2js stays linear',
    columns: ['pattern', 'RegExp', 'RegExp (longer)', 're2js'],
    rows: hostile,
  };
  const tables = [typical, attacksTable];
  return { name: 'operator-pattern', tables, data, table: tables.map(formatTable).join('\n') };
}

runWhenMain(module, () => benchOperatorPattern());
