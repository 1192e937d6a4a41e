import { parseXml, type XmlLimits } from './xml/scanner';
import { attr, qkey, resolveQName, XML_NS, XSI_NS, XmlError, type XmlElement } from './xml/node';
import { SOAP11_ENV, SOAP12_ENV, type MessageShape, type ServiceModel, type SoapVersion } from './wsdl/operations';
import { VALUE_KEY, type ComplexShape, type ElementShape, type SimpleShape, type TypeShape } from './xsd/shapes';

export type Unwrap = 'none' | 'wrapper' | 'result';

export interface SoapFault {
  version: SoapVersion;
  /** Fault code local name when it is one of the envelope's codes (Client, Sender, ...), else the QName as "{ns}local". */
  code: string;
  subcodes: string[];
  reason: string;
  actor?: string;
  /** The detail as JSON text (typed by a declared fault element when one matches). */
  detail?: string;
}

export type ReadResult = { kind: 'ok'; json: string } | { kind: 'fault'; fault: SoapFault } | { kind: 'invalid'; reason: string; threat?: XmlError['reason'] };

/**
 * Upstream SOAP envelope -> JSON text, typed by the XSD: numbers and booleans as JSON numbers/booleans (integers
 * and decimals written with their own digits, so xs:long and xs:decimal keep every digit), strings always strings
 * even when they look numeric, dates and enumerations as strings, xsi:nil as null, maxOccurs > 1 always an array
 * (one item or none included), xsi:type selecting a derived type. Faults come back structured. The document is
 * scanned under the threat-protection limits; anything that is not a SOAP envelope of the expected version is
 * "invalid".
 */
export class ResponseReader {
  private readonly envNs: string;
  /** Output messages by the local name of their Body element, when unique: servers that qualify an rpc wrapper with another namespace (node-soap uses the WSDL's targetNamespace, not soap:body's) are still typed. */
  private readonly byLocalName = new Map<string, MessageShape | null>();

  constructor(
    private readonly model: ServiceModel,
    private readonly limits: XmlLimits,
    private readonly unwrap: Unwrap,
  ) {
    this.envNs = model.version === '1.1' ? SOAP11_ENV : SOAP12_ENV;
    for (const [key, message] of model.outputs) {
      const local = key.slice(key.indexOf('}') + 1);
      this.byLocalName.set(local, this.byLocalName.has(local) ? null : message);
    }
  }

  read(body: string): ReadResult {
    let root: XmlElement;
    try {
      root = parseXml(body, this.limits);
    } catch (err) {
      if (err instanceof XmlError) return { kind: 'invalid', reason: err.message, threat: err.reason === 'malformed' ? undefined : err.reason };
      throw err;
    }
    if (root.local !== 'Envelope' || (root.ns !== SOAP11_ENV && root.ns !== SOAP12_ENV)) return { kind: 'invalid', reason: 'not a SOAP envelope' };
    const soapBody = root.children.find((c) => c.ns === root.ns && c.local === 'Body');
    if (!soapBody) return { kind: 'invalid', reason: 'the envelope has no Body' };
    const first = soapBody.children[0];
    if (first && first.ns === root.ns && first.local === 'Fault') return { kind: 'fault', fault: this.fault(first, root.ns === SOAP11_ENV ? '1.1' : '1.2') };
    if (root.ns !== this.envNs) return { kind: 'invalid', reason: `SOAP ${root.ns === SOAP11_ENV ? '1.1' : '1.2'} envelope from a SOAP ${this.model.version} port` };
    if (!first) return { kind: 'ok', json: 'null' };
    const message = this.model.outputs.get(qkey(first.ns, first.local)) ?? this.byLocalName.get(first.local);
    if (!message) return { kind: 'ok', json: this.unknownBody(soapBody) };
    return { kind: 'ok', json: this.message(message, soapBody) };
  }

  private message(message: MessageShape, soapBody: XmlElement): string {
    if (message.mode === 'parts') {
      const json = complexJson(message.body, { ...soapBody, attributes: [] }, this.model);
      return this.unwrap === 'result' && message.body.particles.length === 1 ? firstValue(json) : json;
    }
    const wrapper = soapBody.children[0];
    const json = complexJson(message.body, wrapper, this.model);
    if (this.unwrap === 'none') return `{${JSON.stringify(wrapper.local)}:${json}}`;
    if (this.unwrap === 'result' && message.body.particles.length === 1 && !message.body.attributes.length) return firstValue(json, message.body.particles[0]);
    return json;
  }

  private unknownBody(soapBody: XmlElement): string {
    const parts = soapBody.children.map((c) => `${JSON.stringify(c.local)}:${genericJson(c)}`);
    return `{${parts.join(',')}}`;
  }

