import { attr, qkey, resolveQName, XSD_NS, XML_NS, type XmlElement } from '../xml/node';
import { builtinShape, emptyComplex, type ComplexShape, type ElementShape, type Facets, type SimpleShape, type TypeShape } from './shapes';

/** One xs:schema element with the defaults its local declarations inherit. */
export interface SchemaDoc {
  element: XmlElement;
  targetNamespace: string;
  elementQualified: boolean;
  attributeQualified: boolean;
}

interface Component {
  node: XmlElement;
  doc: SchemaDoc;
}

const KINDS = ['element', 'complexType', 'simpleType', 'group', 'attributeGroup', 'attribute'] as const;
type Kind = (typeof KINDS)[number];

const XSD = (node: XmlElement, local: string) => node.ns === XSD_NS && node.local === local;

/**
 * Every schema of a WSDL (wsdl:types plus what xsd:import / xsd:include bring in, already loaded by wsdl/loader.ts)
 * indexed by kind and qualified name, and compiled on demand into shapes. Named types are compiled once and shared,
 * so recursive types terminate. Throws with the component's name on anything it cannot honour.
 */
export class SchemaSet {
  private readonly index = new Map<Kind, Map<string, Component>>(KINDS.map((k) => [k, new Map()]));
  private readonly named = new Map<string, TypeShape>();
  private readonly globals = new Map<string, ElementShape>();

  constructor(docs: SchemaDoc[]) {
    for (const doc of docs) {
      for (const child of doc.element.children) {
        if (child.ns !== XSD_NS || !(KINDS as readonly string[]).includes(child.local)) continue;
        const name = attr(child, 'name');
        if (name) this.index.get(child.local as Kind)!.set(qkey(doc.targetNamespace, name), { node: child, doc });
      }
    }
    // complexContent extensions: register each named type with its base, for xsi:type in responses
    for (const [key, component] of this.index.get('complexType')!) {
      const base = extensionBase(component.node);
      if (!base) continue;
      const baseShape = this.type(base.ns, base.local);
      const derived = this.type(...splitKey(key));
      if (baseShape.kind === 'complex' && derived.kind === 'complex') baseShape.subtypes.push(derived);
    }
  }

  /** A global element by qualified name. */
  element(ns: string, local: string): ElementShape {
    const key = qkey(ns, local);
    const existing = this.globals.get(key);
    if (existing) return existing;
    const component = this.index.get('element')!.get(key);
    if (!component) throw new Error(`element ${key} is not declared in the WSDL's schemas`);
    const shape = this.declaredElement(component.node, component.doc, true);
    this.globals.set(key, shape);
    return shape;
  }

  /** A named type (or a built-in). */
  type(ns: string, local: string): TypeShape {
    if (ns === XSD_NS) {
      if (local === 'anyType') {
        const any = emptyComplex(qkey(ns, local), local);
        any.open = true;
        return any;
      }
      const builtin = builtinShape(local);
      if (!builtin) throw new Error(`unknown XSD built-in type xs:${local}`);
      return builtin;
    }
    const key = qkey(ns, local);
    const existing = this.named.get(key);
    if (existing) return existing;
    const complex = this.index.get('complexType')!.get(key);
    if (complex) {
      const shape = emptyComplex(key, local);
      this.named.set(key, shape); // before filling: recursive references find it
      this.fillComplex(shape, complex.node, complex.doc);
      return shape;
    }
    const simple = this.index.get('simpleType')!.get(key);
    if (simple) {
      const shape = this.simple(simple.node, simple.doc);
      shape.key = key;
      this.named.set(key, shape);
      return shape;
    }
    throw new Error(`type ${key} is not declared in the WSDL's schemas`);
  }

  /** Every named complex type by key (xsi:type lookups in responses). */
  complexTypes(): Map<string, ComplexShape> {
    const out = new Map<string, ComplexShape>();
    for (const [key, shape] of this.named) if (shape.kind === 'complex') out.set(key, shape);
    return out;
  }

  private declaredElement(node: XmlElement, doc: SchemaDoc, global: boolean): ElementShape {
    const ref = attr(node, 'ref');
    const occurs = occurrence(node);
    if (ref) {
      const q = resolveQName(node, ref);
      const target = this.element(q.ns, q.local);
      return { ...target, ...occurs };
    }
    const name = attr(node, 'name');
    if (!name) throw new Error('xs:element without name or ref');
    const form = attr(node, 'form');
    const qualified = global || (form ? form === 'qualified' : doc.elementQualified);
    const ns = qualified ? doc.targetNamespace : '';
    const nillable = attr(node, 'nillable') === 'true';
    let type: TypeShape;
    const typeName = attr(node, 'type');
    if (typeName) {
      const q = resolveQName(node, typeName);
      type = this.type(q.ns, q.local);
    } else {
      const inline = node.children.find((c) => XSD(c, 'complexType') || XSD(c, 'simpleType'));
      if (!inline) type = this.type(XSD_NS, 'anyType');
      else if (inline.local === 'simpleType') type = this.simple(inline, doc);
      else {
        type = emptyComplex();
        this.fillComplex(type, inline, doc);
      }
    }
    return { name, ns, ...(global ? { min: 1, max: 1 } : occurs), nillable, type };
  }

