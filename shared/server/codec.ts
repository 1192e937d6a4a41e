import { Decoder, Encoder } from '@msgpack/msgpack';

/**
 * MessagePack framing for the plugin-server socket: consecutive values, no length prefix.
 *
 * @msgpack/msgpack's Decoder can resume a value split across chunks (its async stream API does exactly this);
 * we drive the same resumable state machine synchronously so a message costs one decode call and no promise.
 * Several values in one chunk are all delivered (kong-pdk's server crashes on that).
 */
interface ResumableDecoder {
  appendBuffer(chunk: Uint8Array): void;
  doDecodeSync(): unknown;
  hasRemaining(size: number): boolean;
  reinitializeState(): void;
  setBuffer(chunk: Uint8Array): void;
}

const decoderInternals = Decoder.prototype as unknown as Record<string, unknown>;
for (const method of ['appendBuffer', 'doDecodeSync', 'hasRemaining', 'reinitializeState', 'setBuffer']) {
  if (typeof decoderInternals[method] !== 'function') {
    throw new Error(`@msgpack/msgpack Decoder lacks ${method}: pin @msgpack/msgpack 3.x`);
  }
}

/**
 * The largest message a connection may announce or buffer: pii-masking reads bodies up to 64 MiB (max_body_size),
 * so 128 MiB leaves room for the headers around one. A length header beyond it (an `array32`/`str32` announcing
 * ~4 G elements) or a partial value that grows beyond it is refused with a FrameLimitError, and the caller closes
 * the connection, instead of waiting for data that never comes while buffering whatever follows.
 */
export const MAX_FRAME_BYTES = 128 * 1024 * 1024;

export class FrameLimitError extends Error {
  constructor(message: string) {
    super(`${message} (frame limit ${MAX_FRAME_BYTES} bytes): connection closed`);
    this.name = 'FrameLimitError';
  }
}

export class StreamDecoder {
  private readonly decoder = new Decoder({
    maxStrLength: MAX_FRAME_BYTES,
    maxBinLength: MAX_FRAME_BYTES,
    maxArrayLength: MAX_FRAME_BYTES,
    maxMapLength: MAX_FRAME_BYTES,
    maxExtLength: MAX_FRAME_BYTES,
  }) as unknown as ResumableDecoder;
  private midValue = false;
  /** Bytes received since the partial value began (an upper bound of what the decoder holds for it). */
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {
    this.decoder.reinitializeState();
    this.decoder.setBuffer(new Uint8Array(0));
  }

  /**
   * Feeds a chunk; calls `onValue` for every complete value, keeps any partial tail for the next chunk.
   * Throws (the connection must be closed) on undecodable data, on a length beyond the frame limit, or when a
   * partial value's buffered bytes exceed it.
   */
  push(chunk: Uint8Array, onValue: (value: unknown) => void): void {
    if (this.midValue) {
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > this.maxFrameBytes) {
        this.reset();
        throw new FrameLimitError(`partial message of more than ${this.pendingBytes - chunk.length} bytes`);
      }
    }
    if (!this.midValue) {
      // Kong's usual chunk: exactly one whole request.
      const value = decodeWhole(chunk);
      if (value !== UNHANDLED) {
        onValue(value);
        return;
      }
    }
    const decoder = this.decoder;
    if (this.midValue) decoder.appendBuffer(chunk);
    else decoder.setBuffer(chunk);
    while (decoder.hasRemaining(1) || this.midValue) {
      let value: unknown;
      try {
        value = decoder.doDecodeSync();
      } catch (err) {
        if (err instanceof RangeError) {
          if (!this.midValue) this.pendingBytes = chunk.length;
          this.midValue = true;
          return;
        }
        this.reset();
        if (err instanceof Error && err.message.startsWith('Max length exceeded')) throw new FrameLimitError(err.message);
        throw err;
      }
      this.midValue = false;
      this.pendingBytes = 0;
      onValue(value);
    }
  }

  private reset(): void {
    this.midValue = false;
    this.pendingBytes = 0;
    this.decoder.reinitializeState();
    this.decoder.setBuffer(new Uint8Array(0));
  }
}

/*
 * Fast path for a chunk holding exactly one complete value made of the types Kong's requests use: the same result
 * as @msgpack/msgpack's Decoder (nil as null, bin as a view of the chunk, uint64/int64 as numbers, maps as plain
 * objects), without its state machine, DataView per chunk or UTF-8 decoding of ASCII strings. Anything else
 * (a partial or pipelined chunk, ext types, non-ASCII or non-string map keys, `__proto__`, deep nesting) returns
 * UNHANDLED and goes through the Decoder, which also produces every error.
 */
const UNHANDLED: unique symbol = Symbol('unhandled');
const MAX_FAST_DEPTH = 32;
let fastBytes: Uint8Array = new Uint8Array(0);
let fastPos = 0;
let fastEnd = 0;

function decodeWhole(chunk: Uint8Array): unknown {
  fastBytes = chunk;
  fastPos = 0;
  fastEnd = chunk.length;
  const value = readValue(0);
  const complete = fastPos === fastEnd;
  fastBytes = EMPTY;
  return complete ? value : UNHANDLED;
}

