import { maskXml } from '../../../plugins/pii-masking/xml-masker';
import { MaskReport } from '../../../plugins/pii-masking/value-masker';
import { buildDeps } from './helpers';

const mask = (xml: string, deps = buildDeps()) => maskXml(xml, deps, new MaskReport());

describe('pii-masking XML masker', () => {
  it('masks text nodes, attributes and CDATA in place, leaving every other byte', () => {
    const xml = '<?xml version="1.0"?>\n<!-- a@b.com in a comment is masked too --><?audit by=ops@example.org?>\n<r xmlns:p="urn:x">\n  <p:user email="jane@example.com" id=\'7\'>\n    <ssn>219-45-6789</ssn>\n    <note><![CDATA[card 4111 1111 1111 1111]]></note>\n  </p:user>\n</r>';
    const outcome = mask(xml);
    expect(outcome).toEqual({
      kind: 'masked',
      output: xml.replace('a@b.com', '[EMAIL]').replace('ops@example.org', '[EMAIL]').replace('jane@example.com', '[EMAIL]').replace('219-45-6789', '[SSN]').replace('4111 1111 1111 1111', '[CARD]'),
    });
  });

  it('uses element and attribute names as key context', () => {
    const outcome = mask('<person><SSN>219456789</SSN><order_id>219456789</order_id><x dob="1980-05-17"/></person>');
    expect(outcome).toEqual({ kind: 'masked', output: '<person><SSN>[SSN]</SSN><order_id>219456789</order_id><x dob="[DOB]"/></person>' });
  });

  it('decodes character references for scanning and replaces the raw span', () => {
    expect(mask('<a>mail john&#64;example.com &amp; more</a>')).toEqual({ kind: 'masked', output: '<a>mail [EMAIL] &amp; more</a>' });
  });

  it('masks whole values of field-rule names', () => {
    expect(mask('<login><password>hunter2</password><user pin="1234">bob</user></login>')).toEqual({
      kind: 'masked',
      output: '<login><password>[REDACTED]</password><user pin="[REDACTED]">bob</user></login>',
    });
  });

  it('rejects a DTD (entities could reassemble masked data) and reports invalid XML', () => {
    expect(mask('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')).toEqual({ kind: 'dtd' });
    expect(mask('<a><b></a>')).toEqual({ kind: 'invalid' });
  });

  it('returns no output when nothing is found', () => {
    expect(mask('<a x="1"><b>hello</b></a>')).toEqual({ kind: 'masked', output: undefined });
  });
});
