import { decodeEntities, XML_NS, XmlError, type XmlAttribute, type XmlElement } from './node';

/** XML threat protection (Kong Enterprise's xml-threat-protection knobs): every limit is checked while scanning. */
export interface XmlLimits {
  /** Bytes of the whole document. */
  maxBytes: number;
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements: number;
  /** Attributes on one element (namespace declarations not included). */
  maxAttributes: number;
  /** Namespace declarations on one element. */
  maxNamespaces: number;
  /** Characters of an element or attribute name (prefix included). */
  maxNameLength: number;
  /** Characters of one text node or attribute value. */
  maxTextLength: number;
}

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** Name characters end at whitespace, '/', '>', '=', '<', quotes: enough to delimit; the parser is not a validator. */
function isNameEnd(c: number): boolean {
  return isSpace(c) || c === 47 || c === 62 || c === 61 || c === 60 || c === 34 || c === 39 || Number.isNaN(c);
}

interface Open {
  element: XmlElement;
  qname: string;
}

/**
 * Parses an XML document into an element tree in one linear pass (indexOf/charCodeAt, no regex, no entity
 * expansion): a DTD is refused outright, only the predefined entities and character references are decoded, and
 * every limit is enforced as the scan reaches it, so an oversized or hostile document costs at most its size.
 * Comments, processing instructions and the XML declaration are skipped. Throws XmlError.
 */
