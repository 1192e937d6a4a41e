/**
 * Script injection (XSS) in values that may be reflected into HTML: script-capable tags (<script, <iframe, <svg,
 * <object, <embed, ...), any tag with an on*= event handler, javascript:/vbscript: URLs (whitespace and control
 * characters inside the scheme ignored, as browsers do), attribute break-outs ("onmouseover=), CSS expression(),
 * and JavaScript sinks right after a string break (';alert(1)//). Ordinary markup such as <a href="https://...">,
 * <b>, <code> passes. Linear scans. Pure.
 */
const DANGEROUS_TAGS = new Set([
  'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'svg', 'math', 'meta', 'base', 'style', 'xml', 'xss',
  'import', 'isindex', 'template', 'portal', 'link', 'form', 'bgsound', 'layer', 'ilayer', 'video', 'audio', 'marquee', 'body',
  'input', 'textarea', 'keygen', 'details', 'select', 'button', 'html', 'plaintext', 'xmp', 'noscript', 'title', 'image',
]);
export const SINKS = ['alert(', 'prompt(', 'confirm(', 'eval(', 'document.cookie', 'document.write', 'fromcharcode(', 'window.location', 'document.location', '.innerhtml', 'settimeout(', 'setinterval(', 'constructor(', 'atob(', 'top[', 'self['];

/** Script URLs and CSS that runs script, looked for with the characters browsers skip in a scheme removed. */
export const COMPACT_MARKERS = ['javascript:', 'vbscript:', 'livescript:', 'data:text/html', 'data:image/svg', 'expression(', '-moz-binding', 'behavior:url'];

const TAG_WINDOW = 4096;

function isLetter(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** `s` without the characters browsers skip inside a URL scheme (tabs, newlines, NUL, spaces). */
function compactScheme(s: string): string {
  let out = '';
  let run = 0; // start of the characters kept, sliced in one piece
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 32 && c !== 127) continue;
    out += s.slice(run, i);
    run = i + 1;
  }
  return out + s.slice(run);
}

function hasEventHandler(s: string, from: number, to: number): boolean {
  // on<letters>= preceded by a separator browsers accept between attributes (space, /, quote, tag start)
  let at = s.indexOf('on', from);
  while (at >= 0 && at < to) {
    const before = at === 0 ? ' ' : s[at - 1];
    if (before === ' ' || before === '/' || before === '"' || before === "'" || before === '\t' || before === '\n' || before === '<' || before === '\f' || before === '\r' || before === '`' || before === ';') {
      let j = at + 2;
      while (j < s.length && isLetter(s.charCodeAt(j))) j++;
      if (j - at >= 5) {
        let k = j;
        while (k < s.length && (s[k] === ' ' || s[k] === '\t' || s[k] === '\n' || s[k] === '\r' || s[k] === '\f')) k++;
        if (s[k] === '=') return true;
      }
    }
    at = s.indexOf('on', at + 2);
  }
  return false;
}

export function detectXss(value: string): boolean {
  if (value.length < 4) return false;
  const s = value.toLowerCase();
  const compact = s.includes('script') || s.includes(':') ? compactScheme(s) : s;
  for (const marker of COMPACT_MARKERS) if (compact.includes(marker)) return true;
  // tags (a tag's attributes are looked at within a bounded window, so runs of '<' stay linear)
  let lt = s.indexOf('<');
  let close = -2;
  // where the event-handler scan has reached: an on*= before it was already judged (whether an `on` qualifies does
  // not depend on the tag it follows), so each character is scanned once however many unclosed tags precede it
  let scanned = 0;
  while (lt >= 0) {
    let j = lt + 1;
    if (s[j] === '/') j++;
    while (j < s.length && (s[j] === '\u0000' || s[j] === ' ')) j++;
    const start = j;
    while (j < s.length && (isLetter(s.charCodeAt(j)) || (j > start && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57))) j++;
    const tag = s.slice(start, j);
    if (close !== -1 && close < j) close = s.indexOf('>', j);
    const end = Math.min(close < 0 ? s.length : close, j + TAG_WINDOW);
    if (tag && DANGEROUS_TAGS.has(tag) && (close >= j || j >= s.length || s[j] === ' ' || s[j] === '/' || s[j] === '\t' || s[j] === '\n')) return true;
    if (tag && end > scanned) {
      if (hasEventHandler(s, Math.max(j, scanned), end)) return true;
      scanned = end;
    }
    if (tag === '' && s.startsWith('!--', j)) {
      if (s.includes('<!--#')) return true;
    }
    lt = s.indexOf('<', lt + 1);
  }
  // attribute break-out without a tag: " onmouseover=alert(1) x="
  if ((s.includes('"') || s.includes("'")) && hasEventHandler(s, 0, s.length)) return true;
  // a JavaScript sink after a string or statement break: ';alert(1)//, "-prompt(1)-"
  for (const sink of SINKS) {
    const at = s.indexOf(sink);
    if (at < 0) continue;
    let b = at - 1;
    while (b >= 0 && s[b] === ' ') b--;
    const before = b < 0 ? '' : s[b];
    if (before === '' || before === ';' || before === "'" || before === '"' || before === '(' || before === '=' || before === '-' || before === '+' || before === '>' || before === '}' || before === '|' || before === '&' || before === '`' || before === '[' || before === ',') return true;
  }
  return false;
}
