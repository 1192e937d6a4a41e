import { XSI_NS } from './xml/node';
import { SOAP11_ENV, SOAP12_ENV, type MessageShape, type SoapVersion } from './wsdl/operations';
import { VALUE_KEY, type ComplexShape, type ElementShape, type SimpleShape } from './xsd/shapes';

/**
 * Writes the SOAP request for a validated JSON body: children in xs:sequence order whatever the JSON key order,
 * every namespace declared once on the Envelope with a prefix fixed per operation (compiled once), unqualified
 * local elements without a prefix, null as xsi:nil="true". Values are written in their XSD lexical form.
 */
export class EnvelopeWriter {
  private readonly prefixes = new Map<string, string>();
  /** Prefixed tag per particle, computed once. */
  private readonly tags = new Map<ElementShape, string>();
  private readonly open: string;
  private readonly close: string;

  constructor(
    private readonly message: MessageShape,
    version: SoapVersion,
  ) {
    const envNs = version === '1.1' ? SOAP11_ENV : SOAP12_ENV;
    this.collect(message.body, new Set());
    if (message.wrapper?.ns) this.prefix(message.wrapper.ns);
    const declarations = [...this.prefixes].map(([ns, p]) => ` xmlns:${p}="${escapeAttr(ns)}"`).join('');
    this.open = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${envNs}" xmlns:xsi="${XSI_NS}"${declarations}>`;
    this.close = '</soap:Body></soap:Envelope>';
  }

  /** The whole envelope; `header` is the inner XML of soap:Header (WS-Security), if any. */
  write(body: Record<string, unknown>, header?: string): string {
    let out = this.open + (header ? `<soap:Header>${header}</soap:Header>` : '') + '<soap:Body>';
    const wrapper = this.message.wrapper;
    if (this.message.mode === 'wrapped' && wrapper) {
      const tag = this.tag(wrapper.ns, wrapper.name);
      out += `<${tag}>${this.children(this.message.body, body)}</${tag}>`;
    } else out += this.children(this.message.body, body);
    return out + this.close;
  }

  private children(shape: ComplexShape, value: Record<string, unknown>): string {
    let out = '';
    for (const particle of shape.particles) {
      const v = value[particle.name];
      if (v === undefined) continue;
      if (Array.isArray(v) && particle.max > 1) for (const item of v) out += this.element(particle, item);
      else out += this.element(particle, v);
    }
    if (shape.open) {
      // xs:any: keys the schema does not name, written as unqualified elements
      for (const [key, v] of Object.entries(value)) if (!shape.byKey.has(key) && key !== VALUE_KEY && !shape.attributes.some((a) => a.key === key)) out += generic(key, v);
    }
    return out;
  }

  private element(particle: ElementShape, value: unknown): string {
    let tag = this.tags.get(particle);
    if (tag === undefined) {
      tag = this.tag(particle.ns, particle.name);
      this.tags.set(particle, tag);
    }
    if (value === null) return `<${tag} xsi:nil="true"/>`;
    const type = particle.type;
    if (type.kind === 'simple') return `<${tag}>${text(lexical(type, value))}</${tag}>`;
    if (typeof value !== 'object' || Array.isArray(value)) {
      if (type.text) return `<${tag}>${text(lexical(type.text, value))}</${tag}>`;
      return `<${tag}>${text(String(value))}</${tag}>`;
    }
    const record = value as Record<string, unknown>;
    let attributes = '';
    for (const a of type.attributes) {
      const v = record[a.key];
      if (v === undefined || v === null) continue;
      attributes += ` ${a.ns ? `${this.prefix(a.ns)}:` : ''}${a.name}="${escapeAttr(lexical(a.type, v))}"`;
    }
    const inner = type.text && record[VALUE_KEY] !== undefined ? text(lexical(type.text, record[VALUE_KEY])) : this.children(type, record);
    return `<${tag}${attributes}>${inner}</${tag}>`;
  }

  private tag(ns: string, name: string): string {
    return ns ? `${this.prefix(ns)}:${name}` : name;
  }

  private prefix(ns: string): string {
    let p = this.prefixes.get(ns);
    if (!p) {
      p = `ns${this.prefixes.size}`;
      this.prefixes.set(ns, p);
    }
    return p;
  }

  private collect(shape: ComplexShape, seen: Set<ComplexShape>): void {
    if (seen.has(shape)) return;
    seen.add(shape);
    for (const p of shape.particles) {
      if (p.ns) this.prefix(p.ns);
      if (p.type.kind === 'complex') this.collect(p.type, seen);
    }
    for (const a of shape.attributes) if (a.ns) this.prefix(a.ns);
  }
}

function generic(key: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => generic(key, v)).join('');
  if (value === null) return `<${key} xsi:nil="true"/>`;
  if (typeof value === 'object') return `<${key}>${Object.entries(value as Record<string, unknown>).map(([k, v]) => generic(k, v)).join('')}</${key}>`;
  return `<${key}>${text(String(value))}</${key}>`;
}

/** A validated JSON value in its XSD lexical form. */
export function lexical(type: SimpleShape, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (type.value === 'integer') return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
    if (type.value === 'decimal') return decimalString(value);
    if (type.value === 'number') return Number.isFinite(value) ? String(value).replace('e', 'E') : value > 0 ? 'INF' : value < 0 ? '-INF' : 'NaN';
    return String(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function decimalString(value: number): string {
  const s = String(value);
  if (!s.includes('e')) return s;
  // 1e-7 / 1e+21: xs:decimal has no exponent
  return Math.abs(value) >= 1 ? BigInt(Math.round(value)).toString() : value.toFixed(20).replace(/0+$/, '');
}

/** Thrown for a string XML 1.0 cannot carry (control characters, lone surrogates). */
export class UnwritableText extends Error {}

export function text(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 38) rep = '&amp;';
    else if (c === 60) rep = '&lt;';
    else if (c === 62) rep = '&gt;';
    else if (c === 13) rep = '&#13;';
    else if (c < 32 && c !== 9 && c !== 10) throw new UnwritableText(`control character U+${c.toString(16).padStart(4, '0')} cannot be sent in XML`);
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else throw new UnwritableText('unpaired surrogate cannot be sent in XML');
    } else if (c === 0xfffe || c === 0xffff) throw new UnwritableText('U+FFFE/U+FFFF cannot be sent in XML');
    if (rep) {
      out += s.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

function escapeAttr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}