  private fillComplex(shape: ComplexShape, node: XmlElement, doc: SchemaDoc): void {
    shape.abstract = attr(node, 'abstract') === 'true';
    if (attr(node, 'mixed') === 'true') shape.open = true;
    for (const child of node.children) {
      if (child.ns !== XSD_NS) continue;
      if (child.local === 'sequence' || child.local === 'all' || child.local === 'choice' || child.local === 'group') this.particles(shape, child, doc, { min: 1, max: 1 });
      else if (child.local === 'attribute' || child.local === 'attributeGroup' || child.local === 'anyAttribute') this.attribute(shape, child, doc);
      else if (child.local === 'complexContent') this.complexContent(shape, child, doc);
      else if (child.local === 'simpleContent') this.simpleContent(shape, child, doc);
    }
    for (const a of shape.attributes) if (shape.byKey.has(a.key)) a.key = `@${a.name}`;
  }

  private complexContent(shape: ComplexShape, node: XmlElement, doc: SchemaDoc): void {
    const derivation = node.children.find((c) => XSD(c, 'extension') || XSD(c, 'restriction'));
    if (!derivation) return;
    const baseName = attr(derivation, 'base');
    if (derivation.local === 'extension' && baseName) {
      const q = resolveQName(derivation, baseName);
      const base = this.type(q.ns, q.local);
      if (base.kind !== 'complex') throw new Error(`complexContent extension of simple type ${baseName}`);
      if (base === shape) throw new Error(`type ${shape.key} extends itself`);
      for (const p of base.particles) addParticle(shape, p);
      shape.attributes.push(...base.attributes);
      shape.choices.push(...base.choices);
      shape.open ||= base.open;
    }
    for (const child of derivation.children) {
      if (child.ns !== XSD_NS) continue;
      if (['sequence', 'all', 'choice', 'group'].includes(child.local)) this.particles(shape, child, doc, { min: 1, max: 1 });
      else if (['attribute', 'attributeGroup', 'anyAttribute'].includes(child.local)) this.attribute(shape, child, doc);
    }
  }

  private simpleContent(shape: ComplexShape, node: XmlElement, doc: SchemaDoc): void {
    const derivation = node.children.find((c) => XSD(c, 'extension') || XSD(c, 'restriction'));
    if (!derivation) return;
    const baseName = attr(derivation, 'base');
    if (baseName) {
      const q = resolveQName(derivation, baseName);
      const base = this.type(q.ns, q.local);
      if (base.kind === 'simple') shape.text = derivation.local === 'restriction' ? this.restrict(base, derivation) : base;
      else {
        shape.text = base.text;
        shape.attributes.push(...base.attributes);
      }
    }
    for (const child of derivation.children) if (['attribute', 'attributeGroup', 'anyAttribute'].includes(child.local) && child.ns === XSD_NS) this.attribute(shape, child, doc);
  }

  private particles(shape: ComplexShape, group: XmlElement, doc: SchemaDoc, outer: { min: number; max: number }): void {
    const own = occurrence(group);
    const occurs = { min: outer.min * own.min, max: outer.max * own.max };
    if (group.local === 'group') {
      const ref = attr(group, 'ref');
      if (!ref) return;
      const q = resolveQName(group, ref);
      const target = this.index.get('group')!.get(qkey(q.ns, q.local));
      if (!target) throw new Error(`group ${ref} is not declared`);
      for (const child of target.node.children) if (child.ns === XSD_NS && ['sequence', 'all', 'choice'].includes(child.local)) this.particles(shape, child, target.doc, occurs);
      return;
    }
    const isChoice = group.local === 'choice';
    const choiceKeys: string[] = [];
    for (const child of group.children) {
      if (child.ns !== XSD_NS) continue;
      if (child.local === 'element') {
        const element = this.declaredElement(child, doc, false);
        const particle: ElementShape = { ...element, min: isChoice ? 0 : element.min * occurs.min, max: element.max * occurs.max };
        addParticle(shape, particle);
        if (isChoice) choiceKeys.push(particle.name);
      } else if (child.local === 'any') shape.open = true;
      else if (['sequence', 'choice', 'group', 'all'].includes(child.local)) {
        const before = shape.particles.length;
        this.particles(shape, child, doc, isChoice ? { min: 0, max: occurs.max } : occurs);
        if (isChoice) for (const p of shape.particles.slice(before)) choiceKeys.push(p.name);
      }
    }
    if (isChoice && choiceKeys.length > 1 && occurs.max <= 1) shape.choices.push({ min: occurs.min, keys: choiceKeys });
  }

