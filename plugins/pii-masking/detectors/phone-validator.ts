/**
 * Phone number validity with Google libphonenumber's metadata (from google-libphonenumber), at ~1 us a number
 * instead of the ~20-70 us a full `parse` + `isValidNumber` costs in the JS ports (they rebuild their regexes on
 * every call and format the number several ways). This is libphonenumber's own algorithm, restricted to the shapes
 * the phone detector hands over (digits, spaces, `.-/`, parentheses, an optional leading `+`; no extensions, no
 * letters), with every pattern compiled once per region:
 * - `+`: the country calling code is the first 1-3 digits naming a known code (`extractCountryCode`);
 * - otherwise the default region's international prefix (`011`, `00`) introduces a country code, or a number that
 *   starts with the region's own code is read as international when that is the only way it fits
 *   (`maybeExtractCountryCode`), else the number is national;
 * - the national prefix (and its transform rule) is stripped when what remains is still of a possible length
 *   (`maybeStripNationalPrefixAndCarrierCode`, `testNumberLength`);
 * - the number is valid when the general description and one number type (fixed line, mobile, toll free, ...) of
 *   its region match, the region being picked among those sharing the code by leading digits or type
 *   (`getRegionCodeForNumberFromRegionList`, `getNumberTypeHelper`).
 * spec/02-unit/pii-masking/phone-validator.spec.ts checks it agrees with the library's `parse` + `isValidNumber`.
 */
interface Desc {
  getNationalNumberPatternOrDefault(): string;
  possibleLengthArray(): number[];
  possibleLengthLocalOnlyArray(): number[];
}

interface Metadata {
  getGeneralDesc(): Desc;
  getFixedLine(): Desc;
  getMobile(): Desc;
  getTollFree(): Desc;
  getPremiumRate(): Desc;
  getSharedCost(): Desc;
  getPersonalNumber(): Desc;
  getVoip(): Desc;
  getPager(): Desc;
  getUan(): Desc;
  getVoicemail(): Desc;
  getCountryCodeOrDefault(): number;
  getInternationalPrefix(): string | null | undefined;
  getNationalPrefixForParsing(): string | null | undefined;
  getNationalPrefixTransformRule(): string | null | undefined;
  hasLeadingDigits(): boolean;
  getLeadingDigits(): string;
}

interface PhoneNumberUtil {
  getSupportedRegions(): string[];
  getRegionCodesForCountryCode(code: number): string[];
  getMetadataForRegion(region: string): Metadata | null | undefined;
  getMetadataForNonGeographicalRegion(code: number): Metadata | null | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const libphonenumber = require('google-libphonenumber') as { PhoneNumberUtil: { getInstance(): PhoneNumberUtil } };
const util = libphonenumber.PhoneNumberUtil.getInstance();

const MIN_LENGTH_FOR_NSN = 2;
const MAX_LENGTH_FOR_NSN = 17;
const NON_GEO_REGION = '001';

/** A number description compiled once: its possible lengths and its anchored pattern. */
class CompiledDesc {
  private readonly lengths: number[];
  private readonly pattern: RegExp;

  constructor(desc: Desc) {
    this.lengths = desc.possibleLengthArray();
    this.pattern = new RegExp(`^(?:${desc.getNationalNumberPatternOrDefault()})$`);
  }

  /** libphonenumber's isNumberMatchingDesc. */
  matches(nsn: string): boolean {
    if (this.lengths.length > 0 && !this.lengths.includes(nsn.length)) return false;
    return this.pattern.test(nsn);
  }
}

const enum Length {
  Possible,
  LocalOnly,
  TooShort,
  TooLong,
  Invalid,
}

/** One region's metadata, compiled once. */
class Region {
  readonly countryCode: number;
  readonly general: CompiledDesc;
  /** The general pattern as libphonenumber uses it in national prefix stripping (unanchored, whole-match test). */
  private readonly generalLoose: RegExp;
  private readonly types: CompiledDesc[];
  private readonly lengths: number[];
  private readonly localLengths: number[];
  private readonly nationalPrefix: RegExp | undefined;
  private readonly transformRule: string | undefined;
  private readonly internationalPrefix: RegExp | undefined;
  readonly leadingDigits: RegExp | undefined;

