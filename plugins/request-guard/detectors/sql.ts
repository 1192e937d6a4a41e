/**
 * SQL injection, libinjection's idea in miniature: tokenize the value as SQL would (strings, numbers, words,
 * operators, comments) in three contexts (as is, and as if it continued a '...' or "..." literal the application
 * opened), then look for token shapes that only injected SQL has: a boolean operator after a broken-out literal
 * followed by a comparison (' or 'x'='x, 1 or 1=1), a comment or statement right after the break (admin'--,
 * '; drop table), UNION SELECT, stacked statements, time/file functions (sleep(, benchmark(, load_file(). Words
 * alone never match: prose with "select" or "drop" and names like O'Brien pass. One pass per context; the rules
 * look at a bounded window of tokens, so the whole check is linear in the value's length. Pure.
 */
const enum T {
  Str, // a closed literal
  Open, // a literal left open to the end
  Num,
  Word,
  Kw,
  Bool, // or, and, xor, &&, ||, not
  Cmp, // = < > <> != like ...
  Op,
  LParen,
  RParen,
  Comma,
  Semi,
  Comment,
}

interface Token {
  t: T;
  v: string;
}

const BOOL = new Set(['or', 'and', 'xor', 'not', '&&', '||', 'div']);
const CMP_WORDS = new Set(['like', 'rlike', 'regexp', 'sounds', 'is', 'in', 'between']);
const KEYWORDS = new Set([
  'select', 'union', 'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'from', 'where', 'having', 'order',
  'group', 'by', 'limit', 'offset', 'into', 'values', 'set', 'exec', 'execute', 'declare', 'waitfor', 'delay', 'shutdown',
  'null', 'true', 'false', 'all', 'distinct', 'table', 'database', 'procedure', 'case', 'when', 'then', 'else', 'end',
  'outfile', 'dumpfile', 'grant', 'top', 'procedure', 'analyse', 'if', 'begin', 'commit', 'rollback',
]);
/** Functions whose call is injected SQL wherever it appears (time delays, file access, error oracles). */
const DANGEROUS_FUNCTIONS = new Set([
  'sleep', 'benchmark', 'pg_sleep', 'load_file', 'extractvalue', 'updatexml', 'name_const', 'xp_cmdshell', 'sys_eval', 'sys_exec',
  'dbms_pipe.receive_message', 'utl_inaddr.get_host_name', 'utl_http.request', 'ctxsys.drithsx.sn', 'dbms_lock.sleep',
  'randomblob', 'geometrycollection', 'multipoint', 'polygon', 'linestring', 'exp', 'gtid_subset', 'json_keys', 'pg_read_file',
  'convert', 'cast', 'char', 'chr', 'concat', 'concat_ws', 'group_concat', 'version', 'database', 'user', 'current_user',
  'system_user', 'schema', 'substring', 'substr', 'mid', 'ascii', 'ord', 'hex', 'unhex', 'md5', 'count', 'floor', 'rand',
  'ifnull', 'isnull', 'nullif', 'coalesce', 'if', 'iif', 'len', 'length', 'db_name', 'host_name', 'suser_name', 'is_srvrolemember',
  'openrowset', 'lower', 'upper', 'uuid', 'now', 'make_set', 'elt', 'row', 'exists',
]);
/** Always-dangerous ones (matched without any surrounding context). */
const ALWAYS = new Set([
  'sleep', 'benchmark', 'pg_sleep', 'load_file', 'extractvalue', 'updatexml', 'name_const', 'xp_cmdshell', 'sys_eval', 'sys_exec',
  'dbms_pipe.receive_message', 'utl_inaddr.get_host_name', 'utl_http.request', 'ctxsys.drithsx.sn', 'dbms_lock.sleep', 'pg_read_file',
  'gtid_subset', 'openrowset', 'is_srvrolemember', 'randomblob',
]);
export const MARKERS = ['@@version', 'information_schema', 'sysobjects', 'syscolumns', 'sys.objects', 'pg_catalog', 'mysql.user', 'all_tables', 'user_tables', 'sqlite_master', 'msysobjects'];

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c === 64 || c === 46 || c >= 128;
}