const EMPTY = new Uint8Array(0);

function readUint(size: number): number {
  const b = fastBytes;
  const p = fastPos;
  fastPos += size;
  switch (size) {
    case 1:
      return b[p];
    case 2:
      return (b[p] << 8) | b[p + 1];
    case 4:
      return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
    default:
      return readUint32At(p) * 4294967296 + readUint32At(p + 4);
  }
}

function readUint32At(p: number): number {
  const b = fastBytes;
  return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}

/** A string of `length` bytes at fastPos, or UNHANDLED unless it is all ASCII. */
function readAscii(length: number): string | typeof UNHANDLED {
  if (fastPos + length > fastEnd) return UNHANDLED;
  const b = fastBytes;
  const start = fastPos;
  const end = start + length;
  let out = '';
  if (length <= 24) {
    for (let i = start; i < end; i++) {
      const c = b[i];
      if (c >= 0x80) return UNHANDLED;
      out += String.fromCharCode(c);
    }
  } else {
    for (let i = start; i < end; i++) if (b[i] >= 0x80) return UNHANDLED;
    out = Buffer.prototype.latin1Slice.call(b, start, end) as string;
  }
  fastPos = end;
  return out;
}

function readValue(depth: number): unknown {
  if (fastPos >= fastEnd || depth > MAX_FAST_DEPTH) return UNHANDLED;
  const head = fastBytes[fastPos++];
  if (head < 0x80) return head;
  if (head >= 0xe0) return head - 0x100;
  if (head < 0x90) return readMap(head - 0x80, depth);
  if (head < 0xa0) return readArray(head - 0x90, depth);
  if (head < 0xc0) return readAscii(head - 0xa0);
  if (head === 0xc0) return null;
  if (head === 0xc2) return false;
  if (head === 0xc3) return true;
  const sizes = HEAD_SIZES[head - 0xc0];
  if (sizes === 0 || fastPos + sizes > fastEnd) return UNHANDLED;
  switch (head) {
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return readBin(readUint(sizes));
    case 0xca: {
      const value = Buffer.prototype.readFloatBE.call(fastBytes, fastPos) as number;
      fastPos += 4;
      return value;
    }
    case 0xcb: {
      const value = Buffer.prototype.readDoubleBE.call(fastBytes, fastPos) as number;
      fastPos += 8;
      return value;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      return readUint(sizes);
    case 0xd0: {
      const v = readUint(1);
      return v >= 0x80 ? v - 0x100 : v;
    }
    case 0xd1: {
      const v = readUint(2);
      return v >= 0x8000 ? v - 0x10000 : v;
    }
    case 0xd2:
      return readUint(4) | 0;
    case 0xd3: {
      // as @msgpack/msgpack's getInt64: signed high word * 2^32 + unsigned low word
      const high = readUint32At(fastPos) | 0;
      const low = readUint32At(fastPos + 4);
      fastPos += 8;
      return high * 4294967296 + low;
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
      return readAscii(readUint(sizes));
    case 0xdc:
    case 0xdd:
      return readArray(readUint(sizes), depth);
    case 0xde:
    case 0xdf:
      return readMap(readUint(sizes), depth);
    default:
      return UNHANDLED;
  }
}

/** Bytes after the head of the 0xc4..0xdf values the fast path handles (0: not handled: c1, ext types). */
const HEAD_SIZES = Uint8Array.from([
  // c0 nil, c1 never used, c2 false, c3 true (handled above), c4-c6 bin 8/16/32, c7-c9 ext
  0, 0, 0, 0, 1, 2, 4, 0, 0, 0,
  // ca f32, cb f64, cc-cf uint 8/16/32/64, d0-d3 int 8/16/32/64
  4, 8, 1, 2, 4, 8, 1, 2, 4, 8,
  // d4-d8 fixext, d9-db str 8/16/32, dc-dd array 16/32, de-df map 16/32
  0, 0, 0, 0, 0, 1, 2, 4, 2, 4, 2, 4,
]);

function readBin(length: number): unknown {
  if (fastPos + length > fastEnd) return UNHANDLED;
  const value = fastBytes.subarray(fastPos, fastPos + length);
  fastPos += length;
  return value;
}

function readArray(size: number, depth: number): unknown {
  if (size > fastEnd - fastPos) return UNHANDLED; // every element takes at least one byte
  const array = new Array<unknown>(size);
  for (let i = 0; i < size; i++) {
    const value = readValue(depth + 1);
    if (value === UNHANDLED) return UNHANDLED;
    array[i] = value;
  }
  return array;
}

function readMap(size: number, depth: number): unknown {
  if (size * 2 > fastEnd - fastPos) return UNHANDLED;
  const map: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) {
    if (fastPos >= fastEnd) return UNHANDLED;
    const head = fastBytes[fastPos];
    let key: string | typeof UNHANDLED;
    if (head >= 0xa0 && head < 0xc0) {
      fastPos++;
      key = readAscii(head - 0xa0);
    } else if (head === 0xd9 && fastPos + 1 < fastEnd) {
      fastPos++;
      key = readAscii(readUint(1));
    } else {
      return UNHANDLED;
    }
    if (key === UNHANDLED || key === '__proto__') return UNHANDLED;
    const value = readValue(depth + 1);
    if (value === UNHANDLED) return UNHANDLED;
    map[key] = value;
  }
  return map;
}

/** One shared encoder: encode() copies its output, so the buffer is reused safely across messages. */
const encoder = new Encoder({ ignoreUndefined: true });

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/*
 * Event replies, the hot path (one per HandleEvent and per Step): `[1, msgid, nil, {Data, EventId}]` where Data is
 * a PDK call `{Method, Args}` or the handler's final value. Written byte by byte into a scratch buffer, with the
 * method name's encoding cached, then copied once into a (pooled) Buffer: the same bytes as
 * `encode([1, msgid, undefined, {Data, EventId}])`, without building the objects or walking them.
 */
let scratch = Buffer.allocUnsafeSlow(4096);
let pos = 0;

function reserve(size: number): void {
  if (pos + size <= scratch.length) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, pos + size));
  scratch.copy(grown, 0, 0, pos);
  scratch = grown;
}