  private fault(fault: XmlElement, version: SoapVersion): SoapFault {
    const ns = fault.ns;
    const child = (el: XmlElement | undefined, local: string, inNs: string) => el?.children.find((c) => c.local === local && c.ns === inNs);
    if (version === '1.1') {
      const codeEl = child(fault, 'faultcode', '');
      const detailEl = child(fault, 'detail', '');
      return {
        version,
        code: codeEl ? codeName(codeEl, codeEl.text.trim(), ns) : 'Server',
        subcodes: [],
        reason: child(fault, 'faultstring', '')?.text.trim() ?? '',
        actor: child(fault, 'faultactor', '')?.text.trim() || undefined,
        detail: detailEl ? this.detail(detailEl) : undefined,
      };
    }
    const codeEl = child(fault, 'Code', ns);
    const value = child(codeEl, 'Value', ns);
    const subcodes: string[] = [];
    let sub = child(codeEl, 'Subcode', ns);
    while (sub && subcodes.length < 8) {
      const v = child(sub, 'Value', ns);
      if (v) subcodes.push(codeName(v, v.text.trim(), ns));
      sub = child(sub, 'Subcode', ns);
    }
    const reasonEl = child(fault, 'Reason', ns);
    const texts = reasonEl?.children.filter((c) => c.local === 'Text' && c.ns === ns) ?? [];
    const text = texts.find((t) => (attr(t, 'lang', XML_NS) ?? '').toLowerCase().startsWith('en')) ?? texts[0];
    const detailEl = child(fault, 'Detail', ns);
    return {
      version,
      code: value ? codeName(value, value.text.trim(), ns) : 'Receiver',
      subcodes,
      reason: text?.text.trim() ?? '',
      actor: (child(fault, 'Node', ns) ?? child(fault, 'Role', ns))?.text.trim() || undefined,
      detail: detailEl ? this.detail(detailEl) : undefined,
    };
  }

  private detail(detail: XmlElement): string {
    if (!detail.children.length) return JSON.stringify(detail.text.trim());
    const parts = detail.children.map((c) => {
      const declared = this.model.faults.get(qkey(c.ns, c.local)) ?? [...this.model.faults.values()].find((f) => f.name === c.local);
      return `${JSON.stringify(c.local)}:${declared ? valueJson(declared, c, this.model) : genericJson(c)}`;
    });
    return `{${parts.join(',')}}`;
  }
}

function codeName(element: XmlElement, value: string, envNs: string): string {
  try {
    const q = resolveQName(element, value);
    return q.ns === envNs ? q.local : value;
  } catch {
    return value;
  }
}

/** `{"AddResult":3}` -> `3`: the value of the only member. */
function firstValue(json: string, particle?: ElementShape): string {
  if (json === '{}') return particle && particle.max > 1 ? '[]' : 'null';
  const colon = json.indexOf(':');
  return json.slice(colon + 1, -1);
}

interface ComplexPlan {
  /** '"name":' per particle, JSON-quoted once. */
  keys: string[];
  index: Map<string, number>;
  attributeKeys: string[];
}

const plans = new WeakMap<ComplexShape, ComplexPlan>();

/** Per type, computed once: the JSON keys already quoted, the particle index by local name. */
function planOf(shape: ComplexShape): ComplexPlan {
  let plan = plans.get(shape);
  if (!plan) {
    plan = {
      keys: shape.particles.map((p) => `${JSON.stringify(p.name)}:`),
      index: new Map(shape.particles.map((p, i) => [p.name, i])),
      attributeKeys: shape.attributes.map((a) => `${JSON.stringify(a.key)}:`),
    };
    plans.set(shape, plan);
  }
  return plan;
}

function complexJson(shape: ComplexShape, element: XmlElement, model: ServiceModel): string {
  if (element.attributes.length) {
    const derived = xsiType(element, model);
    if (derived) shape = derived;
  }
  const plan = planOf(shape);
  let out = '';
  for (let a = 0; a < shape.attributes.length; a++) {
    const attribute = shape.attributes[a];
    const v = attr(element, attribute.name, attribute.ns);
    if (v !== undefined) out += `${out ? ',' : ''}${plan.attributeKeys[a]}${simpleJson(attribute.type, v)}`;
  }
  if (shape.text) out += `${out ? ',' : ''}${JSON.stringify(VALUE_KEY)}:${simpleJson(shape.text, element.text)}`;
  // children grouped by particle, written in schema order; arrays always for maxOccurs > 1
  const particles = shape.particles;
  const slots: Array<string | undefined> = new Array(particles.length);
  let extra = '';
  for (const child of element.children) {
    const i = plan.index.get(child.local);
    if (i === undefined) {
      extra += `,${JSON.stringify(child.local)}:${genericJson(child)}`;
      continue;
    }
    const value = valueJson(particles[i], child, model);
    const previous = slots[i];
    if (particles[i].max > 1) slots[i] = previous === undefined ? value : `${previous},${value}`;
    else if (previous === undefined) slots[i] = value;
  }
  for (let i = 0; i < particles.length; i++) {
    const value = slots[i];
    if (particles[i].max > 1) out += `${out ? ',' : ''}${plan.keys[i]}[${value ?? ''}]`;
    else if (value !== undefined) out += `${out ? ',' : ''}${plan.keys[i]}${value}`;
  }
  if (extra) out += out ? extra : extra.slice(1);
  return `{${out}}`;
}

