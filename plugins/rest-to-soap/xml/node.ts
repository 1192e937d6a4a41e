/**
 * The XML element tree every part of the plugin reads: names resolved to (namespace, local), attributes in order,
 * text content concatenated. Built by the WSDL loader (fast-xml-parser) and by the response scanner (xml/scanner.ts).
 */
export interface XmlAttribute {
  ns: string;
  local: string;
  value: string;
}

export interface XmlElement {
  ns: string;
  local: string;
  attributes: XmlAttribute[];
  children: XmlElement[];
  /** Character data directly inside this element (entities decoded, CDATA included). */
  text: string;
  /** In-scope prefix -> namespace bindings (prototype chain = enclosing scopes). Needed to resolve QName values. */
  scope: Record<string, string>;
}

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

export function attr(element: XmlElement, local: string, ns = ''): string | undefined {
  for (const a of element.attributes) if (a.local === local && a.ns === ns) return a.value;
  return undefined;
}

export function childrenNamed(element: XmlElement, ns: string, local: string): XmlElement[] {
  return element.children.filter((c) => c.ns === ns && c.local === local);
}

export function firstChild(element: XmlElement, ns: string, local: string): XmlElement | undefined {
  for (const c of element.children) if (c.ns === ns && c.local === local) return c;
  return undefined;
}

/** "{ns}local": the key of a qualified name in every map. */
export function qkey(ns: string, local: string): string {
  return `{${ns}}${local}`;
}

/** Resolves a QName value ("tns:Foo", "Foo") against the element's scope; an unprefixed name takes the default namespace. */
export function resolveQName(element: XmlElement, value: string): { ns: string; local: string } {
  const colon = value.indexOf(':');
  if (colon < 0) return { ns: element.scope[''] ?? '', local: value };
  const prefix = value.slice(0, colon);
  const ns = element.scope[prefix];
  if (ns === undefined) throw new Error(`undeclared namespace prefix "${prefix}" in "${value}"`);
  return { ns, local: value.slice(colon + 1) };
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decodes the five predefined entities and character references; any other entity is refused (a document with a
 * DTD never reaches this far, so a named entity can only be undeclared). Linear, no regex.
 */
export function decodeEntities(text: string): string {
  let amp = text.indexOf('&');
  if (amp < 0) return text;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const semi = text.indexOf(';', amp);
    if (semi < 0 || semi - amp > 12) throw new XmlError('malformed', 'unterminated entity reference');
    out += text.slice(from, amp);
    const name = text.slice(amp + 1, semi);
    if (name.charCodeAt(0) === 35 /* # */) {
      const code = name.charCodeAt(1) === 120 /* x */ ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (!Number.isInteger(code) || code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new XmlError('malformed', `invalid character reference &${name};`);
      out += String.fromCodePoint(code);
    } else {
      const value = PREDEFINED[name];
      if (value === undefined) throw new XmlError('entity', `undeclared entity &${name};`);
      out += value;
    }
    from = semi + 1;
    amp = text.indexOf('&', from);
  }
  return out + text.slice(from);
}

export type XmlErrorReason = 'malformed' | 'dtd' | 'entity' | 'size' | 'depth' | 'elements' | 'attributes' | 'namespaces' | 'name_length' | 'text_length';

/** Why a document was refused: malformed, or over one of the threat-protection limits. */
export class XmlError extends Error {
  constructor(
    readonly reason: XmlErrorReason,
    message: string,
  ) {
    super(message);
  }
}
