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

  // mp_rpc.lua reads with c:receiveany(4096) under the socket's read timeout: each receive has its own timeout
  it('times out per receive, not per call: an answer trickling in slower than the timeout in total still arrives', async () => {
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-')), 'slow.sock');
    const server = net.createServer((conn) => {
      conn.on('data', (chunk) => {
        const [, msgid] = decode(chunk) as [number, number];
        const answer = encode([1, msgid, null, 'x'.repeat(64)]);
        conn.write(answer.subarray(0, 10));
        setTimeout(() => conn.write(answer.subarray(10, 20)), 150);
        setTimeout(() => conn.write(answer.subarray(20)), 300);
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    const rpc = new RpcClient(socket, { timeoutMs: 200 });
    try {
      await expect(rpc.call('plugin.GetStatus')).resolves.toBe('x'.repeat(64));
    } finally {
      rpc.close();
      server.close();
    }
  });

  // setkeepalive() without arguments: lua_socket_keepalive_timeout, 60 s by default
  it('closes a pooled connection after the keepalive idle time', async () => {
    let closed = 0;
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-')), 'idle.sock');
    const server = net.createServer((conn) => {
      conn.on('data', (chunk) => conn.write(encode([1, (decode(chunk) as number[])[1], null, 1])));
      conn.on('end', () => closed++);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    const rpc = new RpcClient(socket, { keepaliveMs: 50 });
    try {
      await rpc.call('plugin.GetStatus');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(closed).toBe(1);
    } finally {
      rpc.close();
      server.close();
    }
  });

  it('decodes with @msgpack/msgpack, not the server\'s codec: bin values arrive as bytes', async () => {
    const source = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'devkit', 'emulator', 'rpc-client.ts'), 'utf8');
    expect(source).not.toMatch(/from '[^']*shared\/server/);
    const fake = await fakeServer(([, msgid]) => [[1, msgid, null, { Data: Buffer.from([0, 255, 1]) }]]);
    const rpc = new RpcClient(fake.socket);
    try {
      const result = (await rpc.call('plugin.Step')) as { Data: Uint8Array };
      expect(result.Data).toBeInstanceOf(Uint8Array);
      expect([...result.Data]).toEqual([0, 255, 1]);
    } finally {
      rpc.close();
      fake.close();
    }
  });
});
