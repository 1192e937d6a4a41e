/**
 * Shell command injection: a shell separator (; | || & && newline, also a literal "\n"), a backtick or $( followed
 * by a command, where the command looks like one: an absolute path (/bin/..., c:\...), a name only a shell user
 * types (whoami, uname, netstat, ...), or a common command (cat, ls, ping, ...) followed by an argument that looks
 * like one (-a, /etc/passwd, a number for sleep/ping) or by the end of the value or another separator. "Tom & Jerry",
 * "R&D; cat lovers" pass. A whole value that is a recon command (whoami, ' whoami) or `which <tool>`; a bare command
 * in backticks in a shell position (`id`, $(`ls`), x=\`whoami\`). Also ${IFS} tricks and SSI <!--#exec. Linear:
 * each separator and backtick looks at a bounded window. Pure.
 */
export const UNAMBIGUOUS = new Set([
  'whoami', 'uname', 'ifconfig', 'ipconfig', 'netstat', 'netsh', 'nslookup', 'systeminfo', 'tasklist', 'taskkill', 'powershell',
  'certutil', 'bitsadmin', 'wget', 'curl', 'nc', 'ncat', 'netcat', 'telnet', 'xterm', 'passwd', 'chmod', 'chown', 'wmic', 'reg',
  'sh', 'bash', 'zsh', 'ksh', 'csh', 'cmd', 'cmd.exe', 'python', 'python3', 'perl', 'ruby', 'php', 'nmap', 'useradd', 'net',
  'hostname', 'uptime', 'sysinfo', 'tftp', 'ftp', 'sudo', 'su', 'crontab', 'base64', 'xxd', 'lsof', 'killall', 'pkill',
]);
export const COMMON = new Set(['id', 'ls', 'dir', 'cat', 'type', 'echo', 'ping', 'sleep', 'rm', 'cp', 'mv', 'touch', 'mkdir', 'find', 'grep', 'awk', 'sed', 'head', 'tail', 'more', 'less', 'ps', 'kill', 'env', 'set', 'ver', 'pwd', 'who', 'w', 'last', 'host', 'dig', 'del', 'copy', 'start', 'exit', 'eval', 'exec', 'timeout', 'expr', 'printf', 'tar', 'unzip', 'chmod']);

/** Code-execution calls and shell tricks that are injections wherever they appear. */
export const CODE_EXEC = ["system('", 'system("', "exec('", 'exec("', "eval('", 'eval("', 'passthru(', 'shell_exec(', 'popen(', 'proc_open(', 'pcntl_exec(', '{${', '() { :;}', '() { :; }', '<?php', 'phpinfo(', 'phpversion(', '${@print(', '{$_get[', '{$_post['];

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46;
}

function skipBlanks(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '"' || s[i] === "'")) i++;
  return i;
}

/** Tools whose arguments are words (net user hacker, netsh firewall set, sudo rm x): two words are no prose sign. */
const SUBCOMMANDS = new Set(['net', 'netsh', 'wmic', 'reg', 'sudo', 'su', 'cmd', 'powershell', 'bitsadmin', 'certutil', 'crontab']);

function isWord(s: string, i: number): number {
  let j = i;
  while (j < s.length && ((s.charCodeAt(j) >= 97 && s.charCodeAt(j) <= 122) || (j > i && s[j] === '-'))) j++;
  return j;
}

/** Two words of letters follow at s[k..] ("telnet to the port", "python language interpreter."): prose, not arguments. */
function twoWords(s: string, k: number): boolean {
  const a = isWord(s, k);
  if (a === k || s[a] !== ' ') return false;
  const b = isWord(s, a + 1);
  return b > a + 1 && (b === s.length || s[b] === ' ' || s[b] === '.' || s[b] === ',' || s[b] === ':');
}

