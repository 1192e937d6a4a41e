import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import { RpcClient } from '../../../devkit/emulator/rpc-client';

/** A scripted plugin-server socket: `answer` decides what goes back for each request. */
async function fakeServer(answer: (request: [number, number, string, unknown[]]) => unknown[][]): Promise<{ socket: string; close(): void; connections: () => number }> {
  const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-')), 'fake.sock');
  let connections = 0;
  const server = net.createServer((conn) => {
    connections++;
    conn.on('data', (chunk) => {
      for (const message of answer(decode(chunk) as [number, number, string, unknown[]])) conn.write(encode(message));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, close: () => server.close(), connections: () => connections };
}

describe('RpcClient (Kong\'s side of one plugin-server socket)', () => {
  it('handles notifications before the answer, as mp_rpc.lua does', async () => {
    const fake = await fakeServer(([, msgid]) => [
      [2, 'serverPid', 4242],
      [1, msgid, null, { ok: true }],
    ]);
    const seen: Array<[string, unknown]> = [];
    const rpc = new RpcClient(fake.socket, { onNotification: (label, args) => seen.push([label, args]) });
    try {
      await expect(rpc.call('plugin.GetStatus')).resolves.toEqual({ ok: true });
      expect(seen).toEqual([['serverPid', 4242]]);
    } finally {
      rpc.close();
      fake.close();
    }
  });

  it('rejects an answer whose msgid is not the request\'s, and an error string as an error', async () => {
    const fake = await fakeServer(([, msgid, method]) => [method === 'plugin.Bad' ? [1, msgid + 7, null, 1] : [1, msgid, 'no plugin instance #5', null]]);
    const rpc = new RpcClient(fake.socket);
    try {
      await expect(rpc.call('plugin.Bad')).rejects.toThrow(/unexpected RPC response ID/);
      await expect(rpc.call('plugin.HandleEvent', { InstanceId: 5 })).rejects.toThrow('no plugin instance #5');
    } finally {
      rpc.close();
      fake.close();
    }
  });

  it('uses one connection per in-flight call and reuses idle ones', async () => {
    const fake = await fakeServer(([, msgid]) => [[1, msgid, null, msgid]]);
    const rpc = new RpcClient(fake.socket);
    try {
      await Promise.all(Array.from({ length: 5 }, () => rpc.call('plugin.GetStatus')));
      expect(fake.connections()).toBe(5);
      for (let i = 0; i < 5; i++) await rpc.call('plugin.GetStatus');
      expect(fake.connections()).toBe(5);
    } finally {
      rpc.close();
      fake.close();
    }
  });
});
