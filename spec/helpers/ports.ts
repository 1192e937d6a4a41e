import fs from 'node:fs';
import net from 'node:net';

/**
 * Ports for test servers that bind later (a plugin server's --metrics-port, a redis-server, a port where nothing
 * must listen) come from below the kernel's ephemeral range. A port from that range (what listen(0) hands out) is
 * also every outgoing connection's local port: between the probe and the real bind, or across a kill and restart on
 * the same port, a client socket or a TIME_WAIT left by a load test can hold it, and the bind fails with
 * EADDRINUSE. Below the range only tests pick ports; the random choice and the probe keep them apart.
 */
function ephemeralStart(): number {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 12000) return low;
  } catch {
    // not Linux: IANA's dynamic range starts at 49152
  }
  return 32768;
}

export const TEST_PORT_MIN = 10000;
export const TEST_PORT_END = Math.min(ephemeralStart(), 49152);

export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A random port in [min, end) free on 127.0.0.1 right now (and, for each offset, port + offset too). */
export async function freePortBelowEphemeral(offsets: readonly number[] = [], taken: ReadonlySet<number> = new Set(), min = TEST_PORT_MIN, end = TEST_PORT_END): Promise<number> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = min + Math.floor(Math.random() * (end - min));
    const ports = [port, ...offsets.map((offset) => port + offset)];
    if (ports.some((p) => taken.has(p) || p >= 65536)) continue;
    let free = true;
    for (const p of ports) if (!(free = await canListen(p))) break;
    if (free) return port;
  }
  throw new Error(`no free port in [${min}, ${end}) after 1000 attempts`);
}

/** A port free on 127.0.0.1 right now (probed, then released): nothing listens on it until a test does. */
export function freePort(): Promise<number> {
  return freePortBelowEphemeral();
}