function writeBytes(bytes: Uint8Array): void {
  const length = bytes.length;
  reserve(length);
  if (length <= 32) {
    // a loop beats TypedArray#set's call overhead for the short keys and names written here
    for (let i = 0; i < length; i++) scratch[pos + i] = bytes[i];
  } else {
    scratch.set(bytes, pos);
  }
  pos += length;
}

/** Non-negative safe integers exactly as @msgpack/msgpack writes them (smallest uint format). */
function writeUint(value: number): void {
  reserve(9);
  if (value < 0x80) {
    scratch[pos++] = value;
  } else if (value < 0x100) {
    scratch[pos++] = 0xcc;
    scratch[pos++] = value;
  } else if (value < 0x10000) {
    scratch[pos++] = 0xcd;
    scratch.writeUInt16BE(value, pos);
    pos += 2;
  } else if (value < 0x100000000) {
    scratch[pos++] = 0xce;
    scratch.writeUInt32BE(value, pos);
    pos += 4;
  } else {
    scratch[pos++] = 0xcf;
    scratch.writeUInt32BE(Math.floor(value / 0x100000000), pos);
    scratch.writeUInt32BE(value >>> 0, pos + 4);
    pos += 8;
  }
}

const isUint = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const REPLY_HEAD = Uint8Array.of(0x94, 0x01); // [1, ...
const NIL_AND_MAP2 = Uint8Array.of(0xc0, 0x82); // ..., nil, {2 keys}
const KEY_DATA = encoder.encode('Data');
const KEY_EVENT_ID = encoder.encode('EventId');
const CALL_HEAD = Uint8Array.from([0x82, ...encoder.encode('Method')]);
const KEY_ARGS = encoder.encode('Args');
const encodedMethods = new Map<string, Uint8Array>();

function methodBytes(method: string): Uint8Array {
  let bytes = encodedMethods.get(method);
  if (bytes === undefined) {
    bytes = encoder.encode(method);
    if (encodedMethods.size < 10_000) encodedMethods.set(method, bytes);
  }
  return bytes;
}

function takeOutput(): Uint8Array {
  const out = Buffer.allocUnsafe(pos); // small replies come from Node's pool: no ArrayBuffer per message
  scratch.copy(out, 0, 0, pos);
  return out;
}

function writeReplyHead(msgid: number): void {
  pos = 0;
  writeBytes(REPLY_HEAD);
  writeUint(msgid);
  writeBytes(NIL_AND_MAP2);
  writeBytes(KEY_DATA);
}

function writeEventIdTail(eventId: number): Uint8Array {
  writeBytes(KEY_EVENT_ID);
  writeUint(eventId);
  return takeOutput();
}

/** `[1, msgid, nil, {Data: {Method, Args}, EventId}]`: a PDK call for Kong to run. */
export function encodeCallReply(msgid: number, eventId: number, method: string, args: unknown[]): Uint8Array {
  if (!isUint(msgid) || !isUint(eventId) || typeof method !== 'string' || !Array.isArray(args)) {
    return encode([1, msgid, undefined, { Data: { Method: method, Args: args }, EventId: eventId }]);
  }
  writeReplyHead(msgid);
  writeBytes(CALL_HEAD);
  writeBytes(methodBytes(method));
  writeBytes(KEY_ARGS);
  writeBytes(encoder.encodeSharedRef(args));
  return writeEventIdTail(eventId);
}

/** `[1, msgid, nil, {Data: data, EventId}]`: the event's final answer ("ret", or a fail-closed call). */
export function encodeDataReply(msgid: number, eventId: number, data: unknown): Uint8Array {
  if (!isUint(msgid) || !isUint(eventId) || data === undefined) {
    return encode([1, msgid, undefined, { Data: data, EventId: eventId }]);
  }
  writeReplyHead(msgid);
  writeBytes(encoder.encodeSharedRef(data));
  return writeEventIdTail(eventId);
}
