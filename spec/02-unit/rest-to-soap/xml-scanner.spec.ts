import { parseXml, type XmlLimits } from '../../../plugins/rest-to-soap/xml/scanner';
import { XmlError } from '../../../plugins/rest-to-soap/xml/node';

const LIMITS: XmlLimits = { maxBytes: 10_000, maxDepth: 8, maxElements: 50, maxAttributes: 3, maxNamespaces: 2, maxNameLength: 20, maxTextLength: 100 };

function reason(xml: string, limits: Partial<XmlLimits> = {}): string {
  try {
    parseXml(xml, { ...LIMITS, ...limits });
  } catch (err) {
    expect(err).toBeInstanceOf(XmlError);
    return (err as XmlError).reason;
  }
  return 'accepted';
}

describe('rest-to-soap XML scanner (threat protection)', () => {
  it('parses namespaces, attributes, entities, character references and CDATA', () => {
    const root = parseXml('<?xml version="1.0"?><!-- c --><a:r xmlns:a="urn:a" xmlns="urn:d" x="1&amp;2"><c>t&lt;&#65;&#x42;<![CDATA[<raw>&amp;]]></c><a:e/></a:r>', LIMITS);
    expect([root.ns, root.local, root.attributes]).toEqual(['urn:a', 'r', [{ ns: '', local: 'x', value: '1&2' }]]);
    expect(root.children.map((c) => [c.ns, c.local, c.text])).toEqual([['urn:d', 'c', 't<AB<raw>&amp;'], ['urn:a', 'e', '']]);
  });

  it('refuses a DTD (billion laughs never gets to expand) and undeclared entities', () => {
    expect(reason('<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>')).toBe('dtd');
    expect(reason('<r>&b;</r>')).toBe('entity');
  });

  it('enforces every limit', () => {
    const deep = '<a>'.repeat(9) + '</a>'.repeat(9);
    expect(reason(deep)).toBe('depth');
    expect(reason('<a>'.repeat(8) + '</a>'.repeat(8))).toBe('accepted');
    expect(reason(`<r>${'<e/>'.repeat(50)}</r>`)).toBe('elements');
    expect(reason('<r a="1" b="2" c="3" d="4"/>')).toBe('attributes');
    expect(reason('<r xmlns:a="1" xmlns:b="2" xmlns:c="3"/>')).toBe('namespaces');
    expect(reason(`<${'n'.repeat(21)}/>`)).toBe('name_length');
    expect(reason(`<r a${'n'.repeat(20)}="1"/>`)).toBe('name_length');
    expect(reason(`<r>${'x'.repeat(101)}</r>`)).toBe('text_length');
    expect(reason(`<r a="${'x'.repeat(101)}"/>`)).toBe('text_length');
    expect(reason(`<r>${'x'.repeat(90)}</r>`, { maxBytes: 50 })).toBe('size');
  });

  it('refuses malformed documents', () => {
    for (const xml of ['<a><b></a></b>', '<a>', '<a/><b/>', 'text', '<a b=1/>', '<p:a/>', '<a>&#0;</a>']) expect([xml, reason(xml)]).toEqual([xml, expect.stringMatching(/malformed|entity/)]);
  });

  it('stays linear on adversarial input (100k unclosed attributes quotes, deep nesting refused early)', () => {
    const t0 = Date.now();
    expect(reason(`<r a="${'x'.repeat(200_000)}`, { maxBytes: 1e6, maxTextLength: 1e6 })).toBe('malformed');
    expect(reason('<a>'.repeat(100_000), { maxBytes: 1e6 })).toBe('depth');
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