/** 12, 0x3a, 1.5, 1e3 (hand-written: no regular expression on client input). */
function isNumber(v: string): boolean {
  if (v.length > 1 && v[0] === '0' && v[1] === 'x') {
    for (let i = 2; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
    }
    return v.length > 2;
  }
  let dot = false;
  let exp = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (c === 46 && !dot && !exp) dot = true;
    else if (c === 101 && !exp && i > 0 && i < v.length - 1) exp = true;
    else return false;
  }
  return true;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 160;
}

/** Tokens of `s` (lower-cased); `open` is the quote the application is assumed to have opened (or 0). */
export function tokenize(s: string, open: number, max = 4096): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = s.length;
  if (open) {
    const end = s.indexOf(String.fromCharCode(open));
    if (end < 0) return out;
    out.push({ t: T.Str, v: s.slice(0, end) });
    i = end + 1;
  }
  while (i < n && out.length < max) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // quotes: a literal up to the same quote (doubled quotes escape), else open to the end
    if (c === 39 || c === 34 || c === 96) {
      let j = i + 1;
      for (;;) {
        const k = s.indexOf(s[i], j);
        if (k < 0) {
          j = -1;
          break;
        }
        if (s.charCodeAt(k + 1) === c) {
          j = k + 2;
          continue;
        }
        j = k;
        break;
      }
      if (j < 0) {
        out.push({ t: T.Open, v: s.slice(i + 1) });
        break;
      }
      out.push({ t: T.Str, v: s.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === 45 && s.charCodeAt(i + 1) === 45) {
      out.push({ t: T.Comment, v: '--' });
      break;
    }
    if (c === 35) {
      out.push({ t: T.Comment, v: '#' });
      break;
    }
    if (c === 47 && s.charCodeAt(i + 1) === 42) {
      // MySQL's /*! ... */ runs its content: a marker, and the content is scanned as SQL
      if (s.charCodeAt(i + 2) === 33) {
        out.push({ t: T.Comment, v: '/*!' });
        i += 3;
        continue;
      }
      const end = s.indexOf('*/', i + 2);
      if (end < 0) {
        out.push({ t: T.Comment, v: '/*' });
        break;
      }
      // an inline comment is whitespace to SQL (union/**/select)
      i = end + 2;
      continue;
    }
    if (c >= 48 && c <= 57) {
      let j = i + 1;
      while (j < n && (isWordChar(s.charCodeAt(j)) && s.charCodeAt(j) !== 64 && s.charCodeAt(j) !== 36)) j++;
      const v = s.slice(i, j);
      const numeric = isNumber(v);
      out.push({ t: numeric ? T.Num : T.Word, v });
      i = j;
      continue;
    }
    if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(s.charCodeAt(j))) j++;
      const v = s.slice(i, j);
      out.push({ t: v.length > 32 ? T.Word : BOOL.has(v) ? T.Bool : CMP_WORDS.has(v) ? T.Cmp : KEYWORDS.has(v) ? T.Kw : T.Word, v });
      i = j;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ t: T.Bool, v: two });
      i += 2;
      continue;
    }
    if (two === '<>' || two === '!=' || two === '<=' || two === '>=' || two === '==') {
      out.push({ t: T.Cmp, v: two });
      i += 2;
      continue;
    }
    if (c === 61 || c === 60 || c === 62) out.push({ t: T.Cmp, v: s[i] });
    else if (c === 40) out.push({ t: T.LParen, v: '(' });
    else if (c === 41) out.push({ t: T.RParen, v: ')' });
    else if (c === 44) out.push({ t: T.Comma, v: ',' });
    else if (c === 59) out.push({ t: T.Semi, v: ';' });
    else out.push({ t: T.Op, v: s[i] });
    i++;
  }
  return out;
}

function isOperand(tok: Token | undefined): boolean {
  return tok !== undefined && (tok.t === T.Num || tok.t === T.Str || tok.t === T.Open || tok.t === T.Word || (tok.t === T.Kw && (tok.v === 'null' || tok.v === 'true' || tok.v === 'false')));
}

function isCall(tokens: Token[], i: number): boolean {
  return (tokens[i]?.t === T.Word || tokens[i]?.t === T.Kw) && tokens[i + 1]?.t === T.LParen;
}

/** Skips opening/closing parentheses from i (injected SQL balances the application's). */
function skipParens(tokens: Token[], i: number): number {
  while (tokens[i] && (tokens[i].t === T.LParen || tokens[i].t === T.RParen)) i++;
  return i;
}

