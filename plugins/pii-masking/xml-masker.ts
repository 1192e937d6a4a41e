import { XMLValidator } from 'fast-xml-parser';
import type { KeyContexts } from './detectors/key-context';
import type { FieldRules } from './field-rules';
import { DecodedText } from './decoded-text';
import { Splicer } from './splice';
import type { MaskReport, ValueEdit, ValueMasker } from './value-masker';

/**
 * XML masking without re-serialization. The document is first checked by fast-xml-parser's XMLValidator
 * (well-formedness; entities are never expanded), and refused when it has a DOCTYPE: a DTD can define entities that
 * reassemble masked data on the client, or blow up (billion laughs). Then one linear pass locates text nodes,
 * CDATA sections and attribute values, scans each with its element (or attribute) local name as key context, and
 * splices replacements (XML-escaped) into the original bytes. Character references and the five predefined entities
 * are decoded for scanning (`&#64;` is an '@') with a map back to raw offsets.
 */
export type XmlMaskOutcome = { kind: 'masked'; output: string | undefined } | { kind: 'invalid' } | { kind: 'dtd' };

export interface XmlMaskDeps {
  values: ValueMasker;
  keys: KeyContexts;
  rules: FieldRules;
}

const DOCTYPE = /<!DOCTYPE/i;

export function maskXml(raw: string, deps: XmlMaskDeps, report: MaskReport): XmlMaskOutcome {
  if (DOCTYPE.test(raw)) return { kind: 'dtd' };
  if (XMLValidator.validate(raw) !== true) return { kind: 'invalid' };
  return { kind: 'masked', output: new XmlWalker(raw, deps, report).run() };
}