export function parseXml(source: string, limits: XmlLimits): XmlElement {
  if (source.length > limits.maxBytes || Buffer.byteLength(source) > limits.maxBytes) throw new XmlError('size', `document larger than ${limits.maxBytes} bytes`);
  const rootScope: Record<string, string> = Object.create(null) as Record<string, string>;
  rootScope.xml = XML_NS;
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = source.length;
  while (i < n) {
    const lt = source.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      appendText(stack, source.slice(i, textEnd), limits, true);
      i = textEnd;
      if (lt < 0) break;
    }
    const next = source.charCodeAt(lt + 1);
    if (next === 33 /* ! */) {
      if (source.startsWith('<!--', lt)) {
        const end = source.indexOf('-->', lt + 4);
        if (end < 0) throw new XmlError('malformed', 'unterminated comment');
        i = end + 3;
      } else if (source.startsWith('<![CDATA[', lt)) {
        const end = source.indexOf(']]>', lt + 9);
        if (end < 0) throw new XmlError('malformed', 'unterminated CDATA section');
        if (!stack.length) throw new XmlError('malformed', 'character data outside the root element');
        appendText(stack, source.slice(lt + 9, end), limits, false);
        i = end + 3;
      } else if (source.startsWith('<!DOCTYPE', lt) || source.startsWith('<!doctype', lt)) {
        throw new XmlError('dtd', 'a DTD is not allowed');
      } else {
        throw new XmlError('malformed', 'markup declaration outside a DTD');
      }
    } else if (next === 63 /* ? */) {
      const end = source.indexOf('?>', lt + 2);
      if (end < 0) throw new XmlError('malformed', 'unterminated processing instruction');
      i = end + 2;
    } else if (next === 47 /* / */) {
      const end = source.indexOf('>', lt + 2);
      if (end < 0) throw new XmlError('malformed', 'unterminated end tag');
      let nameEnd = end;
      while (nameEnd > lt + 2 && isSpace(source.charCodeAt(nameEnd - 1))) nameEnd--;
      const qname = source.slice(lt + 2, nameEnd);
      const open = stack.pop();
      if (!open || open.qname !== qname) throw new XmlError('malformed', `end tag </${qname}> does not match ${open ? `<${open.qname}>` : 'any open element'}`);
      i = end + 1;
    } else {
      if (root && !stack.length) throw new XmlError('malformed', 'more than one root element');
      const started = startTag(source, lt + 1, stack, limits);
      i = started.end;
      elements++;
      if (elements > limits.maxElements) throw new XmlError('elements', `more than ${limits.maxElements} elements`);
      root ??= started.element;
      if (stack.length > limits.maxDepth) throw new XmlError('depth', `nesting deeper than ${limits.maxDepth}`);
    }
  }
  if (stack.length) throw new XmlError('malformed', `element <${stack[stack.length - 1].qname}> is not closed`);
  if (!root) throw new XmlError('malformed', 'no root element');
  return root;

  function startTag(src: string, from: number, open: Open[], lim: XmlLimits): { end: number; element: XmlElement } {
    let p = from;
    while (!isNameEnd(src.charCodeAt(p))) p++;
    const qname = src.slice(from, p);
    if (!qname) throw new XmlError('malformed', 'empty element name');
    if (qname.length > lim.maxNameLength) throw new XmlError('name_length', `element name longer than ${lim.maxNameLength}`);
    const parentScope = open.length ? open[open.length - 1].element.scope : rootScope;
    let scope = parentScope;
    const raw: Array<[string, string]> = [];
    let namespaces = 0;
    for (;;) {
      while (isSpace(src.charCodeAt(p))) p++;
      const c = src.charCodeAt(p);
      if (c === 62 /* > */ || (c === 47 && src.charCodeAt(p + 1) === 62)) break;
      if (Number.isNaN(c)) throw new XmlError('malformed', `unterminated start tag <${qname}>`);
      const nameStart = p;
      while (!isNameEnd(src.charCodeAt(p))) p++;
      const name = src.slice(nameStart, p);
      if (!name) throw new XmlError('malformed', `bad attribute in <${qname}>`);
      if (name.length > lim.maxNameLength) throw new XmlError('name_length', `attribute name longer than ${lim.maxNameLength}`);
      while (isSpace(src.charCodeAt(p))) p++;
      if (src.charCodeAt(p) !== 61) throw new XmlError('malformed', `attribute ${name} without a value`);
      p++;
      while (isSpace(src.charCodeAt(p))) p++;
      const quote = src.charCodeAt(p);
      if (quote !== 34 && quote !== 39) throw new XmlError('malformed', `attribute ${name} value not quoted`);
      const close = src.indexOf(quote === 34 ? '"' : "'", p + 1);
      if (close < 0) throw new XmlError('malformed', `unterminated attribute ${name}`);
      if (close - p - 1 > lim.maxTextLength) throw new XmlError('text_length', `attribute value longer than ${lim.maxTextLength}`);
      const rawValue = src.slice(p + 1, close);
      if (rawValue.indexOf('<') >= 0) throw new XmlError('malformed', `"<" in attribute ${name}`);
      const value = decodeEntities(rawValue);
      p = close + 1;
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        if (++namespaces > lim.maxNamespaces) throw new XmlError('namespaces', `more than ${lim.maxNamespaces} namespace declarations on <${qname}>`);
        if (scope === parentScope) scope = Object.create(parentScope) as Record<string, string>;
        scope[name === 'xmlns' ? '' : name.slice(6)] = value;
      } else {
        raw.push([name, value]);
        if (raw.length > lim.maxAttributes) throw new XmlError('attributes', `more than ${lim.maxAttributes} attributes on <${qname}>`);
      }
    }
    const selfClosing = src.charCodeAt(p) === 47;
    const { ns, local } = split(qname, scope, true);
    const attributes: XmlAttribute[] = raw.map(([name, value]) => {
      const q = split(name, scope, false);
      return { ns: q.ns, local: q.local, value };
    });
    const element: XmlElement = { ns, local, attributes, children: [], text: '', scope };
    if (open.length) open[open.length - 1].element.children.push(element);
    if (selfClosing) return { end: p + 2, element };
    open.push({ element, qname });
    return { end: p + 1, element };
  }
}

function split(qname: string, scope: Record<string, string>, isElement: boolean): { ns: string; local: string } {
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: isElement ? (scope[''] ?? '') : '', local: qname };
  const prefix = qname.slice(0, colon);
  const ns = prefix === 'xmlns' ? XMLNS_NS : scope[prefix];
  if (ns === undefined) throw new XmlError('malformed', `undeclared namespace prefix "${prefix}"`);
  return { ns, local: qname.slice(colon + 1) };
}

function appendText(stack: Open[], raw: string, limits: XmlLimits, decode: boolean): void {
  const top = stack[stack.length - 1];
  if (!top) {
    for (let k = 0; k < raw.length; k++) if (!isSpace(raw.charCodeAt(k))) throw new XmlError('malformed', 'character data outside the root element');
    return;
  }
  const text = decode ? decodeEntities(raw) : raw;
  const element = top.element;
  if (element.text.length + text.length > limits.maxTextLength) throw new XmlError('text_length', `text longer than ${limits.maxTextLength}`);
  element.text = element.text ? element.text + text : text;
}
