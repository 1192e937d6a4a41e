import { cardDetector } from './card';
import { customDetector, type CustomDetectorSpec } from './custom';
import { dobDetector } from './dob';
import { emailDetector } from './email';
import { ibanDetector } from './iban';
import { ipv4Detector, ipv6Detector } from './ip';
import { jwtDetector } from './jwt';
import { phoneDetector } from './phone';
import { secretDetector } from './secret';
import { ssnDetector } from './ssn';
import { emptyShape, Feature, measure, type Detector, type KeyContext, type Match, type ValueShape } from './types';

/** Built-in detector types, in overlap priority order (a JWT wins over the email-looking text inside it). */
export const BUILTIN_TYPES = ['jwt', 'secret', 'email', 'iban', 'card', 'ssn', 'phone', 'ipv6', 'ipv4', 'dob'] as const;
export type BuiltinType = (typeof BUILTIN_TYPES)[number];

const NONE: Match[] = [];

/** Types that can match a JSON number leaf (digits only). */
const NUMERIC_TYPES = new Set<string>(['card', 'ssn', 'phone', 'dob']);

export interface RegistryOptions {
  types: readonly string[];
  defaultRegion: string;
  custom: CustomDetectorSpec[];
}

/**
 * The detectors one plugin config uses, built once per instance, and the scan that runs them all over one value
 * and resolves overlaps (earliest start first; at the same start the higher-priority type, then the longer match).
 */
export class DetectorRegistry {
  readonly detectors: Detector[];
  private readonly numericDetectors: Detector[];
  private readonly priority = new Map<string, number>();
  private readonly matches: Match[] = [];
  private readonly hasCustom: boolean;
  /** Facts about the value being scanned: one object reused for every value (scans never overlap). */
  private readonly shape: ValueShape = emptyShape();
  private readonly input: { text: string; key: KeyContext | undefined; numeric: boolean; digits: number; features: number; dots: number; chain: number } = {
    text: '',
    key: undefined,
    numeric: false,
    digits: 0,
    features: 0,
    dots: 0,
    chain: 0,
  };

  constructor(options: RegistryOptions) {
    const enabled = new Set(options.types);
    const builtins: Record<BuiltinType, Detector> = {
      jwt: jwtDetector,
      secret: secretDetector,
      email: emailDetector,
      iban: ibanDetector,
      card: cardDetector,
      ssn: ssnDetector,
      phone: phoneDetector(options.defaultRegion),
      ipv6: ipv6Detector,
      ipv4: ipv4Detector,
      dob: dobDetector,
    };
    const custom = options.custom.map(customDetector);
    this.hasCustom = custom.length > 0;
    this.detectors = [...BUILTIN_TYPES.filter((t) => enabled.has(t)).map((t) => builtins[t]), ...custom];
    this.numericDetectors = this.detectors.filter((d) => NUMERIC_TYPES.has(d.type));
    [...BUILTIN_TYPES, ...custom.map((d) => d.type)].forEach((type, i) => this.priority.set(type, i));
    // custom detectors rank right after secrets: a user's rule is more specific than a generic one
    for (const d of custom) this.priority.set(d.type, 1.5);
  }

  /**
   * Measures `source[start, end)` (one pass, no slice) for the next `scan(..., measured = true)`, and tells whether
   * any detector could match it whatever its key: false for the bulk of JSON leaves (names, enums, short numbers,
   * timestamps without an '@'...), which then cost no slice, no key lookup and no regex.
   */
  measureRange(source: string, start: number, end: number): boolean {
    const shape = measure(source, start, end, this.shape);
    if (this.hasCustom) return true;
    const length = end - start;
    if (length < 6) return false;
    const bits = shape.features;
    // email / ipv6; card, ssn, phone, ipv4, dob (all need 4+ digits); secret, iban; jwt
    return (bits & (Feature.At | Feature.Colon)) !== 0 || shape.digits >= 4 || (length >= 15 && (bits & (Feature.UpperPair | Feature.Underscore | Feature.Dash)) !== 0) || (length >= 20 && (bits & Feature.Upper) !== 0);
  }

  /**
   * Non-overlapping matches in `text`, sorted by position; an empty array when there is none. `measured`: the caller
   * has just called measureRange on exactly this text.
   */
  scan(text: string, key: KeyContext | undefined, numeric = false, measured = false): Match[] {
    if (text.length < 6 && !this.hasCustom) return NONE;
    const shape = measured ? this.shape : measure(text, 0, text.length, this.shape);
    // nothing built in can match a short value with few digits, no '@' and no ':' (the bulk of JSON leaves)
    if (!this.hasCustom && shape.digits < 4 && text.length < 15 && !(shape.features & (Feature.At | Feature.Colon))) return NONE;
    const input = this.input;
    input.text = text;
    input.key = key;
    input.numeric = numeric;
    input.digits = shape.digits;
    input.features = shape.features;
    input.dots = shape.dots;
    input.chain = shape.chain;
    const found = this.matches;
    if (found.length !== 0) found.length = 0;
    const detectors = numeric ? this.numericDetectors : this.detectors;
    for (let i = 0; i < detectors.length; i++) detectors[i].scan(input, found);
    input.text = '';
    if (found.length === 0) return NONE;
    if (found.length === 1) {
      const only = found[0];
      found.length = 0;
      return [only];
    }
    found.sort((a, b) => a.start - b.start || (this.priority.get(a.type) ?? 99) - (this.priority.get(b.type) ?? 99) || b.end - a.end);
    const kept: Match[] = [];
    let lastEnd = -1;
    for (const match of found) {
      if (match.start < lastEnd) {
        // two addresses glued by a local-part char ("a@x.com_b@y.com"): the second's local part starts inside the
        // first; masking the union leaves no tail in clear
        const previous = kept[kept.length - 1];
        if (match.end > lastEnd && previous.type === match.type) {
          kept[kept.length - 1] = { ...previous, end: match.end };
          lastEnd = match.end;
        }
        continue;
      }
      kept.push(match);
      lastEnd = match.end;
    }
    found.length = 0;
    return kept;
  }
}
