/**
 * Charsets. Detectors read bytes as latin1 chars, which is exact for every ASCII-compatible charset (UTF-8, ASCII,
 * ISO-8859-x, windows-125x, KOI8): an '@', a digit or a letter of PII written in ASCII is the same byte. UTF-16
 * (declared, or found by its byte order mark) is decoded to UTF-8 for scanning and encoded back after masking.
 * Anything else (UTF-32, Shift_JIS, GB18030, EBCDIC, ...) cannot be scanned byte-wise and is reported unreadable.
 */
export type Charset = 'bytes' | 'utf-16le' | 'utf-16be';

const ASCII_COMPATIBLE = /^(?:utf-?8|us-ascii|ascii|iso-?8859-\d{1,2}|iso_8859-\d{1,2}|latin-?1|l1|windows-125\d|cp125\d|koi8-[ru])$/;

export function charsetOf(declared: string | undefined, body: Buffer): Charset | undefined {
  if (body.length >= 2 && (declared === undefined || declared === 'utf-16' || declared === 'utf16')) {
    if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
    if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  }
  if (declared === undefined || ASCII_COMPATIBLE.test(declared)) return 'bytes';
  if (declared === 'utf-16le' || declared === 'utf16le') return 'utf-16le';
  if (declared === 'utf-16be' || declared === 'utf16be' || declared === 'utf-16' || declared === 'utf16') return 'utf-16be'; // RFC 2781: big endian without a BOM
  return undefined;
}

function swap(buffer: Buffer): Buffer {
  const out = Buffer.from(buffer);
  out.swap16();
  return out;
}

/** UTF-16 bytes (a BOM kept apart) as UTF-8; undefined when the length is odd (truncated). */
export function utf16ToUtf8(body: Buffer, charset: 'utf-16le' | 'utf-16be'): { utf8: Buffer; bom: Buffer } | undefined {
  const hasBom = body.length >= 2 && ((charset === 'utf-16le' && body[0] === 0xff && body[1] === 0xfe) || (charset === 'utf-16be' && body[0] === 0xfe && body[1] === 0xff));
  const content = hasBom ? body.subarray(2) : body;
  if (content.length % 2 !== 0) return undefined;
  const le = charset === 'utf-16le' ? content : swap(content);
  return { utf8: Buffer.from(le.toString('utf16le'), 'utf8'), bom: hasBom ? Buffer.from(body.subarray(0, 2)) : Buffer.alloc(0) };
}

export function utf8ToUtf16(utf8: Buffer, charset: 'utf-16le' | 'utf-16be', bom: Buffer): Buffer {
  const le = Buffer.from(utf8.toString('utf8'), 'utf16le');
  return Buffer.concat([bom, charset === 'utf-16le' ? le : swap(le)]);
}
