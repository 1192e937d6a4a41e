import { attr, childrenNamed, firstChild, qkey, resolveQName, type XmlElement } from '../xml/node';
import { SchemaSet } from '../xsd/schema-set';
import { emptyComplex, type ComplexShape, type ElementShape } from '../xsd/shapes';
import { loadWsdl, WSDL_NS, type WsdlSource } from './loader';

export const SOAP11_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
export const SOAP12_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';
export const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENV = 'http://www.w3.org/2003/05/soap-envelope';

export type SoapVersion = '1.1' | '1.2';

/**
 * The body of one message as the plugin writes or reads it. "wrapped": one element in the SOAP Body (a document
 * part's element, or the rpc wrapper), the JSON keys are its children. "parts": one Body element per part
 * (document/literal bare with several parts or a simple-typed element), the JSON keys are the elements' names.
 */
export interface MessageShape {
  mode: 'wrapped' | 'parts';
  /** "wrapped": the Body's child element. */
  wrapper?: { name: string; ns: string };
  /** The JSON face: its particles are the keys. */
  body: ComplexShape;
}

export interface Operation {
  name: string;
  soapAction: string;
  style: 'document' | 'rpc';
  input: MessageShape;
  output?: MessageShape;
  /** Fault detail elements declared for the operation, by "{ns}local". */
  faults: Map<string, ElementShape>;
  documentation?: string;
}

export interface ServiceModel {
  service: string;
  port: string;
  binding: string;
  version: SoapVersion;
  /** soap:address location of the chosen port. */
  address: string;
  operations: Map<string, Operation>;
  /** Output Body element "{ns}local" -> message, to type a response by the element it carries. */
  outputs: Map<string, MessageShape>;
  /** Every fault detail element of the binding, by "{ns}local". */
  faults: Map<string, ElementShape>;
  /** Named complex types, for xsi:type in responses. */
  types: Map<string, ComplexShape>;
  targetNamespace: string;
  files: string[];
}

export interface PortSelection {
  service?: string;
  port?: string;
  version?: SoapVersion;
}

interface Index {
  messages: Map<string, XmlElement>;
  portTypes: Map<string, XmlElement>;
  bindings: Map<string, XmlElement>;
  services: XmlElement[];
}

/**
 * WSDL 1.1 -> the operation map of one port: service chosen by name (else the only or first one), port by name or by
 * SOAP version of its binding; document/literal (wrapped or bare) and rpc/literal. Encoded bindings are refused.
 * Runs once per plugin config.
 */
export function compileService(source: WsdlSource, selection: PortSelection = {}): ServiceModel {
  const loaded = loadWsdl(source);
  const index: Index = { messages: new Map(), portTypes: new Map(), bindings: new Map(), services: [] };
  for (const definitions of loaded.definitions) {
    const tns = attr(definitions, 'targetNamespace') ?? '';
    for (const child of definitions.children) {
      if (child.ns !== WSDL_NS) continue;
      const name = attr(child, 'name');
      if (child.local === 'message' && name) index.messages.set(qkey(tns, name), child);
      else if (child.local === 'portType' && name) index.portTypes.set(qkey(tns, name), child);
      else if (child.local === 'binding' && name) index.bindings.set(qkey(tns, name), child);
      else if (child.local === 'service') index.services.push(child);
    }
  }
  const schemas = new SchemaSet(loaded.schemas);
  const { service, port, binding, version } = choosePort(index, selection);
  const address = firstChild(port, version === '1.1' ? SOAP11_BINDING_NS : SOAP12_BINDING_NS, 'address');
  const bindingNs = version === '1.1' ? SOAP11_BINDING_NS : SOAP12_BINDING_NS;
  const soapBinding = firstChild(binding, bindingNs, 'binding') as XmlElement;
  const defaultStyle = (attr(soapBinding, 'style') ?? 'document') as 'document' | 'rpc';
  const typeRef = resolveQName(binding, attr(binding, 'type') ?? '');
  const portType = index.portTypes.get(qkey(typeRef.ns, typeRef.local));
  if (!portType) throw new Error(`binding ${attr(binding, 'name')}: portType ${typeRef.local} not found`);

  const model: ServiceModel = {
    service: attr(service, 'name') ?? '',
    port: attr(port, 'name') ?? '',
    binding: attr(binding, 'name') ?? '',
    version,
    address: address ? (attr(address, 'location') ?? '') : '',
    operations: new Map(),
    outputs: new Map(),
    faults: new Map(),
    types: new Map(),
    targetNamespace: attr(loaded.definitions[0], 'targetNamespace') ?? '',
    files: loaded.files,
  };
  for (const bindingOp of childrenNamed(binding, WSDL_NS, 'operation')) {
    const name = attr(bindingOp, 'name') as string;
    const abstract = childrenNamed(portType, WSDL_NS, 'operation').find((o) => attr(o, 'name') === name);
    if (!abstract) throw new Error(`operation ${name}: not in portType ${attr(portType, 'name')}`);
    const soapOp = firstChild(bindingOp, bindingNs, 'operation');
    const style = ((soapOp && attr(soapOp, 'style')) ?? defaultStyle) as 'document' | 'rpc';
    const where = `operation ${name}`;
    const input = messageShape(index, schemas, abstract, bindingOp, 'input', style, name, bindingNs, where);
    if (!input) throw new Error(`${where}: no input message (notification operations are not supported)`);
    const output = messageShape(index, schemas, abstract, bindingOp, 'output', style, name, bindingNs, where);
    const faults = new Map<string, ElementShape>();
    for (const fault of childrenNamed(abstract, WSDL_NS, 'fault')) {
      const message = lookupMessage(index, fault, `${where} fault`);
      for (const part of childrenNamed(message, WSDL_NS, 'part')) {
        const element = attr(part, 'element');
        if (!element) continue;
        const q = resolveQName(part, element);
        const shape = schemas.element(q.ns, q.local);
        faults.set(qkey(q.ns, q.local), shape);
        model.faults.set(qkey(q.ns, q.local), shape);
      }
    }
    const documentation = firstChild(abstract, WSDL_NS, 'documentation')?.text.trim() || undefined;
    const operation: Operation = { name, soapAction: (soapOp && attr(soapOp, 'soapAction')) ?? '', style, input, output, faults, documentation };
    model.operations.set(name, operation);
    if (output) model.outputs.set(outputKey(output), output);
  }
  model.types = schemas.complexTypes();
  return model;
}

