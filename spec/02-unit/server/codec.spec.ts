import { decode, encode as encodeReference } from '@msgpack/msgpack';
import { StreamDecoder, encode } from '../../../shared/server/codec';

function collect(chunks: Uint8Array[]): unknown[] {
  const decoder = new StreamDecoder();
  const values: unknown[] = [];
  for (const chunk of chunks) decoder.push(chunk, (v) => values.push(v));
  return values;
}

describe('StreamDecoder', () => {
  const message = [0, 7, 'plugin.Step', [{ EventId: 3, Data: { 'x-a': ['1', '2'] }, Bin: new Uint8Array([1, 2, 3]) }]];
  const bytes = encodeReference(message);

  it('decodes a message split at every possible byte boundary', () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(collect([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([message]);
    }
  });

  it('decodes a message delivered one byte at a time', () => {
    expect(collect(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual([message]);
  });

  it('decodes a 2 MiB message split into 64 KiB chunks', () => {
    const big = [1, 1, null, { Data: Buffer.alloc(2 * 1024 * 1024, 7) }];
    const encoded = encodeReference(big);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < encoded.length; i += 65536) chunks.push(encoded.subarray(i, i + 65536));
    const [value] = collect(chunks) as Array<[number, number, null, { Data: Uint8Array }]>;
    expect(value[3].Data.length).toBe(2 * 1024 * 1024);
    expect(value[3].Data.every((b) => b === 7)).toBe(true);
  });

  it('delivers every value of a chunk holding several (pipelined) messages', () => {
    const three = Buffer.concat([encodeReference([0, 1, 'a', []]), encodeReference([0, 2, 'b', []]), encodeReference([0, 3, 'c', []])]);
    expect(collect([three.subarray(0, 10), three.subarray(10)])).toEqual([
      [0, 1, 'a', []],
      [0, 2, 'b', []],
      [0, 3, 'c', []],
    ]);
  });

  it('throws on bytes that are not MessagePack', () => {
    expect(() => collect([Uint8Array.of(0xc1)])).toThrow();
  });
});

describe('encode', () => {
  it('omits undefined map fields (Lua nil) and keeps undefined array slots as nil', () => {
    expect(decode(encode([1, 2, undefined, { Data: undefined, EventId: 1 }]))).toEqual([1, 2, null, { EventId: 1 }]);
  });

  it('returns a copy that later encodes do not overwrite', () => {
    const first = encode(['first']);
    encode(['second, longer than the first']);
    expect(decode(first)).toEqual(['first']);
  });
});
