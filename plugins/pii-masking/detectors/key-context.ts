import type { KeyContext } from './types';

const SSN_KEYS = new Set(['ssn', 'ssnumber', 'socialsecurity', 'socialsecuritynumber', 'socialsecurityno', 'usssn', 'taxpayerssn']);
const DOB_KEYS = new Set(['dob', 'dateofbirth', 'birthdate', 'birthday', 'birthdt', 'birthdateutc', 'born', 'bornon', 'geburtsdatum', 'datenaissance', 'fechanacimiento']);
const PHONE_WORDS = ['phone', 'mobile', 'msisdn', 'cellnumber', 'telephone', 'fax'];
const PHONE_KEYS = new Set(['tel', 'cell', 'mobil', 'handy', 'telefon', 'telefono', 'contactnumber']);
const ID_WORDS = new Set([
  'id', 'uuid', 'guid', 'sku', 'ref', 'reference', 'ordernumber', 'orderno', 'invoicenumber', 'invoiceno', 'trackingnumber',
  'requestid', 'traceid', 'spanid', 'hash', 'sha', 'sha1', 'sha256', 'md5', 'checksum', 'etag', 'nonce', 'timestamp', 'ts',
  'epoch', 'createdat', 'updatedat', 'count', 'total', 'amount', 'price', 'quantity', 'build', 'buildnumber', 'serial',
  'serialnumber', 'isbn', 'ean', 'upc', 'gtin', 'zip', 'zipcode', 'postcode', 'postalcode', 'part', 'partnumber', 'partno',
  'partnum', 'pn', 'mpn', 'model', 'modelnumber', 'modelno', 'catalognumber', 'catalogno', 'itemnumber', 'itemno', 'productnumber',
  'productcode', 'barcode', 'seq', 'sequence', 'offset', 'cursor', 'version', 'revision', 'rev', 'size', 'bytes', 'duration',
  'nanos', 'micros', 'millis', 'key', 'code', 'number', 'no', 'num', 'nr', 'index', 'position', 'rank', 'score', 'balance',
]);
const CARD_WORDS = ['card', 'creditcard', 'ccnumber', 'ccnum', 'pan', 'cardnumber', 'cardno', 'primaryaccountnumber'];
const ID_SUFFIX = /(?:^|[_\-. ])(?:id|uuid|guid|no|num|nr|number|code|seq|ref|hash|sku)$|[a-z0-9](?:Id|ID|Uuid|UUID|Guid|GUID|No|Num|Nr|Number|Code|Seq|Ref|Hash|Sku)$/;
/** Keys whose dotted numbers are versions or builds, not IPv4 addresses. */
const VERSION_WORDS = ['version', 'build', 'release', 'firmware', 'revision', 'semver', 'useragent', 'useragent', 'osver', 'appver'];
const VERSION_KEYS = new Set(['v', 'ver', 'fw', 'sw', 'rev', 'os', 'tag', 'agent']);

export function normalizeKey(raw: string): string {
  return raw.toLowerCase().replace(/[_\-. ]/g, '');
}

function build(raw: string): KeyContext {
  const key = normalizeKey(raw);
  const ssn = SSN_KEYS.has(key);
  const phone = PHONE_KEYS.has(key) || PHONE_WORDS.some((w) => key.includes(w));
  const dob = DOB_KEYS.has(key);
  const card = CARD_WORDS.some((w) => key.includes(w)) && !key.includes('cardholder');
  const idLike = !ssn && !phone && !card && (ID_WORDS.has(key) || ID_SUFFIX.test(raw));
  const version = VERSION_KEYS.has(key) || VERSION_WORDS.some((w) => key.includes(w));
  return { key, ssn, phone, dob, idLike, version, card };
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
