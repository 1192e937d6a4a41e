import fs from 'node:fs';
import path from 'node:path';
import { decodedForms } from '../../../plugins/request-guard/decode';
import { DETECTORS, type Category } from '../../../plugins/request-guard/detectors';

/**
 * The labelled set: attack payloads per category from PayloadsAllTheThings (spec/fixtures/request-guard/SOURCES.md)
 * and benign values from real APIs (Stripe's example objects, OpenAPI documentation prose) plus our own tricky
 * benign values (names with apostrophes, prose with SQL words, markup). A value counts as detected when its
 * category's detector flags any decoded form (3 passes, the default), as the plugin scans it.
 *
 * Labelling rule, applied to every list alike: blank lines and '#' comments are not payloads, and a line without
 * any letter, digit, dot or slash (a lone quote or operator: error probes such as `'` or `"|"`, not injections)
 * is left out; the counts of left-out lines are reported. Lines of a category's lists that are no attack of that
 * category are left out by the rules in EXCLUSIONS, each with its reason (also in SOURCES.md), and reported per rule.
 */
const FIXTURES = path.join(__dirname, '../../fixtures/request-guard');

export const ATTACK_FILES: Record<Category, string[]> = {
  sql: ['sql-auth-bypass.txt', 'sql-union-select.txt', 'sql-time-based.txt', 'sql-error-based.txt'],
  nosql: ['nosql.txt', 'nosql-mongodb.txt'],
  command: ['command-unix.txt', 'command-exec.txt'],
  path_traversal: ['traversal.txt', 'traversal-exotic-encoding.txt'],
  crlf: ['crlf.txt'],
  xss: ['xss-rsnake.txt', 'xss-intruders.txt', 'xss-quick.txt'],
};

/** Lines of a category's public lists that are not attacks of that category (regular expressions on fixtures only). */
export const EXCLUSIONS: Partial<Record<Category, { reason: string; test: (line: string) => boolean }[]>> = {
  command: [
    {
      reason: 'server-side template injection ({{4+4}}, {{person.secret}}, {% for %}, {{ get_user_file(...) }}, {1} + {1}): template syntax evaluated by a template engine, no shell; SSTI is no category of the guard',
      test: (line) => line.startsWith('{{') || line.startsWith('{%') || /^\{\d+\} \+ \{\d+\}$/.test(line),
    },
    {
      reason: 'a line break alone (%0a, %0a%0d, \\n, \\r, \\r\\n): a separator with no command after it; CR/LF probes are the crlf category',
      test: (line) => /^(%0[ad]|\\[nr])+$/i.test(line),
    },
  ],
};

export function attacks(category: Category): { payloads: string[]; excluded: number; excludedBy: Map<string, string[]> } {
  const payloads = new Set<string>();
  const excludedBy = new Map<string, string[]>((EXCLUSIONS[category] ?? []).map((rule) => [rule.reason, []]));
  let excluded = 0;
  for (const file of ATTACK_FILES[category]) {
    for (const raw of fs.readFileSync(path.join(FIXTURES, 'attacks', file), 'utf8').split('\n')) {
      const line = raw.replace(/\r$/, '').replace(/\{FILE\}/g, 'etc/passwd');
      if (line.trim() === '' || line.startsWith('# ')) continue;
      if (!/[A-Za-z0-9./\\]/.test(line)) {
        excluded++;
        continue;
      }
      const rule = EXCLUSIONS[category]?.find((r) => r.test(line));
      if (rule) {
        excludedBy.get(rule.reason)?.push(line);
        continue;
      }
      payloads.add(line);
    }
  }
  return { payloads: [...payloads], excluded, excludedBy };
}

/** Our own benign values that trip naive detectors. */
export const TRICKY_BENIGN = [
  "O'Brien", "Siobhán O'Brien-Smith", "D'Angelo", "L'Oréal Paris", "Rock 'n' roll", "It's 5 o'clock somewhere", 'Tom & Jerry',
  'R&D; cat lovers welcome', 'Please select the blue one, or drop it at the door.', 'Select an option from the menu below',
  'Union Station to Times Square', 'We will update the order and delete the draft', "don't drop the ball -- really", 'AT&T',
  '1 or 2 items', 'a = b or c', 'Price: $10 (incl. tax)', 'Meet at 5; bring snacks', 'and/or', 'Wait... what?', 'C:/Users/Public',
  'https://example.com/docs/api?lang=en&version=2', '<b>bold</b> and <i>italic</i>', '<a href="https://stripe.com">Stripe</a>',
  'x < y && y > z', 'email@example.com', '+1 (555) 010-9999', '2024-05-01T12:00:00Z', 'user_name-123', 'Ünïcødé ✓ 日本語',
  'The "where" clause', 'ORDER #12345', 'order by date', 'Set the table for 4', 'Drop-off at 3pm', 'Sleep well', 'echo chamber',
  'ping me when ready', 'cat: a domestic animal', 'His ID; ask him', '$5 off', 'Fish & Chips | Menu', 'eval: 5/5', 'alert: low battery',
  'Q&A | Help', '50% off', 'Notes: see ../README', '..', 'Version 1.2.3', '#hashtag', 'C# and F#', 'SELECT, INSERT privileges',
];

export function benign(): { source: string; values: string[] }[] {
  const load = (file: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'benign', file), 'utf8')) as { source: string; values: string[] };
  return [
    load('stripe-fixtures.json'),
    load('openapi-docs-prose.json'),
    { source: 'ours: names, prose and markup that trip naive detectors', values: TRICKY_BENIGN },
    load('tldr-command-prose.json'),
  ];
}

export function flagged(category: Category, value: string, passes = 3): boolean {
  return decodedForms(value, passes).some((form) => DETECTORS[category](form));
}
