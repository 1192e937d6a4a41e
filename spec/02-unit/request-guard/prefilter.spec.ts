import fs from 'node:fs';
import path from 'node:path';
import { decodedForms } from '../../../plugins/request-guard/decode';
import { CATEGORIES, DETECTORS, SCANNED_PARTS, type Category } from '../../../plugins/request-guard/detectors';
import { isOperatorName } from '../../../plugins/request-guard/detectors/nosql';
import { featuresOf, mayDecode, mayMatch, newFeatures, TRIGGERS } from '../../../plugins/request-guard/detectors/triggers';
import { FreeText } from '../../../plugins/request-guard/free-text';
import { InjectionScanner, MAX_FINDINGS, type Finding } from '../../../plugins/request-guard/injection';
import { benign } from './labelled-set';

/**
 * Differential: the prefilter (detectors/triggers.ts) only skips a detector that would have answered false. The full
 * scan (every detector on every decoded form) against the prefiltered one on every fixture line, every benign value
 * and 100,000 random strings of the characters and words the detectors branch on; and the scanner as it was (each
 * detector on each value, locations built for every JSON node) against the scanner as it is, findings in order.
 */
const FIXTURES = path.join(__dirname, '../../fixtures/request-guard');

function fixtureValues(): string[] {
  const values: string[] = [];
  for (const file of fs.readdirSync(path.join(FIXTURES, 'attacks'))) values.push(...fs.readFileSync(path.join(FIXTURES, 'attacks', file), 'utf8').split('\n'));
  for (const set of benign()) values.push(...set.values);
  return values;
}

/** Pieces the detectors branch on: their characters, pairs, escapes, keywords, command names, look-alikes. */
const PIECES = [
  ...`'"\`;|&$(){}[]<>/\\.%#-*=:!@_+,?~^ \t\r\n\u0000\u000b0123456789abcxyzABCXYZ`.split(''),
  'or', 'OR', 'and', 'xor', 'not', 'div', 'select', 'SeLeCt', 'union', 'from', 'order', 'group', 'by', 'having', 'into', 'outfile',
  'dumpfile', 'waitfor', 'delay', 'procedure', 'analyse', 'sleep', 'benchmark', 'if', 'null', 'true', 'exec', 'drop', 'table',
  '@@version', 'information_schema', 'sysobjects', '--', '/*', '*/', '/*!', '&&', '||', '0x', '0X2e', '0x2f', '0x5c',
  'cat', 'ls', 'id', 'whoami', 'which', 'gcc', 'ping', 'usr/bin/', 'bin/', '/etc/passwd', 'c:\\', '\\n', '${IFS}', '$(', 'sh', 'w',
  '$ne', '$where', '[$gt]', 'return', 'db.', 'users', '.find(', 'this.', '==', 'tojson(',
  'on', 'onload', 'onmouseover', 'script', 'javascript', 'vbscript', 'data', 'text/html', 'expression', '-moz-binding', 'alert(',
  'document.cookie', 'top[', '<svg', '<img', '<!--#exec', '<?php', 'system(',
  '%', '%25', '%27', '%3c', '%0a', '%0d', '%2e', '%2f', '%c0%ae', '%e0%80%ae', '%u002e', '%u003c', '&lt;', '&#39;', '&#x3c;', '&colon;', '&amp;',
  '\u212a', '\u0130', '\uff0e', '\uff0f', '\u2215', 'é', '日',
];

/** A deterministic generator (xorshift32), so a failure reproduces. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function randomStrings(count: number, seed = 0x9e3779b9): string[] {
  const next = random(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    let s = '';
    const pieces = 1 + Math.floor(next() * 14);
    for (let p = 0; p < pieces; p++) {
      s += PIECES[Math.floor(next() * PIECES.length)];
      if (next() < 0.3) s += ' ';
    }
    out.push(s);
  }
  return out;
}

/** Values where a detector answers true on a decoded form that the prefilter would have skipped, or decoding was skipped wrongly. */
function misses(values: string[]): string[] {
  const found: string[] = [];
  const features = newFeatures();
  for (const value of values) {
    const forms = decodedForms(value, 3);
    // a value the prefilter calls undecodable has no decoded form but itself
    if (!mayDecode(featuresOf(value, features)) && forms.length > 1) found.push(`decoded: ${JSON.stringify(value)}`);
    for (const form of forms) {
      featuresOf(form, features);
      for (const category of CATEGORIES) {
        if (!mayMatch(TRIGGERS[category], features) && DETECTORS[category](form)) found.push(`${category}: ${JSON.stringify(form)} (of ${JSON.stringify(value)})`);
      }
    }
  }
  return found;
}

