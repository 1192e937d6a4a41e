import ipaddr from 'ipaddr.js';

/** A parsed client address: IPv4 as a uint32, IPv6 as a BigInt (IPv4-mapped IPv6 is taken as IPv4). */
export type ParsedIp = { v: 4; n: number } | { v: 6; n: bigint };

export function parseIp(text: string): ParsedIp | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const addr = ipaddr.process(text);
  if (addr.kind() === 'ipv4') {
    const b = addr.toByteArray();
    return { v: 4, n: ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0 };
  }
  let n = 0n;
  for (const part of (addr as ipaddr.IPv6).parts) n = (n << 16n) | BigInt(part);
  return { v: 6, n };
}

/** Loopback, private, link-local, unique-local and other non-routable ranges: no crawler comes from there. */
export function isPrivateIp(text: string): boolean {
  if (!ipaddr.isValid(text)) return false;
  return ipaddr.process(text).range() !== 'unicast';
}

const mask4 = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
const mask6 = (bits: number): bigint => (bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n));

/**
 * A set of CIDR ranges answering membership in at most one Set lookup per distinct prefix length present (<= 33
 * for IPv4, <= 129 for IPv6, in practice a handful): no scan over the ranges, whatever their number.
 */
export class CidrSet {
  private readonly v4 = new Map<number, Set<number>>();
  private readonly v6 = new Map<number, Set<bigint>>();
  private count = 0;

  /** Adds an address or CIDR; returns false (and adds nothing) when it is neither. */
  add(text: string): boolean {
    const trimmed = text.trim();
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    let bits: number;
    try {
      if (trimmed.includes('/')) [addr, bits] = ipaddr.parseCIDR(trimmed);
      else {
        addr = ipaddr.parse(trimmed);
        bits = addr.kind() === 'ipv4' ? 32 : 128;
      }
    } catch {
      return false;
    }
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
      bits -= 96;
    }
    const parsed = parseIp(addr.toString()) as ParsedIp;
    if (parsed.v === 4) {
      let set = this.v4.get(bits);
      if (!set) this.v4.set(bits, (set = new Set()));
      set.add((parsed.n & mask4(bits)) >>> 0);
    } else {
      let set = this.v6.get(bits);
      if (!set) this.v6.set(bits, (set = new Set()));
      set.add(parsed.n & mask6(bits));
    }
    this.count++;
    return true;
  }

  has(ip: ParsedIp | undefined): boolean {
    if (!ip) return false;
    if (ip.v === 4) {
      for (const [bits, set] of this.v4) if (set.has((ip.n & mask4(bits)) >>> 0)) return true;
      return false;
    }
    for (const [bits, set] of this.v6) if (set.has(ip.n & mask6(bits))) return true;
    return false;
  }

  get size(): number {
    return this.count;
  }

  static of(entries: Iterable<string>): CidrSet {
    const set = new CidrSet();
    for (const entry of entries) set.add(entry);
    return set;
  }
}
