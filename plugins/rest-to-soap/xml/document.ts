import { XMLParser } from 'fast-xml-parser';
import { decodeEntities, XML_NS, XmlError, type XmlAttribute, type XmlElement } from './node';

/**
 * WSDL and XSD documents (operator-supplied, read once per config) parsed with fast-xml-parser, entities off (the
 * five predefined ones and character references are decoded here, never expanded from a DTD), a DTD refused before
 * parsing. The result is the same element tree the response scanner builds, with namespace scopes kept for QName
 * attribute values (type="tns:Foo").
 */
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  commentPropName: false,
});

type FxpNode = Record<string, unknown>;

export function parseDocument(text: string, name: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('dtd', `${name}: a DTD is not allowed`);
  let nodes: FxpNode[];
  try {
    nodes = parser.parse(text) as FxpNode[];
  } catch (err) {
    throw new XmlError('malformed', `${name}: ${(err as Error).message}`);
  }
  const rootScope = Object.create(null) as Record<string, string>;
  rootScope.xml = XML_NS;
  const roots = nodes.filter((n) => !('#text' in n));
  if (roots.length !== 1) throw new XmlError('malformed', `${name}: expected one root element`);
  return convert(roots[0], rootScope);
}

function convert(node: FxpNode, parentScope: Record<string, string>): XmlElement {
  const qname = Object.keys(node).find((k) => k !== ':@') as string;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let scope = parentScope;
  const plain: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope === parentScope) scope = Object.create(parentScope) as Record<string, string>;
      scope[name === 'xmlns' ? '' : name.slice(6)] = decodeEntities(value);
    } else plain.push([name, decodeEntities(value)]);
  }
  const { ns, local } = split(qname, scope, true);
  const attributes: XmlAttribute[] = plain.map(([n, value]) => ({ ...split(n, scope, false), value }));
  const element: XmlElement = { ns, local, attributes, children: [], text: '', scope };
  for (const child of (node[qname] ?? []) as FxpNode[]) {
    if ('#text' in child) element.text += decodeEntities(String(child['#text']));
    else element.children.push(convert(child, scope));
  }
  return element;
}

function split(qname: string, scope: Record<string, string>, isElement: boolean): { ns: string; local: string } {
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: isElement ? (scope[''] ?? '') : '', local: qname };
  const prefix = qname.slice(0, colon);
  const ns = scope[prefix];
  if (ns === undefined) throw new XmlError('malformed', `undeclared namespace prefix "${prefix}"`);
  return { ns, local: qname.slice(colon + 1) };
}
