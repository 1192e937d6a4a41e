import ipaddr from 'ipaddr.js';

// dns2 ships no types
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dns2 = require('dns2') as any;
const { Packet } = dns2;

export interface Zone {
  /** address -> names its PTR record gives */
  ptr?: Record<string, string[]>;
  /** name -> IPv4 addresses */
  a?: Record<string, string[]>;
  /** name -> IPv6 addresses */
  aaaa?: Record<string, string[]>;
  /** names (PTR names too, as in-addr.arpa) that never get an answer: the client times out */
  silent?: string[];
  /** names answered SERVFAIL */
  servfail?: string[];
}

export interface TestDnsServer {
  /** "127.0.0.1:<port>", for Resolver.setServers / verification.dns_servers */
  address: string;
  /** Every question name received, in order. */
  queries: string[];
  zone: Zone;
  close(): Promise<void>;
}

/** The PTR query name of an address (in-addr.arpa / ip6.arpa nibbles). */
export function reverseName(ip: string): string {
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return `${(addr as ipaddr.IPv4).octets.slice().reverse().join('.')}.in-addr.arpa`;
  const hex = (addr as ipaddr.IPv6).toNormalizedString().split(':').map((p) => p.padStart(4, '0')).join('');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

/** A DNS server on 127.0.0.1 (UDP, free port) answering from `zone`, which tests may change between requests. */
export async function startDnsServer(zone: Zone): Promise<TestDnsServer> {
  const queries: string[] = [];
  const state = { zone };
  const ptrByName = () => {
    const out = new Map<string, string[]>();
    for (const [ip, names] of Object.entries(state.zone.ptr ?? {})) out.set(reverseName(ip), names);
    return out;
  };
  const server = dns2.createServer({
    udp: true,
    handle: (request: any, send: (response: any) => void) => {
      const [question] = request.questions;
      const name = String(question.name).toLowerCase();
      queries.push(name);
      const z = state.zone;
      if (z.silent?.includes(name)) return;
      const response = Packet.createResponseFromRequest(request);
      if (z.servfail?.includes(name)) {
        response.header.rcode = Packet.RCODE.SERVFAIL;
        return send(response);
      }
      const answers: any[] = [];
      if (question.type === Packet.TYPE.PTR) for (const domain of ptrByName().get(name) ?? []) answers.push({ name, type: Packet.TYPE.PTR, class: Packet.CLASS.IN, ttl: 60, domain });
      if (question.type === Packet.TYPE.A) for (const address of z.a?.[name] ?? []) answers.push({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address });
      if (question.type === Packet.TYPE.AAAA) for (const address of z.aaaa?.[name] ?? []) answers.push({ name, type: Packet.TYPE.AAAA, class: Packet.CLASS.IN, ttl: 60, address });
      const known = ptrByName().has(name) || name in (z.a ?? {}) || name in (z.aaaa ?? {});
      if (!known) response.header.rcode = Packet.RCODE.NXDOMAIN;
      response.answers.push(...answers);
      send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = server.addresses().udp.port as number;
  return {
    address: `127.0.0.1:${port}`,
    queries,
    get zone() {
      return state.zone;
    },
    set zone(next: Zone) {
      state.zone = next;
    },
    close: () => server.close() as Promise<void>,
  };
}