  constructor(metadata: Metadata) {
    this.countryCode = metadata.getCountryCodeOrDefault();
    const general = metadata.getGeneralDesc();
    this.general = new CompiledDesc(general);
    this.generalLoose = new RegExp(general.getNationalNumberPatternOrDefault());
    this.types = [
      metadata.getPremiumRate(),
      metadata.getTollFree(),
      metadata.getSharedCost(),
      metadata.getVoip(),
      metadata.getPersonalNumber(),
      metadata.getPager(),
      metadata.getUan(),
      metadata.getVoicemail(),
      metadata.getFixedLine(),
      metadata.getMobile(),
    ].map((desc) => new CompiledDesc(desc));
    this.lengths = general.possibleLengthArray();
    this.localLengths = general.possibleLengthLocalOnlyArray();
    const prefix = metadata.getNationalPrefixForParsing();
    this.nationalPrefix = prefix ? new RegExp(`^(?:${prefix})`) : undefined;
    this.transformRule = metadata.getNationalPrefixTransformRule() || undefined;
    const idd = metadata.getInternationalPrefix();
    this.internationalPrefix = idd ? new RegExp(`^(?:${idd})`) : undefined;
    this.leadingDigits = metadata.hasLeadingDigits() ? new RegExp(metadata.getLeadingDigits()) : undefined;
  }

  /** getNumberTypeHelper(nsn) !== UNKNOWN. */
  hasType(nsn: string): boolean {
    if (!this.general.matches(nsn)) return false;
    for (const type of this.types) if (type.matches(nsn)) return true;
    return false;
  }

  /** testNumberLength for the general description. */
  testLength(number: string): Length {
    const lengths = this.lengths;
    if (lengths.length === 0 || lengths[0] === -1) return Length.Invalid;
    const actual = number.length;
    if (this.localLengths.includes(actual)) return Length.LocalOnly;
    if (lengths[0] === actual) return Length.Possible;
    if (lengths[0] > actual) return Length.TooShort;
    if (lengths[lengths.length - 1] < actual) return Length.TooLong;
    return lengths.indexOf(actual, 1) > -1 ? Length.Possible : Length.Invalid;
  }

  /** libphonenumber's matchesEntirely with the general pattern compiled as a RegExp (unanchored). */
  matchesGeneralLoose(number: string): boolean {
    const m = this.generalLoose.exec(number);
    return m !== null && m[0].length === number.length;
  }

  /** maybeStripNationalPrefixAndCarrierCode: the number without its national prefix, or as it was. */
  stripNationalPrefix(number: string): string {
    if (number.length === 0 || !this.nationalPrefix) return number;
    const m = this.nationalPrefix.exec(number);
    if (!m) return number;
    const viable = this.matchesGeneralLoose(number);
    const groups = m.length - 1;
    const last = m[groups];
    if (!this.transformRule || last === undefined || last.length === 0) {
      const rest = number.slice(m[0].length);
      if (viable && !this.matchesGeneralLoose(rest)) return number;
      return rest;
    }
    const transformed = number.replace(this.nationalPrefix, this.transformRule);
    if (viable && !this.matchesGeneralLoose(transformed)) return number;
    return transformed;
  }

