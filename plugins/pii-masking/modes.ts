import crypto from 'node:crypto';
import { luhnCheckDigit } from './detectors/card';
import { ibanCheckDigits } from './detectors/iban';

export const MODES = ['redact', 'partial', 'token', 'fpe', 'block'] as const;
export type Mode = (typeof MODES)[number];

const DIGIT_TYPES = new Set(['card', 'ssn', 'phone']);
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** The value a token is computed over: the same card with spaces or dashes, or an email in any case, is one value. */
export function canonicalValue(type: string, value: string): string {
  if (DIGIT_TYPES.has(type)) return value.replace(/[^0-9+]/g, '');
  if (type === 'email') return value.toLowerCase();
  if (type === 'iban') return value.replace(/ /g, '').toUpperCase();
  return value;
}

function base32(bytes: Buffer, length: number): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/**
 * Applies a masking mode to one detected value. Deterministic modes (token, fpe) are keyed with HMAC-SHA256, so the
 * same value gives the same output in every response, header and log line served with the same key, and nobody
 * without the key can compute or reverse them. Outputs use only characters that are safe unescaped in JSON strings,
 * XML text and attributes, and plain text (letters, digits, `[]_*.@:-+/`), except where partial and fpe keep
 * the value's own separators.
 */
export class Masker {
  constructor(
    private readonly key: Buffer,
    private readonly labels: ReadonlyMap<string, string> = new Map(),
  ) {}

  label(type: string): string {
    return `[${this.labels.get(type) ?? type.toUpperCase()}]`;
  }

  mask(type: string, value: string, mode: Mode): string {
    switch (mode) {
      case 'partial':
        return partial(type, value);
      case 'token':
        return this.token(type, value);
      case 'fpe':
        return this.formatPreserving(type, value);
      default:
        return this.label(type);
    }
  }

  token(type: string, value: string): string {
    const digest = crypto.createHmac('sha256', this.key).update(`${type}\u0000${canonicalValue(type, value)}`).digest();
    return `tok_${type}_${base32(digest, 16)}`;
  }

  /** A keyed pseudo-random stream for `value`: the same value always draws the same replacement chars. */
  private stream(type: string, value: string, length: number): Buffer {
    const blocks: Buffer[] = [];
    let total = 0;
    for (let counter = 0; total < length; counter++) {
      const block = crypto.createHmac('sha256', this.key).update(`fpe\u0000${type}\u0000${counter}\u0000${canonicalValue(type, value)}`).digest();
      blocks.push(block);
      total += block.length;
    }
    return Buffer.concat(blocks, total);
  }

  /**
   * Same length and shape: every digit becomes a digit, every letter a letter of the same case, separators stay.
   * The first char is kept when it is a digit (a masked JSON number stays a valid number, a card keeps its brand
   * digit) and cards get a valid Luhn check digit; IBANs keep their country and get valid check digits; emails keep
   * their domain; IPv4 addresses stay valid dotted quads.
   */
  formatPreserving(type: string, value: string): string {
    const random = this.stream(type, value, value.length + 4);
    if (type === 'ipv4') return [0, 1, 2, 3].map((i) => String(random[i])).join('.');
    if (type === 'email') {
      const at = value.lastIndexOf('@');
      return substitute(value.slice(0, at), random, 0) + value.slice(at);
    }
    if (type === 'iban') {
      const compact = value.replace(/ /g, '');
      const bban = substitute(compact.slice(4), random, 0);
      const iban = compact.slice(0, 2) + ibanCheckDigits(compact.slice(0, 2), bban) + bban;
      return value.includes(' ') ? (iban.match(/.{1,4}/g) ?? []).join(' ') : iban;
    }
    const keepFirst = /[0-9]/.test(value[0] ?? '') || (type === 'phone' && value[0] === '+') ? 1 : type === 'jwt' ? 3 : type === 'secret' ? 4 : 0;
    let out = value.slice(0, keepFirst) + substitute(value.slice(keepFirst), random, keepFirst);
    if (type === 'card') {
      const lastDigit = out.search(/[0-9][^0-9]*$/);
      const body = out.slice(0, lastDigit).replace(/[^0-9]/g, '');
      out = out.slice(0, lastDigit) + String(luhnCheckDigit(body)) + out.slice(lastDigit + 1);
    }
    return out;
  }
}

function substitute(text: string, random: Buffer, offset: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const r = random[(i + offset) % random.length];
    if (c >= 48 && c <= 57) out += String.fromCharCode(48 + (r % 10));
    else if (c >= 65 && c <= 90) out += String.fromCharCode(65 + (r % 26));
    else if (c >= 97 && c <= 122) out += String.fromCharCode(97 + (r % 26));
    else out += text[i];
  }
  return out;
}

function maskAlnum(text: string): string {
  return text.replace(/[0-9A-Za-z]/g, '*');
}

/** Keeps the last 4 letters or digits (domain for emails, network half for IPs, year for dates of birth). */
export function partial(type: string, value: string): string {
  if (type === 'email') {
    const at = value.lastIndexOf('@');
    return '*'.repeat(Math.max(1, at)) + value.slice(at);
  }
  if (type === 'ipv4') {
    const parts = value.split('.');
    return `${parts[0]}.${parts[1]}.*.*`;
  }
  if (type === 'ipv6') {
    const second = value.indexOf(':', value.indexOf(':') + 1);
    return second < 0 ? maskAlnum(value) : value.slice(0, second + 1) + maskAlnum(value.slice(second + 1));
  }
  if (type === 'dob') {
    const year = /\d{4}/.exec(value);
    return year ? maskAlnum(value.slice(0, year.index)) + year[0] + maskAlnum(value.slice(year.index + 4)) : maskAlnum(value);
  }
  let kept = 0;
  let cut = value.length;
  while (cut > 0 && kept < 4) {
    cut--;
    if (/[0-9A-Za-z]/.test(value[cut])) kept++;
  }
  return maskAlnum(value.slice(0, cut)) + value.slice(cut);
}