const STATEMENT_AFTER_SEMI = new Set(['select', 'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'execute', 'declare', 'waitfor', 'shutdown', 'grant', 'begin', 'set', 'if']);

function selectLooksLikeSql(tokens: Token[], i: number): boolean {
  const next = tokens[i + 1];
  if (!next) return false;
  if (next.t === T.Op && next.v === '*') return true;
  if (next.t === T.Num || next.t === T.Str || next.t === T.Open || next.t === T.LParen) return true;
  if (next.t === T.Kw && (next.v === 'null' || next.v === 'distinct' || next.v === 'top' || next.v === 'all' || next.v === 'case' || next.v === 'if')) return true;
  if (next.v.startsWith('@@') || isCall(tokens, i + 1)) return true;
  // select <column> from <table> <end | where | limit | ...>
  if (next.t === T.Word && tokens[i + 2]?.v === 'from' && tokens[i + 3]?.t === T.Word) {
    const after = tokens[i + 4];
    return !after || after.t === T.Comment || after.t === T.Semi || after.t === T.RParen || (after.t === T.Kw && ['where', 'limit', 'order', 'group', 'union', 'having'].includes(after.v));
  }
  return false;
}

function afterSemiIsStatement(tokens: Token[], i: number): boolean {
  const kw = tokens[i];
  if (!kw || !STATEMENT_AFTER_SEMI.has(kw.v)) return false;
  const next = tokens[i + 1];
  switch (kw.v) {
    case 'select':
      return selectLooksLikeSql(tokens, i);
    case 'drop':
    case 'create':
    case 'alter':
    case 'truncate':
      return next !== undefined && ['table', 'database', 'schema', 'user', 'procedure', 'function', 'view', 'index', 'trigger', 'login'].includes(next.v);
    case 'insert':
      return next?.v === 'into';
    case 'update':
      return next?.t === T.Word && tokens[i + 2]?.v === 'set';
    case 'delete':
      return next?.v === 'from';
    case 'waitfor':
      return next?.v === 'delay' || next?.v === 'time';
    case 'declare':
      return next !== undefined && next.v.startsWith('@');
    case 'shutdown':
    case 'begin':
      return !next || next.t === T.Comment || next.t === T.Semi;
    case 'exec':
    case 'execute':
      return next !== undefined && (next.v.startsWith('xp_') || next.v.startsWith('sp_') || next.v.startsWith('master.') || next.t === T.LParen || next.v.startsWith('@'));
    case 'set':
      return next !== undefined && next.v.startsWith('@');
    case 'if':
      return next?.t === T.LParen;
    default:
      return false;
  }
}

/** Rules on one tokenization; `broken`: the value starts by closing a literal (context ' or "). */
function suspicious(tokens: Token[], broken: boolean): boolean {
  const n = tokens.length;
  for (let i = 0; i < n; i++) {
    const tok = tokens[i];
    const prev = tokens[i - 1];
    // a break is: the start of the value, a closed implicit literal, a number or ')' that ends the application's operand
    const atBreak = i === 0 || (i === 1 && broken) || (prev !== undefined && i <= 3 && (prev.t === T.RParen || prev.t === T.Num || prev.t === T.Str) && tokens.slice(0, i).every((t) => t.t !== T.Word || t === tokens[0]));
    if (tok.t === T.Bool) {
      const j = skipParens(tokens, i + 1);
      const a = tokens[j];
      // boolean + dangerous call: ' or sleep(5)#, and benchmark(...)
      if (isCall(tokens, j) && DANGEROUS_FUNCTIONS.has(a.v)) return true;
      // tautologies: or 1=1, ' or 'x'='x, ) or ('x')=('x, and 3409=3409, or x=x after a break
      if (isOperand(a)) {
        const k = skipParens(tokens, j + 1);
        const cmp = tokens[k];
        if (cmp?.t === T.Cmp) {
          const b = tokens[skipParens(tokens, k + 1)];
          if (isOperand(b)) {
            const literal = (x: Token) => x.t === T.Num || x.t === T.Str || x.t === T.Open;
            if (literal(a) && literal(b)) return true;
            if (atBreak || i === 0 || broken) return true;
            if (a.t === T.Word && b.t === T.Word && a.v === b.v) return true;
          }
          // ' or ''=' / " or ""="
          if (!b && (a.t === T.Str || a.t === T.Num)) return true;
        }
        // ' or ''-' / " or ""*": a literal, an operator, a literal right after the break
        if (broken && i === 1 && (a.t === T.Str || a.t === T.Num) && tokens[j + 1]?.t === T.Op && (tokens[j + 2]?.t === T.Str || tokens[j + 2]?.t === T.Open)) return true;
        // ' or true--, ' or 1--, or true#
        if ((a.t === T.Kw || a.t === T.Num) && (broken || i === 0) && (!tokens[k] || tokens[k].t === T.Comment)) return true;
        // 1 and (select ...), or exists(select
      }
      if (a?.t === T.Kw && a.v === 'select' && (broken || atBreak)) return true;
    }
    if (tok.t === T.Kw) {
      if (tok.v === 'union') {
        let j = i + 1;
        if (tokens[j]?.v === 'all' || tokens[j]?.v === 'distinct') j++;
        j = skipParens(tokens, j);
        if (tokens[j]?.v === 'select') return true;
      }
      if (tok.v === 'select' && (broken || atBreak || prev?.t === T.LParen) && selectLooksLikeSql(tokens, i)) return true;
      if ((tok.v === 'order' || tok.v === 'group') && tokens[i + 1]?.v === 'by') {
        const after = tokens[i + 2];
        const end = tokens[i + 3];
        if (after && (after.t === T.Num || isCall(tokens, i + 2)) && (!end || end.t === T.Comment || end.t === T.Comma || end.t === T.Semi || end.t === T.RParen)) return true;
      }
      if (tok.v === 'having' && isOperand(tokens[i + 1]) && tokens[i + 2]?.t === T.Cmp && isOperand(tokens[i + 3])) return true;
      if (tok.v === 'into' && (tokens[i + 1]?.v === 'outfile' || tokens[i + 1]?.v === 'dumpfile')) return true;
      if (tok.v === 'waitfor' && (tokens[i + 1]?.v === 'delay' || tokens[i + 1]?.v === 'time') && (tokens[i + 2]?.t === T.Str || tokens[i + 2]?.t === T.Open)) return true;
      if (tok.v === 'procedure' && tokens[i + 1]?.v === 'analyse') return true;
    }
    // if(1=1) select ...: a conditional on literals
    if (tok.v === 'if' && tokens[i + 1]?.t === T.LParen && isOperand(tokens[i + 2]) && tokens[i + 3]?.t === T.Cmp && isOperand(tokens[i + 4]) && tokens[i + 5]?.t === T.RParen) return true;
    if (tok.t === T.Semi && afterSemiIsStatement(tokens, skipParens(tokens, i + 1))) return true;
    if ((tok.t === T.Word || tok.t === T.Kw) && isCall(tokens, i)) {
      if (ALWAYS.has(tok.v)) return true;
      // a call right after the break or a comparison: '+char(58)+', '=version()#, 1,concat(0x3a,...)
      if (DANGEROUS_FUNCTIONS.has(tok.v) && prev && (prev.t === T.Cmp || prev.t === T.Comma || prev.t === T.Op || (prev.t === T.Str && broken && i === 1))) {
        if (prev.t !== T.Comma || tokens.some((t) => t.t === T.Comment || (t.t === T.Kw && (t.v === 'select' || t.v === 'union')))) return true;
      }
    }
    if (tok.t === T.Comment) {
      if (tok.v === '/*!') return true;
      // the literal is closed and the rest commented out: admin'--, admin'#, ')--
      if (broken && (i === 1 || (i > 1 && tokens.slice(1, i).every((t) => t.t === T.RParen)))) return true;
      // or 1=1--, ... union select ... --: handled above; a comment after a numeric break: 1)--
      if (i > 0 && prev?.t === T.RParen && tokens[0].t === T.Num) return true;
    }
    if (broken && i === 1 && tok.t === T.Semi) return true;
  }
  return false;
}

export function detectSql(value: string): boolean {
  if (value.length < 2) return false;
  const s = value.toLowerCase();
  for (const marker of MARKERS) if (s.includes(marker)) return true;
  if (suspicious(tokenize(s, 0), false)) return true;
  if (s.includes("'") && suspicious(tokenize(s, 39), true)) return true;
  if (s.includes('"') && suspicious(tokenize(s, 34), true)) return true;
  return false;
}
