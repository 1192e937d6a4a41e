import net from 'node:net';
import crypto from 'node:crypto';
import { withDeadline } from '../../../shared/redis/deadline';
import { getRedis, closeAllRedis } from '../../../shared/redis';

/** Busy-waits: the event loop is late, as on a box whose cores another process saturates. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* spin */
  }
}

describe('withDeadline', () => {
  const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('passes a fast result through and leaves no timer behind', async () => {
    const before = activeTimeouts();
    await expect(withDeadline(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000, () => new Error('late'))).rejects.toThrow('boom');
    expect(activeTimeouts()).toBe(before);
  });

  it('rejects at the deadline and absorbs the late rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    let rejectLate!: (err: Error) => void;
    const slow = new Promise((_resolve, reject) => (rejectLate = reject));
    const started = Date.now();
    await expect(withDeadline(slow, 30, () => new Error('deadline'))).rejects.toThrow('deadline');
    expect(Date.now() - started).toBeLessThan(2000);
    rejectLate(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });

  it('never declares a timeout for a reply already in the socket when the event loop was late', async () => {
    // a real socket pair: the peer writes its reply (into the kernel buffer) before the loop stalls past the deadline
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    try {
      for (let round = 0; round < 5; round++) {
        const reply = new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
        const answered = withDeadline(reply, 10, () => new Error('timeout'));
        peer.write(`pong${round}`);
        blockLoop(60); // the deadline's timer is due long before the loop gets to read the socket
        await expect(answered).resolves.toBe(`pong${round}`);
      }
    } finally {
      client.destroy();
      peer.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('counts from the end of the issuing turn: a stall right after issuing does not eat the deadline', async () => {
    let answer!: (value: number) => void;
    const reply = new Promise<number>((resolve) => (answer = resolve));
    const bounded = withDeadline(reply, 20, () => new Error('timeout'));
    blockLoop(60); // the caller's own synchronous work after issuing
    setTimeout(() => answer(1), 5); // Redis answers 5 ms after the write
    await expect(bounded).resolves.toBe(1);
  });

  it('a real Redis command answered while the loop was stalled past command_timeout_ms succeeds', async () => {
    const handle = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 10, connect_timeout_ms: 2000 });
    await handle.ready(2000);
    const key = `deadline-spec:${crypto.randomUUID()}`;
    try {
      for (let i = 0; i < 5; i++) {
        const pending = handle.command('incr', key);
        blockLoop(60); // Redis (another process) answers meanwhile; ioredis has not read it yet
        await expect(pending).resolves.toBe(i + 1);
      }
    } finally {
      await handle.command('del', key);
      await closeAllRedis();
    }
  });
});

describe('RedisHandle writes (real Redis)', () => {
  it('a command leaves when it is issued, not at the end of the turn: Redis starts on it while Node works on', async () => {
    const handle = getRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, command_timeout_ms: 2000, connect_timeout_ms: 2000 });
    await handle.ready(2000);
    const key = `write-spec:${crypto.randomUUID()}`;
    const proto = net.Socket.prototype as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = jest.spyOn(proto, '_write').mockName('_write');
    const writev = jest.spyOn(proto, '_writev').mockName('_writev');
    try {
      const pending = Array.from({ length: 8 }, () => handle.command('incr', key));
      // synchronously after issuing, before this turn ends: every command is already on the socket
      const writtenInTurn = write.mock.calls.length + writev.mock.calls.length;
      const replies = await Promise.all(pending);
      expect(replies.sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(writtenInTurn).toBe(8);
    } finally {
      write.mockRestore();
      writev.mockRestore();
      await handle.command('del', key);
      await closeAllRedis();
    }
  });
});
