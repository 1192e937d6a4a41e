import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../../../shared/observability/log';
import { isPrivateIp, parseIp } from '../ip/cidr-set';
import { listFile, type ListFile } from '../ip/list-file';
import type { BotGuardConfig } from '../schema';
import type { CrawlerOperator } from '../user-agent/crawlers';

export type VerificationStatus = 'verified' | 'spoof' | 'unverifiable';

export interface Verification {
  status: VerificationStatus;
  /** How it was decided: ranges, dns, or none (nothing to check it with). */
  method: 'ranges' | 'dns' | 'none';
  /** Reason code: crawler-verified, crawler-spoof-ptr, crawler-spoof-forward, crawler-spoof-range, dns-timeout, ... */
  reason: string;
}

interface CacheEntry {
  result: Verification;
  expires: number;
}

const CACHE_LIMIT = 50_000;

const result = (status: VerificationStatus, method: Verification['method'], reason: string): Verification => Object.freeze({ status, method, reason });

/** DNS errors that say "this name or address has no record": a definite answer, not an outage. */
const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

/**
 * Checks a crawler claim for an IP: the operator's published ranges first (synchronous), then forward-confirmed
 * reverse DNS (PTR of the IP must end in one of the operator's domains, and that name must resolve back to the IP).
 * DNS runs on node:dns's Resolver (c-ares: asynchronous, never blocks the event loop) with its own timeout, against
 * the configured servers; the request waits at most `timeout_ms` for it, after which the lookup goes on and its
 * result fills the cache for the next request. Concurrent lookups of one IP share one query; results are cached
 * (verified and spoof for cache_seconds, DNS failures for error_cache_seconds).
 */
export class CrawlerVerifier {
  private readonly resolver: Resolver;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Verification>>();
  private readonly ranges = new Map<string, ListFile[]>();
  private readonly budgetMs: number;
  private readonly ttlMs: number;
  private readonly errorTtlMs: number;

  constructor(
    config: BotGuardConfig['verification'],
    reloadMs: number,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // c-ares' own timeout per try; one try, so a dead server costs timeout_ms, not 4x with growing back-off
    this.resolver = new Resolver({ timeout: config.timeout_ms, tries: 1 });
    if (config.dns_servers?.length) this.resolver.setServers(config.dns_servers);
    this.budgetMs = config.timeout_ms;
    this.ttlMs = config.cache_seconds * 1000;
    this.errorTtlMs = config.error_cache_seconds * 1000;
    for (const { operator, path } of config.range_files ?? []) {
      const files = this.ranges.get(operator) ?? [];
      files.push(listFile(path, reloadMs, log));
      this.ranges.set(operator, files);
    }
  }

  /** Synchronous when the answer is known (ranges, cache, nothing to check with); else a promise within the budget. */
  verify(operator: CrawlerOperator, ip: string): Verification | Promise<Verification> {
    const files = this.ranges.get(operator.id);
    if (files) {
      const parsed = parseIp(ip);
      if (files.some((f) => f.set.has(parsed))) return result('verified', 'ranges', 'crawler-verified');
      if (operator.domains.length === 0) return result('spoof', 'ranges', 'crawler-spoof-range');
    }
    if (operator.domains.length === 0) return result('unverifiable', 'none', 'crawler-unverifiable');
    if (!net.isIP(ip)) return result('unverifiable', 'none', 'crawler-ip-unknown');
    if (isPrivateIp(ip)) return result('unverifiable', 'none', 'crawler-ip-private');

    const key = `${operator.id}|${ip}`;
    const cached = this.cache.get(key);
    if (cached && cached.expires > this.now()) return cached.result;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.lookup(operator, ip).then((verification) => {
        this.inflight.delete(key);
        this.remember(key, verification);
        return verification;
      });
      this.inflight.set(key, pending);
    }
    return withinBudget(pending, this.budgetMs);
  }

  private remember(key: string, verification: Verification): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
    const ttl = verification.method === 'dns' && verification.status === 'unverifiable' ? this.errorTtlMs : this.ttlMs;
    this.cache.set(key, { result: verification, expires: this.now() + ttl });
  }

  private async lookup(operator: CrawlerOperator, ip: string): Promise<Verification> {
    let names: string[];
    try {
      // resolvePtr, not reverse(): c-ares' gethostbyaddr reports every failure (SERVFAIL too) as ENOTFOUND
      names = await this.resolver.resolvePtr(ptrName(ip));
    } catch (err) {
      return dnsFailure(err, 'crawler-spoof-no-ptr');
    }
    const host = names.map((n) => n.replace(/\.$/, '').toLowerCase()).find((n) => operator.domains.some((d) => n === d || n.endsWith(`.${d}`)));
    if (!host) return result('spoof', 'dns', 'crawler-spoof-ptr');
    let addresses: string[];
    try {
      addresses = net.isIPv6(ip) ? await this.resolver.resolve6(host) : await this.resolver.resolve4(host);
    } catch (err) {
      return dnsFailure(err, 'crawler-spoof-forward');
    }
    const wanted = parseIp(ip);
    const confirmed = addresses.some((a) => {
      const got = parseIp(a);
      return got !== undefined && wanted !== undefined && got.v === wanted.v && got.n === wanted.n;
    });
    return confirmed ? result('verified', 'dns', 'crawler-verified') : result('spoof', 'dns', 'crawler-spoof-forward');
  }

  get cacheSize(): number {
    return this.cache.size;
  }
}

/** The PTR query name of an address: d.c.b.a.in-addr.arpa, or the ip6.arpa nibbles. */
export function ptrName(ip: string): string {
  const addr = ipaddr.process(ip);
  if (addr.kind() === 'ipv4') return `${(addr as ipaddr.IPv4).octets.slice().reverse().join('.')}.in-addr.arpa`;
  const hex = (addr as ipaddr.IPv6).parts.map((p) => p.toString(16).padStart(4, '0')).join('');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

function dnsFailure(err: unknown, noRecordReason: string): Verification {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (NO_RECORD.has(code)) return result('spoof', 'dns', noRecordReason);
  return result('unverifiable', 'dns', code === 'ETIMEOUT' ? 'dns-timeout' : 'dns-error');
}

const OVER_BUDGET = result('unverifiable', 'dns', 'dns-timeout');

function withinBudget(pending: Promise<Verification>, budgetMs: number): Promise<Verification> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(OVER_BUDGET), budgetMs);
    pending.then(
      (verification) => {
        clearTimeout(timer);
        resolve(verification);
      },
      () => {
        clearTimeout(timer);
        resolve(result('unverifiable', 'dns', 'dns-error'));
      },
    );
  });
}
