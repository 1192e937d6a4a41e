import { Encoder, decode, encode as encodeReference } from '@msgpack/msgpack';
import { StreamDecoder, encode, encodeCallReply, encodeDataReply } from '../../../shared/server/codec';

// The hot-path codec must be indistinguishable from @msgpack/msgpack: same bytes out, same values in.

function decodeOne(bytes: Uint8Array): unknown[] {
  const values: unknown[] = [];
  new StreamDecoder().push(bytes, (v) => values.push(v));
  return values;
}

describe('event-reply encoders', () => {
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 1838760281390080, Number.MAX_SAFE_INTEGER];
  const argLists: unknown[][] = [[], ['x-a'], ['x-b', 'v'], [403, 'no', { 'content-type': 'text/plain' }], [undefined, null, 1.5, -3, 'é漢', new Uint8Array([1, 2])], ['a'.repeat(70_000)]];

  it('writes exactly the bytes of encode([1, msgid, nil, {Data: {Method, Args}, EventId}])', () => {
    // one assertion over every combination: a per-case expect() costs more than the encoding it checks
    const mismatches: unknown[] = [];
    for (const msgid of ints) {
      for (const eventId of ints) {
        for (const args of argLists) {
          const expected = encode([1, msgid, undefined, { Data: { Method: 'kong.request.get_header', Args: args }, EventId: eventId }]);
          const actual = encodeCallReply(msgid, eventId, 'kong.request.get_header', args);
          if (!Buffer.from(actual).equals(Buffer.from(expected))) mismatches.push({ msgid, eventId, args });
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('writes exactly the bytes of encode([1, msgid, nil, {Data, EventId}])', () => {
    for (const msgid of ints) {
      for (const data of ['ret', { Method: 'kong.response.error', Args: [500] }, 'x'.repeat(300), undefined]) {
        const expected = encode([1, msgid, undefined, { Data: data, EventId: 9 }]);
        expect(Buffer.from(encodeDataReply(msgid, 9, data))).toEqual(Buffer.from(expected));
      }
    }
  });

  it('falls back to the generic encoder for msgids that are not unsigned integers', () => {
    for (const msgid of [-1, 1.5, 'x', null] as unknown as number[]) {
      expect(Buffer.from(encodeCallReply(msgid, 3, 'k', ['a']))).toEqual(Buffer.from(encode([1, msgid, undefined, { Data: { Method: 'k', Args: ['a'] }, EventId: 3 }])));
    }
  });
});

describe('StreamDecoder fast path', () => {
  const samples: unknown[] = [
    [0, 1, 'plugin.HandleEvent', [{ InstanceId: 1838760281390080, EventName: 'access' }]],
    [0, 4294967295, 'plugin.Step', [{ EventId: 12, Data: 'bench-header-value' }]],
    [0, 5, 'plugin.Step', [{ EventId: 70000 }]],
    [0, 6, 'plugin.StepMultiMap', [{ EventId: 3, Data: { 'x-a': ['1', '2'], host: ['h'], flag: [] } }]],
    [0, 7, 'plugin.Step', [{ EventId: 3, Data: Buffer.from('raw body bytes') }]],
    [0, 8, 'plugin.Step', [{ EventId: 3, Data: Buffer.alloc(70_000, 3) }]],
    [0, 9, 'plugin.Step', [{ EventId: 3, Data: 'é unicode 漢' }]],
    [0, 10, 'plugin.Step', [{ EventId: 3, Data: 'x'.repeat(300) }]],
    [0, 11, 'plugin.Step', [{ EventId: 3, Data: 'y'.repeat(70_000) }]],
    [0, 12, 'plugin.Step', [{ EventId: 3, Data: [1.5, -1, -200, -40000, -3000000000, -(2 ** 40), 2 ** 40, 3.25, true, false, null, {}, []] }]],
    [0, 13, 'plugin.StartInstance', [{ Name: 'p', Config: JSON.stringify({ a: 1, ['k'.repeat(40)]: 2 }) }]],
    [0, 14, 'plugin.Step', [{ EventId: 3, Data: { ['k'.repeat(40)]: 1, é: 2 } }]],
    [0, 15, 'plugin.Step', [{ EventId: 3, Data: new Date(0) }]],
    [0, 16, 'plugin.CloseInstance', [5]],
  ];
  const float32 = new Encoder({ forceFloat32: true });

  it('decodes whole-chunk messages exactly as @msgpack/msgpack does (float64 and float32 encodings)', () => {
    for (const sample of samples) {
      for (const bytes of [Buffer.from(encodeReference(sample)), Buffer.from(float32.encode(sample))]) {
        expect(decodeOne(bytes)).toEqual([decode(bytes)]);
      }
    }
  });

  it('keeps bin values as views of the chunk, like the Decoder', () => {
    const bytes = Buffer.from(encodeReference(samples[4]));
    const [fast] = decodeOne(bytes) as Array<[number, number, string, Array<{ Data: Uint8Array }>]>;
    const reference = decode(bytes) as [number, number, string, Array<{ Data: Uint8Array }>];
    expect(Buffer.isBuffer(fast[3][0].Data)).toBe(Buffer.isBuffer(reference[3][0].Data));
    expect(fast[3][0].Data.buffer).toBe(bytes.buffer);
  });

  it('decodes plain Uint8Array chunks, deep nesting and integer map keys through the Decoder', () => {
    const u8 = encodeReference(samples[9]);
    expect(decodeOne(u8)).toEqual([decode(u8)]);
    let deep: unknown = 1;
    for (let i = 0; i < 60; i++) deep = [deep];
    expect(decodeOne(encodeReference(deep))).toEqual([deep]);
    const intKeys = Uint8Array.of(0x81, 0x01, 0x02);
    expect(decodeOne(intKeys)).toEqual([decode(intKeys)]);
  });

  it('still rejects __proto__ keys and invalid bytes', () => {
    const proto = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([1])]);
    expect(() => decodeOne(proto)).toThrow();
    expect(() => decodeOne(Uint8Array.of(0xc1))).toThrow();
  });
});
