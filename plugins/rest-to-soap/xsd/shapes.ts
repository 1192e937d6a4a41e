/**
 * What the plugin knows of an XSD type after compiling the WSDL's schemas: enough to validate JSON input, write
 * elements in xs:sequence order with the right namespaces, and type the values of a response.
 */
export type ValueKind = 'string' | 'boolean' | 'integer' | 'number' | 'decimal';

export interface Facets {
  minInclusive?: string;
  maxInclusive?: string;
  minExclusive?: string;
  maxExclusive?: string;
  length?: number;
  minLength?: number;
  maxLength?: number;
  patterns?: string[];
}

export interface SimpleShape {
  kind: 'simple';
  /** The XSD built-in at the root of the derivation (int, string, dateTime, ...). */
  builtin: string;
  value: ValueKind;
  enumeration?: string[];
  facets: Facets;
  /** Named type (for documentation), "{ns}local". */
  key?: string;
}

export interface ElementShape {
  /** Local name, also the JSON key. */
  name: string;
  /** '' when the element is unqualified (local element, elementFormDefault="unqualified"). */
  ns: string;
  min: number;
  /** Infinity for "unbounded". */
  max: number;
  nillable: boolean;
  type: TypeShape;
}

export interface AttributeShape {
  name: string;
  ns: string;
  /** JSON key: the name, or "@name" when an element of the type has the same name. */
  key: string;
  required: boolean;
  type: SimpleShape;
}

export interface ChoiceGroup {
  /** 0: the choice is optional; 1: one option must be present. */
  min: number;
  keys: string[];
}

export interface ComplexShape {
  kind: 'complex';
  /** Named type "{ns}local"; anonymous types have none. */
  key?: string;
  name?: string;
  particles: ElementShape[];
  /** JSON key -> particle. */
  byKey: Map<string, ElementShape>;
  attributes: AttributeShape[];
  /** simpleContent: the type of the element's own text, under the JSON key "$value". */
  text?: SimpleShape;
  choices: ChoiceGroup[];
  /** xs:any or anyType: unknown children are accepted and converted generically. */
  open: boolean;
  abstract: boolean;
  /** Named complexContent extensions of this type, selectable in responses with xsi:type. */
  subtypes: ComplexShape[];
}

export type TypeShape = SimpleShape | ComplexShape;

export const VALUE_KEY = '$value';

export function emptyComplex(key?: string, name?: string): ComplexShape {
  return { kind: 'complex', key, name, particles: [], byKey: new Map(), attributes: [], choices: [], open: false, abstract: false, subtypes: [] };
}

interface Builtin {
  value: ValueKind;
  min?: string;
  max?: string;
  /** A lexical check for strings (dates and friends): an anchored, linear pattern. */
  pattern?: string;
}

const DATE = '-?[0-9]{4,}-[0-9]{2}-[0-9]{2}';
const TIME = '[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?';
const TZ = '(Z|[+-][0-9]{2}:[0-9]{2})?';

/** XSD built-in datatypes (XML Schema Part 2) and how they map to JSON. */
export const BUILTINS: Record<string, Builtin> = {
  boolean: { value: 'boolean' },
  float: { value: 'number' },
  double: { value: 'number' },
  decimal: { value: 'decimal' },
  integer: { value: 'integer' },
  nonNegativeInteger: { value: 'integer', min: '0' },
  positiveInteger: { value: 'integer', min: '1' },
  nonPositiveInteger: { value: 'integer', max: '0' },
  negativeInteger: { value: 'integer', max: '-1' },
  long: { value: 'integer', min: '-9223372036854775808', max: '9223372036854775807' },
  int: { value: 'integer', min: '-2147483648', max: '2147483647' },
  short: { value: 'integer', min: '-32768', max: '32767' },
  byte: { value: 'integer', min: '-128', max: '127' },
  unsignedLong: { value: 'integer', min: '0', max: '18446744073709551615' },
  unsignedInt: { value: 'integer', min: '0', max: '4294967295' },
  unsignedShort: { value: 'integer', min: '0', max: '65535' },
  unsignedByte: { value: 'integer', min: '0', max: '255' },
  dateTime: { value: 'string', pattern: `${DATE}T${TIME}${TZ}` },
  date: { value: 'string', pattern: `${DATE}${TZ}` },
  time: { value: 'string', pattern: `${TIME}${TZ}` },
  duration: { value: 'string', pattern: '-?P([0-9]+Y)?([0-9]+M)?([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+([.][0-9]+)?S)?)?' },
  base64Binary: { value: 'string', pattern: '[A-Za-z0-9+/= \\n\\r\\t]*' },
  hexBinary: { value: 'string', pattern: '([0-9A-Fa-f]{2})*' },
};

const STRINGS = [
  'string', 'normalizedString', 'token', 'language', 'Name', 'NCName', 'ID', 'IDREF', 'IDREFS', 'ENTITY', 'ENTITIES', 'NMTOKEN', 'NMTOKENS',
  'anyURI', 'QName', 'NOTATION', 'gYear', 'gYearMonth', 'gMonth', 'gMonthDay', 'gDay', 'anySimpleType', 'anyType',
];
for (const name of STRINGS) BUILTINS[name] = { value: 'string' };

export function builtinShape(name: string): SimpleShape | undefined {
  const builtin = BUILTINS[name];
  if (!builtin) return undefined;
  const facets: Facets = {};
  if (builtin.min !== undefined) facets.minInclusive = builtin.min;
  if (builtin.max !== undefined) facets.maxInclusive = builtin.max;
  if (builtin.pattern) facets.patterns = [builtin.pattern];
  return { kind: 'simple', builtin: name, value: builtin.value, facets };
}
