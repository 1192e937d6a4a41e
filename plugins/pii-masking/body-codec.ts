import zlib from 'node:zlib';
import { promisify } from 'node:util';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliDecompress = promisify(zlib.brotliDecompress);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const brotliCompress = promisify(zlib.brotliCompress);

export type Coding = 'identity' | 'gzip' | 'deflate' | 'br';

/** The single coding of a Content-Encoding header, or undefined when unsupported (several codings, zstd, ...). */
export function parseContentEncoding(header: string | undefined): Coding | undefined {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  if (value === 'br') return 'br';
  return undefined;
}

export class DecodeError extends Error {
  constructor(
    message: string,
    readonly reason: 'too_large' | 'corrupt',
  ) {
    super(message);
  }
}

/**
 * Decodes a compressed body in zlib's thread pool (the event loop stays free), refusing to produce more than
 * `maxBytes` (a zip bomb stops there). HTTP "deflate" is zlib-wrapped in the standard but raw in some servers: both
 * are accepted.
 */
export async function decodeBody(body: Buffer, coding: Coding, maxBytes: number): Promise<Buffer> {
  if (coding === 'identity') return body;
  const options = { maxOutputLength: Math.max(1, maxBytes) };
  try {
    if (coding === 'gzip') return await gunzip(body, options);
    if (coding === 'br') return await brotliDecompress(body, options);
    try {
      return await inflate(body, options);
    } catch (err) {
      if (isTooLarge(err)) throw err;
      return await inflateRaw(body, options);
    }
  } catch (err) {
    if (isTooLarge(err)) throw new DecodeError(`decoded body exceeds ${maxBytes} bytes`, 'too_large');
    throw new DecodeError(`cannot decode ${coding} body: ${(err as Error).message}`, 'corrupt');
  }
}

function isTooLarge(err: unknown): boolean {
  return err instanceof RangeError || (err as { code?: string })?.code === 'ERR_BUFFER_TOO_LARGE';
}

/** Re-encodes a masked body with the coding it came with (brotli at quality 5: fast, close to the default ratio). */
export async function encodeBody(body: Buffer, coding: Coding): Promise<Buffer> {
  if (coding === 'gzip') return gzip(body);
  if (coding === 'deflate') return deflate(body);
  if (coding === 'br') return brotliCompress(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  return body;
}