export function xmlEscape(text: string): string {
  if (!/[<>&"']/.test(text)) return text;
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

function isNameEnd(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62 || c === 61;
}

/** XML's five entities, plus the HTML names that spell PII punctuation (`alice&commat;example&period;com`). */
const NAMED: Record<string, string> = {
  lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", commat: '@', period: '.', plus: '+', colon: ':', nbsp: '\u00a0', hyphen: '-',
  dash: '-', lpar: '(', rpar: ')', sol: '/', num: '#', lowbar: '_', percnt: '%',
};

class XmlWalker {
  private i = 0;
  /** Memoized position of the next '&' (-1: none left), so that entity checks stay linear. */
  private nextAmp = -2;
  private readonly names: string[] = [];
  private readonly splicer: Splicer;

  constructor(
    private readonly raw: string,
    private readonly deps: XmlMaskDeps,
    private readonly report: MaskReport,
  ) {
    this.splicer = new Splicer(raw);
  }

  run(): string | undefined {
    const raw = this.raw;
    const n = raw.length;
    while (this.i < n) {
      const lt = raw.indexOf('<', this.i);
      const textEnd = lt < 0 ? n : lt;
      if (textEnd > this.i && this.names.length) this.maskText(this.i, textEnd, true);
      if (lt < 0) break;
      this.i = lt;
      if (raw.startsWith('<!--', lt)) {
        // comments and processing instructions reach the client too: scanned as text without context
        const close = raw.indexOf('-->', lt + 4);
        this.maskValue(lt + 4, close < 0 ? n : close, '', false);
        this.i = close < 0 ? n : close + 3;
      }
      else if (raw.startsWith('<![CDATA[', lt)) {
        const close = raw.indexOf(']]>', lt + 9);
        const end = close < 0 ? n : close;
        if (this.names.length) this.maskText(lt + 9, end, false);
        this.i = close < 0 ? n : close + 3;
      } else if (raw.startsWith('<?', lt)) {
        const close = raw.indexOf('?>', lt + 2);
        this.maskValue(lt + 2, close < 0 ? n : close, '', false);
        this.i = close < 0 ? n : close + 2;
      }
      else if (raw.startsWith('</', lt)) {
        this.names.pop();
        this.i = this.after('>', lt + 2);
      } else this.openTag(lt + 1);
    }
    return this.splicer.result();
  }

  private after(marker: string, from: number): number {
    const at = this.raw.indexOf(marker, from);
    return at < 0 ? this.raw.length : at + marker.length;
  }

  private openTag(from: number): void {
    const raw = this.raw;
    const n = raw.length;
    let i = from;
    while (i < n && !isNameEnd(raw.charCodeAt(i))) i++;
    const name = localName(raw.slice(from, i));
    for (;;) {
      while (i < n && (raw.charCodeAt(i) === 32 || raw.charCodeAt(i) === 9 || raw.charCodeAt(i) === 10 || raw.charCodeAt(i) === 13)) i++;
      if (i >= n) break;
      const c = raw.charCodeAt(i);
      if (c === 62) {
        this.names.push(name);
        this.i = i + 1;
        return;
      }
      if (c === 47) {
        this.i = this.after('>', i);
        return;
      }
      const attrStart = i;
      while (i < n && !isNameEnd(raw.charCodeAt(i))) i++;
      const attr = localName(raw.slice(attrStart, i));
      while (i < n && raw.charCodeAt(i) !== 61) i++;
      i++;
      while (i < n && raw.charCodeAt(i) !== 34 && raw.charCodeAt(i) !== 39) i++;
      const quote = raw[i];
      const valueStart = i + 1;
      const valueEnd = raw.indexOf(quote, valueStart);
      if (valueEnd < 0) break;
      if (valueEnd > valueStart && !attr.startsWith('xmlns') && attr !== 'xmlns') this.maskValue(valueStart, valueEnd, attr, true);
      i = valueEnd + 1;
    }
    this.i = n;
  }

  private maskText(start: number, end: number, entities: boolean): void {
    const raw = this.raw;
    let blank = true;
    for (let k = start; k < end && blank; k++) {
      const c = raw.charCodeAt(k);
      blank = c === 32 || c === 9 || c === 10 || c === 13;
    }
    if (blank) return;
    this.maskValue(start, end, this.names[this.names.length - 1], entities);
  }

  private maskValue(start: number, end: number, keyName: string, entities: boolean): void {
    const raw = this.raw;
    const context = this.deps.keys.of(keyName);
    if (this.deps.rules.keys.size > 0 && this.deps.rules.matchesKey(keyName)) {
      const masked = this.deps.values.field(raw.slice(start, end), this.report);
      if (masked !== undefined) this.splicer.replace(start, end, xmlEscape(masked));
      return;
    }
    if (entities && this.nextAmp !== -1 && this.nextAmp < start) this.nextAmp = raw.indexOf('&', start);
    if (!entities || this.nextAmp === -1 || this.nextAmp >= end) {
      const edits = this.deps.values.edits(raw.slice(start, end), context, false, this.report);
      if (edits) this.apply(edits, (k) => start + k, entities);
      return;
    }
    const decoded = decodeEntities(raw, start, end);
    const edits = this.deps.values.edits(decoded.text, context, false, this.report);
    if (edits) this.apply(edits, (k) => decoded.map[k], entities);
  }

  private apply(edits: ValueEdit[], toRaw: (k: number) => number, escape: boolean): void {
    for (const edit of edits) this.splicer.replace(toRaw(edit.start), toRaw(edit.end), escape ? xmlEscape(edit.text) : edit.text.replace(/]]>/g, ']] >'));
  }
}

/** Decodes character references and predefined entities, mapping each decoded char (and the end) to raw offsets (linear). */
export function decodeEntities(raw: string, start: number, end: number): { text: string; map: Int32Array } {
  const out = DecodedText.forCapacity(end - start);
  let i = start;
  while (i < end) {
    let amp = raw.indexOf('&', i);
    if (amp < 0 || amp > end) amp = end;
    if (amp > i) {
      out.copy(raw, i, amp);
      i = amp;
      if (i >= end) break;
    }
    let semi = i + 1;
    const limit = Math.min(end, i + 12);
    while (semi < limit && raw.charCodeAt(semi) !== 59) semi++;
    let char: string | undefined;
    if (semi < limit) {
      const body = raw.slice(i + 1, semi);
      char = NAMED[body];
      if (char === undefined && body.startsWith('#')) {
        const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        if (Number.isFinite(code) && code >= 0 && code <= 0x10ffff) char = String.fromCodePoint(code);
      }
    }
    if (char !== undefined) {
      for (let k = 0; k < char.length; k++) out.push(char.charCodeAt(k), i);
      i = semi + 1;
    } else {
      out.push(38, i);
      i++;
    }
  }
  return out.finish(end);
}
