import type { KeyContext } from './types';

const SSN_KEYS = new Set(['ssn', 'ssnumber', 'socialsecurity', 'socialsecuritynumber', 'socialsecurityno', 'usssn', 'taxpayerssn']);
const DOB_KEYS = new Set(['dob', 'dateofbirth', 'birthdate', 'birthday', 'birthdt', 'birthdateutc', 'born', 'bornon', 'geburtsdatum', 'datenaissance', 'fechanacimiento']);
const PHONE_WORDS = ['phone', 'mobile', 'msisdn', 'cellnumber', 'telephone', 'fax'];
const PHONE_KEYS = new Set(['tel', 'cell', 'mobil', 'handy', 'telefon', 'telefono', 'contactnumber']);
const ID_WORDS = new Set([
  'id', 'uuid', 'guid', 'sku', 'ref', 'reference', 'ordernumber', 'orderno', 'invoicenumber', 'invoiceno', 'trackingnumber',
  'requestid', 'traceid', 'spanid', 'hash', 'sha', 'sha1', 'sha256', 'md5', 'checksum', 'etag', 'nonce', 'timestamp', 'ts',
  'epoch', 'createdat', 'updatedat', 'count', 'total', 'amount', 'price', 'quantity', 'build', 'buildnumber', 'serial',
  'serialnumber', 'isbn', 'ean', 'upc', 'gtin', 'zip', 'zipcode', 'postcode', 'postalcode',
]);
const ID_SUFFIX = /(?:^|[_\-. ])(?:id|uuid|guid)$|[a-z0-9](?:Id|ID|Uuid|UUID|Guid|GUID)$/;

export function normalizeKey(raw: string): string {
  return raw.toLowerCase().replace(/[_\-. ]/g, '');
}

function build(raw: string): KeyContext {
  const key = normalizeKey(raw);
  const ssn = SSN_KEYS.has(key);
  const phone = PHONE_KEYS.has(key) || PHONE_WORDS.some((w) => key.includes(w));
  const dob = DOB_KEYS.has(key);
  const idLike = !ssn && !phone && (ID_WORDS.has(key) || ID_SUFFIX.test(raw));
  const version = key.includes('version') || key === 'v' || key === 'ver';
  return { key, ssn, phone, dob, idLike, version };
}

/**
 * Key contexts, memoized per key string: a response repeats the same few keys thousands of times, so each is
 * analysed once. Bounded so that a body with millions of distinct keys cannot grow it without limit.
 */
export class KeyContexts {
  private readonly cache = new Map<string, KeyContext>();
  constructor(private readonly limit = 4096) {}

  of(raw: string): KeyContext {
    let context = this.cache.get(raw);
    if (context) return context;
    context = build(raw);
    if (this.cache.size >= this.limit) this.cache.clear();
    this.cache.set(raw, context);
    return context;
  }
}