/** The scanner before the prefilter, as it was: every enabled detector on every decoded form of a value. */
class ReferenceScanner {
  constructor(private readonly freeText: FreeText) {}

  value(part: string, location: string[], value: string, out: Finding[]): void {
    if (out.length >= MAX_FINDINGS || value.length < 2 || /^[A-Za-z0-9]*$/.test(value)) return;
    if (!this.freeText.empty && this.freeText.has(location)) return;
    let forms: string[] | undefined;
    for (const category of CATEGORIES) {
      if (!SCANNED_PARTS[category].has(part)) continue;
      forms ??= decodedForms(value, 3);
      if (forms.some((form) => DETECTORS[category](form))) push(out, category, location);
    }
  }

  name(location: string[], name: string, out: Finding[]): void {
    if (out.length >= MAX_FINDINGS) return;
    if (name.indexOf('$') >= 0 && isOperatorName(name)) push(out, 'nosql', location);
  }

  json(body: unknown, out: Finding[]): void {
    const stack: Array<[unknown, string[]]> = [[body, ['body']]];
    while (stack.length && out.length < MAX_FINDINGS) {
      const [node, location] = stack.pop() as [unknown, string[]];
      if (typeof node === 'string') this.value('body', location, node, out);
      else if (Array.isArray(node)) for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], [...location, String(i)]]);
      else if (node && typeof node === 'object') {
        for (const [key, child] of Object.entries(node)) {
          const at = [...location, key];
          this.name(at, key, out);
          stack.push([child, at]);
        }
      }
    }
  }
}

function push(out: Finding[], category: Category, location: string[]): void {
  const where = location.join('/');
  if (!out.some((f) => f.category === category && f.location === where)) out.push({ category, location: where });
}

const ALL_BLOCK = Object.fromEntries(CATEGORIES.map((c) => [c, 'block'])) as Record<Category, 'block'>;

describe('request-guard prefilter: skips only detectors that would answer false', () => {
  it('every fixture line (attacks) and every benign value: 0 differences', () => {
    const values = fixtureValues();
    expect(values.length).toBeGreaterThan(5000);
    expect(misses(values)).toEqual([]);
  });

  it('100,000 random strings of the characters and words the detectors branch on: 0 differences', () => {
    const values = randomStrings(100_000);
    expect(misses(values)).toEqual([]);
    // the random strings do reach the detectors' true answers, and the prefilter does skip some
    const features = newFeatures();
    let flagged = 0;
    let skipped = 0;
    for (const value of values.slice(0, 20_000)) {
      featuresOf(value, features);
      for (const category of CATEGORIES) {
        if (DETECTORS[category](value)) flagged++;
        if (!mayMatch(TRIGGERS[category], features)) skipped++;
      }
    }
    expect(flagged).toBeGreaterThan(5000);
    expect(skipped).toBeGreaterThan(5000);
  });

  it('the scanner gives the same findings, in the same order, as the full scan (JSON bodies, query, free text)', () => {
    const values = [...fixtureValues(), ...randomStrings(20_000, 12345)];
    const next = random(7);
    const pick = () => values[Math.floor(next() * values.length)];
    const plain = new FreeText([]);
    const free = new FreeText(['body/items/*/note', 'query/q']);
    const differences: string[] = [];
    let findings = 0;
    for (let n = 0; n < 3000; n++) {
      const again = pick();
      const body = { [pick()]: again, items: [{ note: pick(), sku: again, [n % 2 ? '$ne' : 'x']: { deep: [pick(), 12, null, again] } }, pick()], tail: pick(), last: again };
      const query: Array<[string, string]> = [[pick(), pick()], ['q', pick()], ['user[$gt]', pick()]];
      for (const freeText of [plain, free]) {
        const ours = new InjectionScanner(ALL_BLOCK, freeText, 3);
        const theirs = new ReferenceScanner(freeText);
        const a: Finding[] = [];
        const b: Finding[] = [];
        ours.json(body, a);
        theirs.json(body, b);
        ours.query(query, a);
        for (const [name, value] of query) {
          theirs.name(['query', name], name, b);
          theirs.value('query', ['query', name], name, b);
          theirs.value('query', ['query', name], value, b);
        }
        findings += b.length;
        if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${JSON.stringify(body)} ${JSON.stringify(query)}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
      }
    }
    expect(findings).toBeGreaterThan(1000);
    expect(differences.slice(0, 3)).toEqual([]);
  });
});
