import { detectCommand } from './command';
import { detectCrlf } from './crlf';
import { detectNosql } from './nosql';
import { detectSql } from './sql';
import { detectTraversal } from './traversal';
import { detectXss } from './xss';

/**
 * The injection categories and their detectors: each takes one decoded form of a client value and answers in time
 * linear in its length (hand-written scanners, no backtracking regular expression). Pure data.
 */
export const CATEGORIES = ['sql', 'nosql', 'command', 'path_traversal', 'crlf', 'xss'] as const;
export type Category = (typeof CATEGORIES)[number];

export const DETECTORS: Record<Category, (value: string) => boolean> = {
  sql: detectSql,
  nosql: detectNosql,
  command: detectCommand,
  path_traversal: detectTraversal,
  crlf: detectCrlf,
  xss: detectXss,
};

/** Where each category looks: CR/LF is only a danger where a header line could be split, never in bodies. */
export const SCANNED_PARTS: Record<Category, ReadonlySet<string>> = {
  sql: new Set(['path', 'query', 'cookie', 'body']),
  nosql: new Set(['path', 'query', 'cookie', 'body']),
  command: new Set(['path', 'query', 'cookie', 'body']),
  path_traversal: new Set(['path', 'query', 'cookie', 'body']),
  crlf: new Set(['path', 'query', 'cookie', 'header']),
  xss: new Set(['path', 'query', 'cookie', 'body']),
};