/** Is there a command at s[i..]? `strict`: a common word needs a real argument (value starts, backticks in prose). */
function commandAt(s: string, i: number, strict = false): boolean {
  i = skipBlanks(s, i);
  // a path relative to / (the working directory of many services): |usr/bin/id, ;bin/sh
  if (s.startsWith('usr/bin/', i) || s.startsWith('bin/', i) || s.startsWith('usr/sbin/', i) || s.startsWith('sbin/', i)) return true;
  if (s[i] === '/' || s.startsWith('c:\\', i) || s.startsWith('%0a', i)) {
    // an absolute path: /bin/id, /usr/bin/id, /etc/passwd, c:\windows
    return s.startsWith('/bin/', i) || s.startsWith('/usr/', i) || s.startsWith('/etc/', i) || s.startsWith('/sbin/', i) || s.startsWith('/tmp/', i) || s.startsWith('/dev/', i) || s.startsWith('/proc/', i) || s.startsWith('c:\\', i);
  }
  let j = i;
  while (j < s.length && isNameChar(s.charCodeAt(j))) j++;
  if (j === i || j - i > 24) return false;
  const name = s.slice(i, j);
  let k = j;
  while (k < s.length && (s[k] === ' ' || s[k] === '\t')) k++;
  if (UNAMBIGUOUS.has(name)) return !strict || (k > j && k < s.length && !(i === 0 && !SUBCOMMANDS.has(name) && twoWords(s, k)));
  if (!COMMON.has(name)) return false;
  // a common word is a command when an argument or the end follows
  if (k >= s.length) return !strict;
  if (strict && k === j) return false;
  const next = s[k];
  if (next === ';' || next === '|' || next === '&' || next === '`' || next === '\n' || next === '"' || next === "'" || next === '>' || next === '<' || next === ')' || next === '#' || next === '\\') return true;
  // a Windows drive: dir c:\
  if (s.charCodeAt(k) >= 97 && s.charCodeAt(k) <= 122 && s[k + 1] === ':' && (s[k + 2] === '\\' || s[k + 2] === '/')) return true;
  if (k === j) return next === '$'; // cat${IFS}/etc/passwd
  if (next === '-' || next === '/' || next === '.' || next === '$' || next === '~' || next === '\\' || next === '%') return true;
  if (next >= '0' && next <= '9' && (name === 'sleep' || name === 'ping' || name === 'timeout' || name === 'kill')) return true;
  return false;
}

/** Recon commands that are the whole value (a parameter the application runs as is): no word of prose or data. */
export const RECON = new Set(['whoami', 'uname', 'ifconfig', 'ipconfig', 'netstat', 'systeminfo', 'sysinfo', 'tasklist']);
/** Tools `which` is asked about besides the known commands. */
const TOOLS = new Set(['gcc', 'cc', 'make', 'java', 'node', 'go']);

function nameEnd(s: string, i: number): number {
  while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
  return i;
}

function skipTrailing(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '"' || s[i] === "'" || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

/** The whole value is a recon command (`whoami`, `' whoami`) or `which <tool>`. */
function wholeValueCommand(s: string): boolean {
  const i = skipBlanks(s, 0);
  const j = nameEnd(s, i);
  if (j === i) return false;
  const name = s.slice(i, j);
  if (RECON.has(name)) return skipTrailing(s, j) === s.length;
  if (name !== 'which' || (s[j] !== ' ' && s[j] !== '\t')) return false;
  const a = skipBlanks(s, j);
  const b = nameEnd(s, a);
  const tool = s.slice(a, b);
  if (b === a || b - a > 24 || !(UNAMBIGUOUS.has(tool) || COMMON.has(tool) || TOOLS.has(tool))) return false;
  const k = skipTrailing(s, b);
  return k === s.length || s[k] === ';' || s[k] === '|' || s[k] === '&';
}

/**
 * A backtick span `...` in a shell position: the whole value, after `=`, `\` or `$(`, and closed by the end, `)`,
 * `\` or a separator. Markdown code spans in prose ("the `id` field", "(`type`)") are not in such a position.
 */
function shellSpan(s: string, open: number, close: number): boolean {
  const before = open === 0 ? '' : s[open - 1];
  const after = close + 1 >= s.length ? '' : s[close + 1];
  const okBefore = before === '' || before === '=' || before === '\\' || (before === '(' && s[open - 2] === '$');
  const okAfter = after === '' || after === ')' || after === '\\' || after === ';' || after === '|' || after === '&';
  return okBefore && okAfter;
}

/** Shell tricks and files that are injections wherever they appear. */
export const SHELL_MARKERS = ['${ifs}', '$ifs', '<!--#exec', '/bin/sh', '/bin/bash', '/etc/passwd', '/etc/shadow'];

export function detectCommand(value: string): boolean {
  if (value.length < 2) return false;
  const s = value.toLowerCase();
  for (const marker of CODE_EXEC) if (s.includes(marker)) return true;
  // a value that is itself a command line (the application runs it, or appends it to one)
  if (commandAt(s, 0, true)) return true;
  if (wholeValueCommand(s)) return true;
  for (const marker of SHELL_MARKERS) if (s.includes(marker)) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '`') {
      const end = s.indexOf('`', i + 1);
      if (end > i + 1 && commandAt(s, i + 1, true)) return true;
      if (end < 0) break;
      // a bare command in a shell position: `id`, $(`ls`), user=\`whoami\` (the span's content, at most 64 chars)
      if (end > i + 1 && end - i <= 65 && shellSpan(s, i, end) && commandAt(s.slice(i + 1, end), 0)) return true;
      continue;
    }
    if (c === '$' && s[i + 1] === '(') {
      if (commandAt(s, i + 2)) return true;
      continue;
    }
    let next = -1;
    if (c === ';' || c === '\n' || c === '\r') next = i + 1;
    else if (c === '|' || c === '&') next = s[i + 1] === c ? i + 2 : i + 1;
    else if (c === '\\' && s[i + 1] === 'n') next = i + 2;
    if (next >= 0 && commandAt(s, next)) return true;
  }
  return false;
}
