/**
 * NoSQL (MongoDB) injection: operator keys in JSON bodies ({"password": {"$ne": null}}) and query names
 * (password[$ne]=1), operator objects smuggled in strings ({$gt: ''}, $where: '1 == 1'), and server-side
 * JavaScript breaking out of a string (';return true, ' && this.password.match(...), db.x.insert(...)). Hand-written
 * scans, linear in the value. Pure.
 */
export const MONGO_OPERATORS = new Set([
  'where', 'ne', 'eq', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'regex', 'exists', 'or', 'and', 'nor', 'not', 'expr', 'function',
  'accumulator', 'elemmatch', 'size', 'type', 'mod', 'all', 'jsonschema', 'text', 'comment', 'options', 'lookup', 'merge', 'out',
  'set', 'unset', 'push', 'inc', 'rename', 'geowithin', 'near',
]);

function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** A JSON key or a query-parameter name: "$ne", "user[$ne]", "$where". */
export function isOperatorName(name: string): boolean {
  let at = name.indexOf('$');
  while (at >= 0) {
    const before = at === 0 ? 91 : name.charCodeAt(at - 1);
    if (at === 0 || before === 91 /* [ */ || before === 46 /* . */) {
      let j = at + 1;
      while (j < name.length && isAlpha(name.charCodeAt(j))) j++;
      if (MONGO_OPERATORS.has(name.slice(at + 1, j).toLowerCase()) && (j === name.length || name[j] === ']' || name[j] === '.')) return true;
    }
    at = name.indexOf('$', at + 1);
  }
  return false;
}

export const JS_BREAKOUTS = ["';return", '";return', "';sleep(", '";sleep(', '&&this.', '||this.', '||1==1', "'=='", '"=="', 'newdate();', 'while(', '.mapreduce(', 'emit(1,', "';it=", 'db.getcollection(', 'tojson(', 'sleep(5000)'];

/** Collection methods called on db.<collection> (server-side JavaScript). */
export const DB_METHODS = ['.insert(', '.find(', '.remove(', '.drop(', '.update(', '.mapreduce(', '.eval('];

export function detectNosql(value: string): boolean {
  if (value.length < 3) return false;
  const s = value.toLowerCase();
  // operators inside a string: {$gt: ''}, [$ne]=1, , $where: '1 == 1'
  let at = s.indexOf('$');
  while (at >= 0) {
    let b = at - 1;
    while (b >= 0 && (s[b] === ' ' || s[b] === '"' || s[b] === "'")) b--;
    const before = b < 0 ? '' : s[b];
    let j = at + 1;
    while (j < s.length && isAlpha(s.charCodeAt(j))) j++;
    const name = s.slice(at + 1, j);
    if (MONGO_OPERATORS.has(name) && (before === '' || before === '{' || before === ',' || before === '[')) {
      let k = j;
      while (k < s.length && (s[k] === ' ' || s[k] === '"' || s[k] === "'")) k++;
      if (s[k] === ':' || s[k] === ']') return true;
    }
    at = s.indexOf('$', at + 1);
  }
  // server-side JavaScript after a broken-out string (whitespace ignored)
  let compact = '';
  for (let i = 0; i < s.length && compact.length < 8192; i++) if (s[i] !== ' ' && s[i] !== '\t' && s[i] !== '\n' && s[i] !== '+') compact += s[i];
  for (const marker of JS_BREAKOUTS) if (compact.includes(marker)) return true;
  const ret = compact.indexOf(';return');
  if (ret >= 0) {
    const rest = compact.slice(ret + 7, ret + 13);
    if (rest.startsWith('true') || rest.startsWith('false') || rest.startsWith('1') || rest.startsWith('0') || rest.startsWith('(') || rest.startsWith("'") || rest.startsWith('"')) return true;
  }
  const db = compact.indexOf('db.');
  if (db >= 0 && (db === 0 || !isAlpha(compact.charCodeAt(db - 1)))) {
    const call = compact.slice(db, db + 80);
    for (const method of DB_METHODS) if (call.includes(method)) return true;
  }
  return false;
}