  private attribute(shape: ComplexShape, node: XmlElement, doc: SchemaDoc): void {
    if (node.local === 'anyAttribute') return;
    if (node.local === 'attributeGroup') {
      const ref = attr(node, 'ref');
      if (!ref) return;
      const q = resolveQName(node, ref);
      const target = this.index.get('attributeGroup')!.get(qkey(q.ns, q.local));
      if (!target) throw new Error(`attributeGroup ${ref} is not declared`);
      for (const child of target.node.children) if (child.ns === XSD_NS) this.attribute(shape, child, target.doc);
      return;
    }
    if (attr(node, 'use') === 'prohibited') return;
    let declaration = node;
    let declDoc = doc;
    let global = false;
    const ref = attr(node, 'ref');
    if (ref) {
      const q = resolveQName(node, ref);
      if (q.ns === XML_NS) {
        shape.attributes.push({ name: q.local, ns: XML_NS, key: q.local, required: attr(node, 'use') === 'required', type: builtinShape('string')! });
        return;
      }
      const target = this.index.get('attribute')!.get(qkey(q.ns, q.local));
      if (!target) throw new Error(`attribute ${ref} is not declared`);
      declaration = target.node;
      declDoc = target.doc;
      global = true;
    }
    const name = attr(declaration, 'name') as string;
    const form = attr(declaration, 'form');
    const qualified = global || (form ? form === 'qualified' : declDoc.attributeQualified);
    const typeName = attr(declaration, 'type');
    let type: SimpleShape = builtinShape('string')!;
    if (typeName) {
      const q = resolveQName(declaration, typeName);
      const t = this.type(q.ns, q.local);
      if (t.kind === 'simple') type = t;
    } else {
      const inline = declaration.children.find((c) => XSD(c, 'simpleType'));
      if (inline) type = this.simple(inline, declDoc);
    }
    shape.attributes.push({ name, ns: qualified ? declDoc.targetNamespace : '', key: name, required: attr(node, 'use') === 'required', type });
  }

  private simple(node: XmlElement, doc: SchemaDoc): SimpleShape {
    const restriction = node.children.find((c) => XSD(c, 'restriction'));
    if (restriction) {
      const baseName = attr(restriction, 'base');
      let base: SimpleShape;
      if (baseName) {
        const q = resolveQName(restriction, baseName);
        const t = this.type(q.ns, q.local);
        if (t.kind !== 'simple') throw new Error(`simpleType restriction of complex type ${baseName}`);
        base = t;
      } else {
        const inline = restriction.children.find((c) => XSD(c, 'simpleType'));
        base = inline ? this.simple(inline, doc) : builtinShape('string')!;
      }
      return this.restrict(base, restriction);
    }
    // xs:list and xs:union: carried as their lexical string
    return builtinShape('string')!;
  }

  private restrict(base: SimpleShape, restriction: XmlElement): SimpleShape {
    const facets: Facets = { ...base.facets, patterns: base.facets.patterns ? [...base.facets.patterns] : undefined };
    const enumeration: string[] = [];
    for (const facet of restriction.children) {
      if (facet.ns !== XSD_NS) continue;
      const value = attr(facet, 'value');
      if (value === undefined) continue;
      switch (facet.local) {
        case 'enumeration':
          enumeration.push(value);
          break;
        case 'pattern':
          (facets.patterns ??= []).push(value);
          break;
        case 'minInclusive':
        case 'maxInclusive':
        case 'minExclusive':
        case 'maxExclusive':
          facets[facet.local] = value;
          break;
        case 'length':
        case 'minLength':
        case 'maxLength':
          facets[facet.local] = Number(value);
          break;
        default:
      }
    }
    return { kind: 'simple', builtin: base.builtin, value: base.value, facets, enumeration: enumeration.length ? enumeration : base.enumeration };
  }
}

function addParticle(shape: ComplexShape, particle: ElementShape): void {
  if (shape.byKey.has(particle.name)) return; // same local name twice (different namespaces): the first wins
  shape.particles.push(particle);
  shape.byKey.set(particle.name, particle);
}

function occurrence(node: XmlElement): { min: number; max: number } {
  const min = attr(node, 'minOccurs');
  const max = attr(node, 'maxOccurs');
  return { min: min === undefined ? 1 : Number(min), max: max === undefined ? 1 : max === 'unbounded' ? Infinity : Number(max) };
}

function extensionBase(node: XmlElement): { ns: string; local: string } | undefined {
  const content = node.children.find((c) => XSD(c, 'complexContent'));
  const extension = content?.children.find((c) => XSD(c, 'extension'));
  const base = extension && attr(extension, 'base');
  return base ? resolveQName(extension, base) : undefined;
}

function splitKey(key: string): [string, string] {
  const close = key.indexOf('}');
  return [key.slice(1, close), key.slice(close + 1)];
}