function valueJson(particle: ElementShape, element: XmlElement, model: ServiceModel): string {
  if (isNil(element)) return 'null';
  return typeJson(particle.type, element, model);
}

function typeJson(type: TypeShape, element: XmlElement, model: ServiceModel): string {
  if (type.kind === 'simple') return simpleJson(type, element.text);
  if (type.text && !type.particles.length && !type.attributes.length) return simpleJson(type.text, element.text);
  return complexJson(type, element, model);
}

function isNil(element: XmlElement): boolean {
  const nil = attr(element, 'nil', XSI_NS);
  return nil === 'true' || nil === '1';
}

function xsiType(element: XmlElement, model: ServiceModel): ComplexShape | undefined {
  const value = attr(element, 'type', XSI_NS);
  if (!value) return undefined;
  try {
    const q = resolveQName(element, value);
    return model.types.get(qkey(q.ns, q.local));
  } catch {
    return undefined;
  }
}

/** A value in its JSON form: a malformed number or boolean stays a string rather than being guessed. */
export function simpleJson(type: SimpleShape, raw: string): string {
  switch (type.value) {
    case 'boolean': {
      const v = raw.trim();
      if (v === 'true' || v === '1') return 'true';
      if (v === 'false' || v === '0') return 'false';
      return JSON.stringify(raw);
    }
    case 'integer': {
      const v = canonicalInteger(raw.trim());
      return v ?? JSON.stringify(raw);
    }
    case 'decimal': {
      const v = canonicalDecimal(raw.trim());
      return v ?? JSON.stringify(raw);
    }
    case 'number': {
      const v = raw.trim();
      const n = Number(v);
      if (v !== '' && Number.isFinite(n) && isFloatLexical(v)) return String(n);
      return JSON.stringify(v); // INF, -INF, NaN have no JSON number
    }
    default:
      return JSON.stringify(raw);
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** "+007" -> "7", "-0" -> "0"; undefined when not an integer literal. Linear, no regex. */
function canonicalInteger(v: string): string | undefined {
  let i = 0;
  let sign = '';
  if (v[0] === '+' || v[0] === '-') {
    sign = v[0] === '-' ? '-' : '';
    i = 1;
  }
  if (i >= v.length) return undefined;
  for (let k = i; k < v.length; k++) if (!isDigit(v.charCodeAt(k))) return undefined;
  while (i < v.length - 1 && v[i] === '0') i++;
  const digits = v.slice(i);
  return digits === '0' ? '0' : sign + digits;
}

function canonicalDecimal(v: string): string | undefined {
  const dot = v.indexOf('.');
  if (dot < 0) return canonicalInteger(v);
  const intPart = v.slice(0, dot);
  const frac = v.slice(dot + 1);
  for (let k = 0; k < frac.length; k++) if (!isDigit(frac.charCodeAt(k))) return undefined;
  const sign = intPart[0] === '-' ? '-' : '';
  const whole = intPart === '' || intPart === '+' || intPart === '-' ? '0' : canonicalInteger(intPart)?.replace('-', '');
  if (whole === undefined || (intPart.length <= 1 && frac === '' && !/[0-9]/.test(intPart))) return undefined;
  return frac ? `${sign}${whole}.${frac}` : `${sign}${whole}`;
}

function isFloatLexical(v: string): boolean {
  for (let k = 0; k < v.length; k++) {
    const c = v.charCodeAt(k);
    if (!(isDigit(c) || c === 43 || c === 45 || c === 46 || c === 69 || c === 101)) return false;
  }
  return true;
}

/** An element the schema does not describe: text, or an object of its children (repeated names as arrays). */
export function genericJson(element: XmlElement): string {
  if (isNil(element)) return 'null';
  if (!element.children.length) return JSON.stringify(element.text);
  const groups = new Map<string, XmlElement[]>();
  for (const c of element.children) {
    const list = groups.get(c.local);
    if (list) list.push(c);
    else groups.set(c.local, [c]);
  }
  const parts: string[] = [];
  for (const [name, list] of groups) parts.push(`${JSON.stringify(name)}:${list.length > 1 ? `[${list.map(genericJson).join(',')}]` : genericJson(list[0])}`);
  return `{${parts.join(',')}}`;
}
