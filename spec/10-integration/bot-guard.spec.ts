import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KongEmulator } from '../../devkit/emulator/kong';
import { BUILT_PLUGINS } from '../../devkit/emulator/plugin-server-process';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { SERVER_KINDS, startKong, startUpstream, type TestUpstream } from '../helpers/kong-harness';
import { freePort } from '../helpers/ports';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const BROWSER_HEADERS = { 'User-Agent': CHROME, Accept: 'text/html,application/xhtml+xml', 'Accept-Language': 'en-GB,en;q=0.9', 'Accept-Encoding': 'gzip, deflate, br' };
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const SQLMAP = 'sqlmap/1.7.2#stable (https://sqlmap.org)';

/** Only this plugin, so the test does not depend on the other plugins being built. */
function pluginDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bg-plugins-'));
  fs.symlinkSync(path.join(BUILT_PLUGINS, 'bot-guard'), path.join(dir, 'bot-guard'));
  return dir;
}

const json = (body: Buffer) => JSON.parse(body.toString('utf8')) as Record<string, any>;

describe.each(SERVER_KINDS)('bot-guard through the Kong emulator (%s server)', (kind) => {
  let upstream: TestUpstream;
  let kong: KongEmulator;
  let dns: TestDnsServer;
  const dir = pluginDir();
  const lists = fs.mkdtempSync(path.join(os.tmpdir(), 'bg-lists-'));
  const prefix = `bgtest-${kind}-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    upstream = await startUpstream();
    dns = await startDnsServer({
      ptr: { '66.249.66.1': ['crawl-66-249-66-1.googlebot.com.'], '5.188.10.3': ['crawl-66-249-66-1.googlebot.com.'] },
      a: { 'crawl-66-249-66-1.googlebot.com': ['66.249.66.1'] },
    });
    fs.writeFileSync(path.join(lists, 'tor.txt'), '# Tor exit list\nExitAddress 185.220.101.1 2026-11-30 10:00:00\n');
    fs.writeFileSync(path.join(lists, 'dc.json'), JSON.stringify({ prefixes: [{ ip_prefix: '3.0.0.0/15', region: 'x' }] }));
    const deadRedisPort = await freePort();
    const plugin = (config: Record<string, unknown>) => [{ name: 'bot-guard', config }];
    const behaviour = { enabled: true, key_prefix: prefix, redis: { command_timeout_ms: 1000 } };
    const deadRedis = { enabled: true, key_prefix: prefix, redis: { port: deadRedisPort, command_timeout_ms: 50, connect_timeout_ms: 50 } };
    const routes: Array<[string, Record<string, unknown>]> = [
      ['plain', {}],
      ['verified', { verification: { dns_servers: [dns.address], timeout_ms: 500 } }],
      ['lists', { ip_lists: { deny: ['198.51.100.0/24'], allow: ['192.0.2.10'], files: [{ path: path.join(lists, 'tor.txt'), kind: 'tor' }, { path: path.join(lists, 'dc.json'), kind: 'datacenter' }] } }],
      ['traps', { behaviour: { ...behaviour, trap_paths: ['/traps/.env', '/traps/wp-admin'] } }],
      ['honeypot', { behaviour: { ...behaviour, trap_route: true } }],
      ['limited', { category_actions: { 'http-client': 'rate-limit' }, rate_limit: { requests: 2, window_seconds: 60 }, behaviour }],
      ['tarpit', { category_actions: { automation: 'tarpit' }, tarpit: { delay_ms: 300 } }],
      ['dry', { dry_run: true, headers: { score: 'X-Robot-Score' } }],
      ['open', { behaviour: { ...deadRedis, on_redis_failure: 'fail_open' } }],
      ['closed', { behaviour: { ...deadRedis, on_redis_failure: 'fail_closed' } }],
      ['peer', { client_ip: { source: 'connection' }, ip_lists: { deny: ['198.51.100.0/24'] } }],
      ['http10', { header_checks: { http_version: true } }],
    ];
    kong = await startKong({
      kind,
      pluginsDir: dir,
      workers: 2,
      config: {
        _format_version: '3.0',
        services: [{ name: 'api', url: upstream.url, routes: routes.map(([name, config]) => ({ name, paths: [`/${name}`], strip_path: false, plugins: plugin(config) })) }],
      },
    });
  }, 90_000); // a plugin server starting on a loaded machine
  afterAll(async () => {
    await kong.close();
    await upstream.close();
    await dns.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(lists, { recursive: true, force: true });
  });

  const last = () => upstream.requests[upstream.requests.length - 1];

  it('passes a browser with its verdict headers upstream in 2 PDK calls (get_headers, set_headers)', async () => {
    const res = await kong.request({ path: '/plain/x', headers: { ...BROWSER_HEADERS, 'X-Bot-Score': '0' } });
    expect(res.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-bot-score': '0', 'x-bot-category': 'browser', 'x-bot-reasons': 'none', 'x-bot-action': 'allow' });
    expect(res.context.pdkCalls).toBe(2);
  });

  it.each([
    ['curl/8.4.0'],
    ['python-requests/2.31.0'],
    ['Go-http-client/1.1'],
    ['okhttp/4.12.0'],
    ['axios/1.6.7'],
    ['Java/17.0.9'],
    ['Apache-HttpClient/4.5.14 (Java/17.0.9)'],
    ['RestSharp/110.2.0.0'],
  ])('never blocks an HTTP client library by default: %s is scored, categorised and allowed', async (ua) => {
    const res = await kong.request({ path: '/plain/api', headers: { 'User-Agent': ua, 'X-Bot-Score': '0' } });
    expect(res.status).toBe(200);
    // a client's own X-Bot-* headers are overwritten
    expect(last().headers).toMatchObject({ 'x-bot-score': '60', 'x-bot-category': 'http-client', 'x-bot-reasons': 'ua-http-client', 'x-bot-action': 'allow' });
    expect(res.context.pdkCalls).toBe(2);
  });

  it('blocks a scanner with 403 problem+json naming score, category and reasons, without reaching the upstream', async () => {
    const before = upstream.requests.length;
    const res = await kong.request({ path: '/plain/.git/config', headers: { 'User-Agent': SQLMAP } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(json(res.body)).toMatchObject({ type: 'about:blank', title: 'Forbidden', status: 403, code: 'bot-blocked', score: 100, category: 'scanner', reasons: ['ua-scanner'] });
    expect(res.headers.get('x-bot-category')).toBe('scanner');
    expect(upstream.requests.length).toBe(before);
    expect(res.context.pdkCalls).toBe(2); // get_headers, exit
  });

  it('scores a missing User-Agent (Kong\'s bot-detection lets it through unscored) and tags it', async () => {
    const res = await kong.request({ path: '/plain/x', headers: { Accept: '*/*' } });
    expect(res.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-bot-score': '70', 'x-bot-category': 'unknown', 'x-bot-reasons': 'ua-missing', 'x-bot-action': 'tag' });
  });

  it('sees a scanner User-Agent sent after 150 other header lines (Kong\'s get_headers() default drops it), and blocks 1000 lines or more as header-flood, even for a client library', async () => {
    const filler = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-Filler-${i}`, 'x']));
    const hidden = await kong.request({ path: '/plain/x', headers: { ...filler(150), 'User-Agent': SQLMAP } });
    expect([hidden.status, json(hidden.body).reasons]).toEqual([403, ['ua-scanner']]);
    const flood = await kong.request({ path: '/plain/x', headers: { 'User-Agent': 'curl/8.4.0', ...filler(1000) } });
    expect([flood.status, json(flood.body)]).toEqual([403, expect.objectContaining({ code: 'bot-blocked', score: 100, category: 'http-client', reasons: ['ua-http-client', 'header-flood'] })]);
    expect(upstream.requests.some((r) => r.headers['x-filler-0'] !== undefined && r.headers['user-agent'] === 'curl/8.4.0')).toBe(false);
  });

  it('adds header-consistency reasons: a Chrome UA whose Sec-CH-UA names another version is a bot', async () => {
    const res = await kong.request({ path: '/plain/x', headers: { ...BROWSER_HEADERS, 'Sec-CH-UA': '"Chromium";v="99", "Not A;Brand";v="8"' } });
    expect(res.status).toBe(200);
    expect(last().headers['x-bot-reasons']).toBe('sec-ch-ua-mismatch');
    const bare = await kong.request({ path: '/plain/x', headers: { 'User-Agent': CHROME } });
    expect(bare.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-bot-score': '42', 'x-bot-reasons': 'browser-no-accept,browser-no-accept-language,browser-no-accept-encoding', 'x-bot-action': 'allow' });
  });

  it('allows a Googlebot confirmed by reverse and forward DNS (3 PDK calls: the IP is read for the claim), and blocks a spoofed PTR', async () => {
    const genuine = await kong.request({ path: '/verified/page', headers: { 'User-Agent': GOOGLEBOT }, clientIp: '66.249.66.1' });
    expect(genuine.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-bot-category': 'search-crawler', 'x-bot-reasons': 'ua-search-crawler,crawler-verified', 'x-bot-action': 'allow' });
    expect(genuine.context.pdkCalls).toBe(3);

    const spoof = await kong.request({ path: '/verified/page', headers: { 'User-Agent': GOOGLEBOT }, clientIp: '5.188.10.3' });
    expect(spoof.status).toBe(403);
    expect(json(spoof.body)).toMatchObject({ category: 'spoof', score: 100, reasons: ['ua-search-crawler', 'crawler-spoof-forward'] });
  });

  it('client_ip: forwarded (default) reads the address realip put in remote_addr, connection the peer (get_ip)', async () => {
    // a trusted load balancer at 10.0.0.5 forwarded a client at 198.51.100.20 (Kong's trusted_ips + real_ip_header)
    const through = { headers: BROWSER_HEADERS, clientIp: '10.0.0.5', forwardedIp: '198.51.100.20' };
    expect((await kong.request({ path: '/lists/x', ...through })).status).toBe(403);
    expect((await kong.request({ path: '/peer/x', ...through })).status).toBe(200);
    expect((await kong.request({ path: '/peer/x', headers: BROWSER_HEADERS, clientIp: '198.51.100.20' })).status).toBe(403);
  });

  it('header_checks.http_version: a browser User-Agent over HTTP/1.0 scores browser-http10 (one more PDK call), HTTP/2 does not', async () => {
    const old = await kong.request({ path: '/http10/x', headers: BROWSER_HEADERS, httpVersion: 1.0 });
    expect(last().headers).toMatchObject({ 'x-bot-score': '30', 'x-bot-reasons': 'browser-http10' });
    expect(old.context.pdkCalls).toBe(3);
    await kong.request({ path: '/http10/x', headers: BROWSER_HEADERS, httpVersion: 2.0 });
    expect(last().headers).toMatchObject({ 'x-bot-score': '0', 'x-bot-reasons': 'none' });
  });

  it('applies IP lists: deny CIDR blocks, allow list allows, Tor and datacenter files add their reasons', async () => {
    const denied = await kong.request({ path: '/lists/x', headers: BROWSER_HEADERS, clientIp: '198.51.100.20' });
    expect(denied.status).toBe(403);
    expect(json(denied.body)).toMatchObject({ category: 'denied', reasons: ['ip-denied'] });
    const allowed = await kong.request({ path: '/lists/x', headers: { 'User-Agent': 'masscan/1.3 (https://github.com/robertdavidgraham/masscan)' }, clientIp: '192.0.2.10' });
    expect(allowed.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-bot-category': 'scanner', 'x-bot-action': 'allow' });
    const tor = await kong.request({ path: '/lists/x', headers: BROWSER_HEADERS, clientIp: '185.220.101.1' });
    expect(tor.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-bot-score': '20', 'x-bot-reasons': 'ip-tor' });
    await kong.request({ path: '/lists/x', headers: BROWSER_HEADERS, clientIp: '3.1.2.3' });
    expect(last().headers['x-bot-reasons']).toBe('ip-datacenter');
    expect(tor.context.pdkCalls).toBe(3); // get_headers, get_forwarded_ip, set_headers
  });

  it('flags a client that hits a trap path: blocked there and on every other path until the flag expires; other clients pass', async () => {
    const ip = '91.200.12.7';
    const ok = await kong.request({ path: '/traps/ok', headers: BROWSER_HEADERS, clientIp: ip });
    expect(ok.status).toBe(200);
    expect(ok.context.pdkCalls).toBe(4); // get_headers, get_path, get_forwarded_ip, set_headers (+ one Redis round trip)
    const trap = await kong.request({ path: '/traps/.env', headers: BROWSER_HEADERS, clientIp: ip });
    expect(trap.status).toBe(403);
    expect(json(trap.body).reasons).toContain('trap-hit');
    const after = await kong.request({ path: '/traps/ok', headers: BROWSER_HEADERS, clientIp: ip });
    expect(after.status).toBe(403);
    expect(json(after.body).reasons).toContain('trap-flagged');
    // the flag is shared by every config with the same key prefix
    expect((await kong.request({ path: '/plain/x', headers: BROWSER_HEADERS, clientIp: ip })).status).toBe(200);
    expect((await kong.request({ path: '/limited/x', headers: BROWSER_HEADERS, clientIp: ip })).status).toBe(403);
    expect((await kong.request({ path: '/traps/ok', headers: BROWSER_HEADERS, clientIp: '91.200.12.8' })).status).toBe(200);
  });

  it('flags every client of a honeypot route (trap_route: no path read)', async () => {
    const ip = '91.200.13.1';
    const res = await kong.request({ path: '/honeypot/wp-login.php', headers: { 'User-Agent': 'curl/8.4.0' }, clientIp: ip });
    expect(res.status).toBe(403);
    expect((await kong.request({ path: '/traps/ok', headers: { 'User-Agent': 'curl/8.4.0' }, clientIp: ip })).status).toBe(403);
  });

  it('rate-limits a category configured so, counting in the Redis velocity window (429 with Retry-After beyond the limit)', async () => {
    const ip = '91.200.14.1';
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await kong.request({ path: '/limited/x', headers: { 'User-Agent': 'curl/8.4.0' }, clientIp: ip })).status);
    expect(statuses).toEqual([200, 200, 429]);
    const res = await kong.request({ path: '/limited/x', headers: { 'User-Agent': 'curl/8.4.0' }, clientIp: ip });
    expect(json(res.body)).toMatchObject({ status: 429, code: 'bot-rate-limited', category: 'http-client' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    // browsers on the same route are not limited
    expect((await kong.request({ path: '/limited/x', headers: BROWSER_HEADERS, clientIp: ip })).status).toBe(200);
  });

  it('tarpits with a bounded delay, then proxies tagged', async () => {
    const started = Date.now();
    const res = await kong.request({ path: '/tarpit/x', headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36' } });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(last().headers['x-bot-action']).toBe('tarpit');
  });

  it('in dry-run only tags: a scanner reaches the upstream with the action it would have had', async () => {
    const res = await kong.request({ path: '/dry/x', headers: { 'User-Agent': SQLMAP } });
    expect(res.status).toBe(200);
    expect(last().headers).toMatchObject({ 'x-robot-score': '100', 'x-bot-category': 'scanner', 'x-bot-action': 'dry-run:block' });
  });

  it('fails open (behaviour-unavailable, decided on the other signals) or closed (503) when Redis cannot answer, as configured', async () => {
    const open = await kong.request({ path: '/open/x', headers: BROWSER_HEADERS, clientIp: '91.200.15.1' });
    expect(open.status).toBe(200);
    expect(last().headers['x-bot-reasons']).toBe('behaviour-unavailable');
    const closed = await kong.request({ path: '/closed/x', headers: BROWSER_HEADERS, clientIp: '91.200.15.1' });
    expect(closed.status).toBe(503);
    expect(json(closed.body)).toMatchObject({ code: 'bot-check-unavailable' });
  });
});