  /** The digits after an international prefix (`011`, `00`), or undefined when there is none (parsePrefixAsIdd). */
  afterInternationalPrefix(digits: string): string | undefined {
    if (!this.internationalPrefix) return undefined;
    const m = this.internationalPrefix.exec(digits);
    if (!m) return undefined;
    const rest = digits.slice(m[0].length);
    if (rest.length > 0 && rest.charCodeAt(0) === 48) return undefined; // a country code never starts with 0
    return rest;
  }
}

const regions = new Map<string, Region | null>();
const codes = new Map<number, Array<[string, Region]> | null>();

function region(code: string): Region | undefined {
  let compiled = regions.get(code);
  if (compiled === undefined) {
    const metadata = util.getMetadataForRegion(code);
    compiled = metadata ? new Region(metadata) : null;
    regions.set(code, compiled);
  }
  return compiled ?? undefined;
}

/** Regions sharing a country calling code (main region first), or undefined for an unknown code. */
function regionsOf(code: number): Array<[string, Region]> | undefined {
  let list = codes.get(code);
  if (list === undefined) {
    list = [];
    for (const id of util.getRegionCodesForCountryCode(code)) {
      const metadata = id === NON_GEO_REGION ? util.getMetadataForNonGeographicalRegion(code) : util.getMetadataForRegion(id);
      if (metadata) list.push([id, new Region(metadata)]);
    }
    if (list.length === 0) list = null;
    codes.set(code, list);
  }
  return list ?? undefined;
}

/** extractCountryCode: [code, rest] for the first 1-3 digits naming a known code. */
function extractCountryCode(digits: string): [number, string] | undefined {
  if (digits.length === 0 || digits.charCodeAt(0) === 48) return undefined;
  for (let i = 1; i <= 3 && i <= digits.length; i++) {
    const code = Number(digits.slice(0, i));
    if (regionsOf(code)) return [code, digits.slice(i)];
  }
  return undefined;
}

/** isValidNumber for a country code and national significant number. */
function validNsn(code: number, nsn: string): boolean {
  const list = regionsOf(code);
  if (!list) return false;
  if (list.length === 1) return list[0][1].hasType(nsn);
  for (const [, candidate] of list) {
    if (candidate.leadingDigits) {
      const m = candidate.leadingDigits.exec(nsn);
      if (m && m.index === 0) return candidate.hasType(nsn);
    } else if (candidate.hasType(nsn)) return true;
  }
  return false;
}

/**
 * True when `candidate` (a phone-shaped string: digits, separators, parentheses, optional leading '+') is a valid
 * number, read as national in `defaultRegion` when it has no '+' (libphonenumber parse + isValidNumber).
 */
export function isValidPhoneNumber(candidate: string, defaultRegion: string): boolean {
  let digits = '';
  let plus = false;
  for (let i = 0; i < candidate.length; i++) {
    const c = candidate.charCodeAt(i);
    if (c >= 48 && c <= 57) digits += candidate[i];
    else if (c === 43 && digits.length === 0) plus = true;
  }
  if (digits.length < MIN_LENGTH_FOR_NSN) return false;
  let code: number;
  let national = digits;
  // national prefix stripping uses the default region's metadata for a national number, else the code's main region
  let stripWith: Region;
  const extracted = plus && digits.length > MIN_LENGTH_FOR_NSN ? extractCountryCode(digits) : undefined;
  if (plus && digits.length <= MIN_LENGTH_FOR_NSN) return false;
  if (extracted) {
    [code, national] = extracted;
    stripWith = regionsOf(code)![0][1];
  } else {
    // no '+', or a '+' before no known code: read again without the '+', which must then name a code itself
    const home = region(defaultRegion);
    if (!home) return false;
    code = home.countryCode;
    stripWith = home;
    const afterIdd = home.afterInternationalPrefix(digits);
    if (afterIdd !== undefined) {
      if (afterIdd.length <= MIN_LENGTH_FOR_NSN) return false;
      const viaIdd = extractCountryCode(afterIdd);
      if (!viaIdd) return false;
      [code, national] = viaIdd;
      stripWith = regionsOf(code)![0][1];
    } else {
      const own = String(code);
      if (digits.startsWith(own)) {
        const rest = home.stripNationalPrefix(digits.slice(own.length));
        // read as international only when the whole does not fit and the rest does, or the whole is too long
        if ((!home.matchesGeneralLoose(digits) && home.matchesGeneralLoose(rest)) || home.testLength(digits) === Length.TooLong) {
          national = rest;
          stripWith = regionsOf(code)![0][1];
        } else if (plus) return false;
      } else if (plus) return false;
    }
  }
  if (national.length < MIN_LENGTH_FOR_NSN) return false;
  const stripped = stripWith.stripNationalPrefix(national);
  const fit = stripWith.testLength(stripped);
  if (fit !== Length.TooShort && fit !== Length.LocalOnly && fit !== Length.Invalid) national = stripped;
  if (national.length < MIN_LENGTH_FOR_NSN || national.length > MAX_LENGTH_FOR_NSN) return false;
  return validNsn(code, national);
}

/** Every region libphonenumber knows (for national numbers under a phone key whose region is not the default). */
export function supportedRegions(): string[] {
  return util.getSupportedRegions();
}
