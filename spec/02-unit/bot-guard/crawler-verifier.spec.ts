import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { botGuardConfig } from '../../../bench/harness/bot-corpus';
import { listFile } from '../../../plugins/bot-guard/ip/list-file';
import { operatorById } from '../../../plugins/bot-guard/user-agent/crawlers';
import { CrawlerVerifier, type Verification } from '../../../plugins/bot-guard/verify/crawler-verifier';
import { startDnsServer, type TestDnsServer } from '../../helpers/dns-server';

const log = pino({ level: 'silent' });
const google = operatorById('google')!;
const bing = operatorById('bing')!;
const openai = operatorById('openai')!;

describe('CrawlerVerifier: forward-confirmed reverse DNS against a local DNS server (dns2 on 127.0.0.1)', () => {
  let dns: TestDnsServer;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bot-guard-ranges-'));

  beforeAll(async () => {
    dns = await startDnsServer({
      ptr: {
        '66.249.66.1': ['crawl-66-249-66-1.googlebot.com.'],
        '5.188.10.3': ['crawl-66-249-66-1.googlebot.com.'], // spoofed PTR: the attacker controls this reverse zone
        '45.83.64.9': ['scanner.example.net.'],
        '157.55.39.10': ['msnbot-157-55-39-10.search.msn.com.'],
        '2001:4860:4801:10::a': ['crawl-2001-4860-4801-10--a.googlebot.com.'],
      },
      a: { 'crawl-66-249-66-1.googlebot.com': ['66.249.66.1'], 'msnbot-157-55-39-10.search.msn.com': ['157.55.39.10'] },
      aaaa: { 'crawl-2001-4860-4801-10--a.googlebot.com': ['2001:4860:4801:10::a'] },
      silent: ['7.7.113.91.in-addr.arpa'],
      servfail: ['8.8.113.91.in-addr.arpa'],
    });
  });
  afterAll(async () => {
    await dns.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const verifier = (overrides: Record<string, unknown> = {}) =>
    new CrawlerVerifier(botGuardConfig({ verification: { dns_servers: [dns.address], timeout_ms: 300, ...overrides } }).verification, 60_000, log);

  it('verifies a genuine crawler: the PTR is in the operator domain and its forward lookup gives the IP back; then answers from cache', async () => {
    const v = verifier();
    await expect(v.verify(google, '66.249.66.1')).resolves.toEqual({ status: 'verified', method: 'dns', reason: 'crawler-verified' });
    const before = dns.queries.length;
    expect(v.verify(google, '66.249.66.1')).toEqual({ status: 'verified', method: 'dns', reason: 'crawler-verified' }); // synchronous
    expect(dns.queries.length).toBe(before);
    await expect(v.verify(bing, '157.55.39.10')).resolves.toMatchObject({ status: 'verified' });
    await expect(v.verify(google, '2001:4860:4801:10::a')).resolves.toMatchObject({ status: 'verified', method: 'dns' });
  });

  it('calls a spoofed PTR a spoof: the name claims googlebot.com but its forward lookup does not confirm the IP', async () => {
    await expect(verifier().verify(google, '5.188.10.3')).resolves.toEqual({ status: 'spoof', method: 'dns', reason: 'crawler-spoof-forward' });
  });

  it('calls a PTR outside the operator domains, or no PTR at all, a spoof', async () => {
    await expect(verifier().verify(google, '45.83.64.9')).resolves.toEqual({ status: 'spoof', method: 'dns', reason: 'crawler-spoof-ptr' });
    await expect(verifier().verify(google, '45.83.64.10')).resolves.toEqual({ status: 'spoof', method: 'dns', reason: 'crawler-spoof-no-ptr' });
  });

  it('keeps to its time budget when the server never answers, without blocking the event loop, and calls it unverifiable', async () => {
    const v = verifier({ timeout_ms: 150 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const started = Date.now();
    const result = await v.verify(google, '91.113.7.7');
    const elapsed = Date.now() - started;
    clearInterval(ticker);
    expect(result).toEqual({ status: 'unverifiable', method: 'dns', reason: 'dns-timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(400);
    expect(ticks).toBeGreaterThanOrEqual(8); // timers kept running while DNS was pending
  });

  it('treats SERVFAIL as an outage (unverifiable, retried after error_cache_seconds), not as a spoof', async () => {
    await expect(verifier().verify(google, '91.113.8.8')).resolves.toEqual({ status: 'unverifiable', method: 'dns', reason: 'dns-error' });
  });

  it('shares one lookup between concurrent requests for the same IP', async () => {
    const v = verifier();
    const before = dns.queries.filter((q) => q === '1.66.249.66.in-addr.arpa').length;
    const [a, b] = await Promise.all([v.verify(google, '66.249.66.1'), v.verify(google, '66.249.66.1')]);
    expect(a).toEqual(b);
    expect(dns.queries.filter((q) => q === '1.66.249.66.in-addr.arpa').length).toBe(before + 1);
  });

  it('never asks DNS about private or loopback addresses (a proxy without real_ip configuration): unverifiable', () => {
    const before = dns.queries.length;
    expect(verifier().verify(google, '127.0.0.1')).toEqual({ status: 'unverifiable', method: 'none', reason: 'crawler-ip-private' });
    expect(verifier().verify(google, '10.1.2.3')).toMatchObject({ reason: 'crawler-ip-private' });
    expect(dns.queries.length).toBe(before);
  });

  it('verifies from a published range file without DNS (Google\'s format), and reloads it when it changes', async () => {
    const file = path.join(dir, 'googlebot.json');
    fs.writeFileSync(file, JSON.stringify({ creationTime: '2026-11-30T00:00:00.000000', prefixes: [{ ipv6Prefix: '2001:4860:4801:10::/64' }, { ipv4Prefix: '66.249.64.0/27' }] }));
    const v = verifier({ range_files: [{ operator: 'google', path: file }] });
    const before = dns.queries.length;
    expect(v.verify(google, '66.249.64.7')).toEqual({ status: 'verified', method: 'ranges', reason: 'crawler-verified' });
    expect(v.verify(google, '2001:4860:4801:10::99')).toMatchObject({ status: 'verified', method: 'ranges' });
    expect(dns.queries.length).toBe(before);
    // an address outside the file: Google also documents reverse DNS, so DNS decides
    await expect(v.verify(google, '66.249.66.1')).resolves.toMatchObject({ status: 'verified', method: 'dns' });

    fs.writeFileSync(file, JSON.stringify({ prefixes: [{ ipv4Prefix: '66.249.90.0/24' }] }));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(listFile(file, 60_000, log).reload()).toBe(true);
    expect(v.verify(google, '66.249.90.1')).toMatchObject({ status: 'verified', method: 'ranges' });
  });

  it('decides an operator without reverse DNS (OpenAI) from its range file alone: outside is a spoof', () => {
    const file = path.join(dir, 'gptbot.json');
    fs.writeFileSync(file, JSON.stringify({ prefixes: [{ ipv4Prefix: '20.171.206.0/24' }] }));
    const v = verifier({ range_files: [{ operator: 'openai', path: file }] });
    expect(v.verify(openai, '20.171.206.9')).toEqual({ status: 'verified', method: 'ranges', reason: 'crawler-verified' });
    expect(v.verify(openai, '3.3.3.3')).toEqual({ status: 'spoof', method: 'ranges', reason: 'crawler-spoof-range' });
    // without a file there is nothing to check it with
    expect(verifier().verify(openai, '3.3.3.3')).toEqual({ status: 'unverifiable', method: 'none', reason: 'crawler-unverifiable' } satisfies Verification);
  });
});