function outputKey(message: MessageShape): string {
  if (message.mode === 'wrapped') return qkey(message.wrapper!.ns, message.wrapper!.name);
  const first = message.body.particles[0];
  return first ? qkey(first.ns, first.name) : '';
}

function choosePort(index: Index, selection: PortSelection): { service: XmlElement; port: XmlElement; binding: XmlElement; version: SoapVersion } {
  const services = selection.service ? index.services.filter((s) => attr(s, 'name') === selection.service) : index.services;
  if (!services.length) throw new Error(selection.service ? `service "${selection.service}" not found (known: ${index.services.map((s) => attr(s, 'name')).join(', ')})` : 'the WSDL declares no service');
  const candidates: Array<{ service: XmlElement; port: XmlElement; binding: XmlElement; version: SoapVersion }> = [];
  for (const service of services) {
    for (const port of childrenNamed(service, WSDL_NS, 'port')) {
      if (selection.port && attr(port, 'name') !== selection.port) continue;
      const ref = resolveQName(port, attr(port, 'binding') ?? '');
      const binding = index.bindings.get(qkey(ref.ns, ref.local));
      if (!binding) continue;
      const version: SoapVersion | undefined = firstChild(binding, SOAP11_BINDING_NS, 'binding') ? '1.1' : firstChild(binding, SOAP12_BINDING_NS, 'binding') ? '1.2' : undefined;
      if (!version) continue; // an HTTP or other non-SOAP binding
      if (selection.version && version !== selection.version) continue;
      candidates.push({ service, port, binding, version });
    }
  }
  const wanted = [selection.port && `port "${selection.port}"`, selection.version && `SOAP ${selection.version}`].filter(Boolean).join(' with ');
  if (!candidates.length) throw new Error(`no SOAP port${wanted ? ` ${wanted}` : ''} in service ${services.map((s) => attr(s, 'name')).join(', ')}`);
  // without a version asked for, SOAP 1.1 first (the most widely served)
  return candidates.find((c) => c.version === '1.1') ?? candidates[0];
}

function lookupMessage(index: Index, ref: XmlElement, where: string): XmlElement {
  const name = attr(ref, 'message');
  if (!name) throw new Error(`${where}: no message attribute`);
  const q = resolveQName(ref, name);
  const message = index.messages.get(qkey(q.ns, q.local));
  if (!message) throw new Error(`${where}: message ${name} not found`);
  return message;
}

function messageShape(
  index: Index,
  schemas: SchemaSet,
  abstract: XmlElement,
  bindingOp: XmlElement,
  direction: 'input' | 'output',
  style: 'document' | 'rpc',
  operation: string,
  bindingNs: string,
  where: string,
): MessageShape | undefined {
  const ref = firstChild(abstract, WSDL_NS, direction);
  if (!ref) return undefined;
  const message = lookupMessage(index, ref, `${where} ${direction}`);
  const soapBody = firstChild(firstChild(bindingOp, WSDL_NS, direction) ?? bindingOp, bindingNs, 'body');
  if (soapBody && attr(soapBody, 'use') === 'encoded') throw new Error(`${where}: use="encoded" is not supported (literal only)`);
  const partNames = soapBody && attr(soapBody, 'parts') !== undefined ? new Set((attr(soapBody, 'parts') as string).split(/\s+/).filter(Boolean)) : undefined;
  const parts = childrenNamed(message, WSDL_NS, 'part').filter((p) => !partNames || partNames.has(attr(p, 'name') as string));
  if (style === 'rpc') {
    const body = emptyComplex();
    for (const part of parts) {
      const name = attr(part, 'name') as string;
      const typeName = attr(part, 'type');
      const elementName = attr(part, 'element');
      let particle: ElementShape;
      if (typeName) {
        const q = resolveQName(part, typeName);
        particle = { name, ns: '', min: 1, max: 1, nillable: true, type: schemas.type(q.ns, q.local) };
      } else if (elementName) {
        const q = resolveQName(part, elementName);
        particle = schemas.element(q.ns, q.local);
      } else throw new Error(`${where}: part ${name} has neither type nor element`);
      body.particles.push(particle);
      body.byKey.set(particle.name, particle);
    }
    const ns = (soapBody && attr(soapBody, 'namespace')) ?? '';
    return { mode: 'wrapped', wrapper: { name: direction === 'input' ? operation : `${operation}Response`, ns }, body };
  }
  const elements: ElementShape[] = parts.map((part) => {
    const elementName = attr(part, 'element');
    if (!elementName) throw new Error(`${where}: document-style part ${attr(part, 'name')} must reference an element`);
    const q = resolveQName(part, elementName);
    return schemas.element(q.ns, q.local);
  });
  if (elements.length === 1 && elements[0].type.kind === 'complex') {
    return { mode: 'wrapped', wrapper: { name: elements[0].name, ns: elements[0].ns }, body: elements[0].type };
  }
  const body = emptyComplex();
  for (const element of elements) {
    body.particles.push(element);
    body.byKey.set(element.name, element);
  }
  return { mode: 'parts', body };
}
