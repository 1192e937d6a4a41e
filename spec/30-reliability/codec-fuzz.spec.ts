import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decode as referenceDecode, encode as referenceEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { FrameLimitError, MAX_FRAME_BYTES, StreamDecoder } from '../../shared/server/codec';
import { PluginServerProcess, serverDefinition } from '../../devkit/emulator/plugin-server-process';
import { RpcClient } from '../../devkit/emulator/rpc-client';
import { FUZZ } from './fuzz-budget';

/** Every value a chunk sequence yields, or the error the decoder threw. */
function feed(chunks: Uint8Array[], decoder = new StreamDecoder()): { values: unknown[]; error?: Error } {
  const values: unknown[] = [];
  try {
    for (const chunk of chunks) decoder.push(chunk, (v) => values.push(v));
  } catch (err) {
    return { values, error: err as Error };
  }
  return { values };
}

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    if (p > start) chunks.push(bytes.subarray(start, p));
    start = Math.max(start, p);
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/** The MessagePack values Kong's requests and replies carry (no undefined: it has no MessagePack form). */
const kongValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** Heads announcing the largest lengths each 32-bit format can: [head byte, bytes of the length]. */
const HOSTILE_HEADS: Array<[string, number[]]> = [
  ['array32', [0xdd, 0xff, 0xff, 0xff, 0xff]],
  ['map32', [0xdf, 0xff, 0xff, 0xff, 0xff]],
  ['str32', [0xdb, 0xff, 0xff, 0xff, 0xf0]],
  ['bin32', [0xc6, 0xff, 0xff, 0xff, 0xf0]],
  ['ext32', [0xc9, 0xff, 0xff, 0xff, 0xf0, 0x01]],
];

describe('MessagePack framing under fuzzing (shared/server/codec)', () => {
  it('decodes every Kong-shaped message sequence cut at arbitrary points exactly as @msgpack/msgpack does', () => {
    fc.assert(
      fc.property(fc.array(kongValue, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 8 }), (messages, offsets) => {
        const bytes = Buffer.concat(messages.map((m) => referenceEncode(m)));
        const { values, error } = feed(cut(bytes, offsets));
        expect(error).toBeUndefined();
        expect(values).toEqual(messages.map((m) => referenceDecode(referenceEncode(m))));
      }),
      { numRuns: FUZZ.runs(400), interruptAfterTimeLimit: FUZZ.timeMs(8000) },
    );
  });

  it('never hangs or throws a non-Error on random bytes, and buffers at most what it was given', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 256 }), { minLength: 1, maxLength: 6 }), (chunks) => {
        const started = Date.now();
        const { error } = feed(chunks);
        expect(Date.now() - started).toBeLessThan(2000);
        if (error) expect(error).toBeInstanceOf(Error);
      }),
      { numRuns: FUZZ.runs(1500), interruptAfterTimeLimit: FUZZ.timeMs(8000) },
    );
  });

  it.each(HOSTILE_HEADS)('refuses an %s header announcing ~4 G at once with a FrameLimitError naming the limit', (_name, head) => {
    const { values, error } = feed([Uint8Array.from(head)]);
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(FrameLimitError);
    expect(error!.message).toContain(`frame limit ${MAX_FRAME_BYTES} bytes`);
  });

  it.each(HOSTILE_HEADS)('refuses an %s header inside a valid request (nested in the args array)', (_name, head) => {
    const prefix = Uint8Array.from([0x94, 0x00, 0x01, 0xab, ...Buffer.from('plugin.Step'), 0x91]);
    expect(feed([Buffer.concat([prefix, Uint8Array.from(head)])]).error).toBeInstanceOf(FrameLimitError);
  });

  it('bounds a partial value below the length limit: a str32 announcing 100 MiB is refused once more than the frame bound arrived', () => {
    const decoder = new StreamDecoder(64 * 1024);
    const head = Uint8Array.from([0xdb, 0x06, 0x40, 0x00, 0x00]); // 100 MiB
    const kib = new Uint8Array(1024).fill(0x61);
    let pushed = 0;
    const run = () => {
      decoder.push(head, () => undefined);
      for (; pushed < 200; pushed++) decoder.push(kib, () => undefined);
    };
    expect(run).toThrow(FrameLimitError);
    expect(pushed).toBeLessThanOrEqual(64);
    // the decoder was reset: the next message decodes
    expect(feed([referenceEncode([0, 9, 'plugin.GetStatus', []])], decoder).values).toEqual([[0, 9, 'plugin.GetStatus', []]]);
  });
});

describe('a hostile length header against the running plugin server (ours)', () => {
  let server: PluginServerProcess;
  beforeAll(async () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'codec-fuzz-'));
    server = new PluginServerProcess(serverDefinition('ours', path.join(__dirname, '..', 'fixtures', 'plugins'), prefix), {
      env: { KONG_PLUGINS_LOG_LEVEL: 'warn' },
    });
    await server.start();
  });
  afterAll(() => server.stop());

  it.each(HOSTILE_HEADS)('%s: the connection is closed at once (not wedged while 1 MiB more arrives), the server keeps serving', async (_name, head) => {
    const socket = net.createConnection(server.definition.socket);
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      socket.once('close', () => resolve(Date.now() - started));
    });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(Uint8Array.from([0x94, 0x00, 0x01, 0xab, ...Buffer.from('plugin.Step'), 0x91, ...head]));
    socket.write(Buffer.alloc(1024 * 1024, 0x61), () => undefined);
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    socket.destroy();
    expect(ms).toBeGreaterThanOrEqual(0);
    const rpc = new RpcClient(server.definition.socket);
    try {
      const info = (await rpc.call('plugin.GetStatus', [])) as Record<string, unknown>;
      expect(info).toBeTruthy();
    } finally {
      rpc.close();
    }
    expect(server.stderr).toContain('undecodable data, closing connection');
  });
});
