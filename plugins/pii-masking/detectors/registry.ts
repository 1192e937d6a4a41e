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
import { Feature, features, type Detector, type KeyContext, type Match } from './types';

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
   * True when nothing built in can match `source[start, end)`: a short value with few digits, no '@' and no ':'
   * (the bulk of JSON leaves), decided on the raw text before any slice is made.
   */
  rejectsRange(source: string, start: number, end: number): boolean {
    if (this.hasCustom) return false;
    if (end - start >= 15) return false;
    let digits = 0;
    for (let i = start; i < end; i++) {
      const c = source.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
      else if (c === 64 || c === 58) return false;
    }
    return digits < 4;
  }

  /** Non-overlapping matches in `text`, sorted by position; an empty array when there is none. */
  scan(text: string, key: KeyContext | undefined, numeric = false): Match[] {
    if (text.length < 6 && !this.hasCustom) return NONE;
    const found = this.matches;
    found.length = 0;
    const { digits, features: bits } = features(text);
    // nothing built in can match a short value with few digits, no '@' and no ':' (the bulk of JSON leaves)
    if (!this.hasCustom && digits < 4 && text.length < 15 && !(bits & (Feature.At | Feature.Colon))) return NONE;
    const input = { text, key, numeric, digits, features: bits };
    for (const detector of numeric ? this.numericDetectors : this.detectors) detector.scan(input, found);
    if (found.length === 0) return NONE;
    if (found.length === 1) return [found[0]];
    found.sort((a, b) => a.start - b.start || (this.priority.get(a.type) ?? 99) - (this.priority.get(b.type) ?? 99) || b.end - a.end);
    const kept: Match[] = [];
    let lastEnd = -1;
    for (const match of found) {
      if (match.start < lastEnd) continue;
      kept.push(match);
      lastEnd = match.end;
    }
    return kept;
  }
}
