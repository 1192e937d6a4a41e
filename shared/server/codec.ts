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

export class StreamDecoder {
  private readonly decoder = new Decoder() as unknown as ResumableDecoder;
  private midValue = false;

  constructor() {
    this.decoder.reinitializeState();
    this.decoder.setBuffer(new Uint8Array(0));
  }

  /** Feeds a chunk; calls `onValue` for every complete value, keeps any partial tail for the next chunk. */
  push(chunk: Uint8Array, onValue: (value: unknown) => void): void {
    const decoder = this.decoder;
    if (this.midValue) decoder.appendBuffer(chunk);
    else decoder.setBuffer(chunk);
    while (decoder.hasRemaining(1) || this.midValue) {
      let value: unknown;
      try {
        value = decoder.doDecodeSync();
      } catch (err) {
        if (err instanceof RangeError) {
          this.midValue = true;
          return;
        }
        throw err;
      }
      this.midValue = false;
      onValue(value);
    }
  }
}

/** One shared encoder: encode() copies its output, so the buffer is reused safely across messages. */
const encoder = new Encoder({ ignoreUndefined: true });

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}
