import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { botGuardConfig } from '../../../bench/harness/bot-corpus';
import { fillDefaults, type KongFields } from '../../../devkit/emulator/kong-schema';
import { checkConfig, schema } from '../../../plugins/bot-guard/index';
import { CidrSet, isPrivateIp, parseIp } from '../../../plugins/bot-guard/ip/cidr-set';
import { ListFile, parseListText } from '../../../plugins/bot-guard/ip/list-file';
import { Detector, type Evidence } from '../../../plugins/bot-guard/detector';
import { Policy } from '../../../plugins/bot-guard/policy';
import { classifyUncached, UaCache } from '../../../plugins/bot-guard/user-agent/classifier';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';
const full = { accept: ['text/html'], 'accept-language': ['en'], 'accept-encoding': ['gzip'] };

function judge(overrides: Record<string, unknown>, headers: Record<string, string[]>, extra: Partial<Evidence> = {}) {
  const config = botGuardConfig(overrides);
  const detector = new Detector(config);
  const verdict = detector.judge({ headers, ua: detector.classify(headers), trapHit: false, velocityThreshold: config.behaviour.velocity_threshold, ...extra });
  return { verdict, action: new Policy(config).decide(verdict) };
}

describe('bot-guard User-Agent classification', () => {
  it.each([
    ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'scanner'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36', 'automation'],
    ['Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)', 'ai-crawler'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'search-crawler'],
    ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'link-preview'],
    ['Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', 'monitor'],
    ['curl/8.4.0', 'http-client'],
    ['Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014)', 'app'],
    ['Mozilla/5.0 (compatible; SomeCrawler/1.0; +https://example.com/crawler)', 'crawler'],
    [CHROME, 'browser'],
  ])('%s -> %s', (ua, category) => {
    expect(classifyUncached(ua).category).toBe(category);
  });

  it('keeps device names in the platform segment from making a phone a bot (CUBOT, "M bot 60", "Spider 8")', () => {
    for (const device of ['CUBOT_NOTE_S Build/LMY47I', 'M bot 60 Build/NRD90M', 'Spider 8']) {
      expect(classifyUncached(`Mozilla/5.0 (Linux; Android 7.0; ${device}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029.83 Mobile Safari/537.36`).category).toBe('browser');
    }
    // a bot name with a version in the platform segment still counts
    expect(classifyUncached('Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P; compatible; Examplebot/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36').score).toBeGreaterThanOrEqual(50);
  });

  it('treats isbot\'s generic words inside a real browser as a weak reason only (isbot #269)', () => {
    const v = classifyUncached('Mozilla/5.0 (Linux; Android 10; STK-L21 Build/HUAWEISTK-L21; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.186 Mobile Safari/537.36HiSearch/22.0.6.315');
    expect(v.category).toBe('browser');
    expect(v.score).toBeLessThan(50);
    const cloud = classifyUncached('Mozilla/5.0 (Linux; Android 13; 23028RN4DI Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 Instagram 308.0.0.36.109 Android (33/13; 320dpi; 720x1460; Xiaomi/Redmi; 23028RN4DI; cloud; mt6765; en_IN; 534961943)');
    expect([cloud.category, cloud.score < 50]).toEqual(['browser', true]);
  });

  it('caches verdicts per UA, bounded, evicting the oldest', () => {
    const cache = new UaCache(2);
    const a = cache.classify('curl/8.4.0');
    expect(cache.classify('curl/8.4.0')).toBe(a);
    cache.classify('Wget/1.21');
    cache.classify('HTTPie/3.2.2');
    expect(cache.size).toBe(2);
    expect(cache.classify('curl/8.4.0')).not.toBe(a); // evicted, classified again
    expect(Object.isFrozen(a) && Object.isFrozen(a.reasons)).toBe(true);
  });
});

describe('bot-guard detector and policy', () => {
  it('scores header inconsistencies of browser UAs, never past the threshold on their own', () => {
    expect(judge({}, { 'user-agent': [CHROME] }).verdict).toMatchObject({ score: 42, category: 'browser' });
    expect(judge({}, { 'user-agent': [FIREFOX], ...full, 'sec-ch-ua': ['"Chromium";v="124"'] }).verdict.reasons).toEqual(['sec-ch-ua-mismatch']);
    expect(judge({}, { 'user-agent': [CHROME], ...full, 'sec-ch-ua': ['"Chromium";v="124", "Google Chrome";v="124"'] }).verdict.reasons).toEqual([]);
    expect(judge({}, { 'user-agent': [CHROME], ...full, 'sec-ch-ua': ['"HeadlessChrome";v="124"'] }).verdict.score).toBe(60);
    expect(judge({}, { 'user-agent': ['curl/8.4.0'], 'sec-fetch-mode': ['cors'] }).verdict.reasons).toEqual(['ua-http-client', 'sec-fetch-non-browser']);
    expect(judge({}, { 'user-agent': [CHROME], ...full }, { httpVersion: 1.0 }).verdict.reasons).toEqual(['browser-http10']);
    expect(judge({ header_checks: { enabled: false } }, { 'user-agent': [CHROME] }).verdict.score).toBe(0);
  });

  it('applies the missing-UA policy, operator lists and weights', () => {
    expect(judge({}, {}).verdict).toMatchObject({ score: 70, reasons: ['ua-missing'] });
    expect(judge({ user_agents: { missing: 'block' } }, {}).action).toBe('block');
    expect(judge({ user_agents: { missing: 'allow' } }, {}).action).toBe('allow');
    expect(judge({ user_agents: { deny: ['^curl/'] } }, { 'user-agent': ['curl/8.4.0'] })).toMatchObject({ action: 'block', verdict: { category: 'denied' } });
    expect(judge({ user_agents: { allow: ['sqlmap'] } }, { 'user-agent': ['sqlmap/1.7'] }).action).toBe('allow');
    expect(judge({ user_agents: { deny: ['^CURL/'] } }, { 'user-agent': ['curl/8.4.0'] }).action).toBe('block'); // case-insensitive
    // many long patterns: more than one RE2 program (MAX_PATTERN_LENGTH), any of them matches
    const many = Array.from({ length: 40 }, (_, i) => `^agent-${i}-${'x'.repeat(200)}$`).concat('evil-bot');
    expect(judge({ user_agents: { deny: many } }, { 'user-agent': ['my evil-bot/1'] }).action).toBe('block');
    expect(judge({ user_agents: { deny: many } }, { 'user-agent': [`agent-39-${'x'.repeat(200)}`] }).action).toBe('block');
    expect(judge({ user_agents: { deny: many } }, { 'user-agent': [FIREFOX], ...full }).action).not.toBe('block');
    expect(judge({ weights: { 'ip-datacenter': 60 } }, { 'user-agent': [CHROME], ...full }, { ip: { allow: false, deny: false, datacenter: true, tor: false } }).verdict.score).toBe(60);
  });

  it('decides by category first, then by the score ladder; verified crawlers and client libraries are allowed', () => {
    const googlebot = { 'user-agent': ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'] };
    expect(judge({}, googlebot, { verification: { status: 'verified', method: 'dns', reason: 'crawler-verified' } }).action).toBe('allow');
    expect(judge({}, googlebot, { verification: { status: 'spoof', method: 'dns', reason: 'crawler-spoof-ptr' } })).toMatchObject({ action: 'block', verdict: { category: 'spoof', score: 100 } });
    expect(judge({}, googlebot, { verification: { status: 'unverifiable', method: 'dns', reason: 'dns-timeout' } }).action).toBe('tag');
    expect(judge({}, { 'user-agent': ['Go-http-client/1.1'] }, { ip: { allow: false, deny: false, datacenter: true, tor: true } }).action).toBe('allow');
    const ladder = { score_actions: [{ min_score: 50, action: 'tag' }, { min_score: 90, action: 'tarpit' }] };
    expect(judge(ladder, { 'user-agent': ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36'] }).action).toBe('tarpit');
    expect(judge({ category_actions: { 'http-client': 'block' } }, { 'user-agent': ['curl/8.4.0'] }).action).toBe('block');
  });

  it('lets traps and velocity from behaviour decide, and says when behaviour was unavailable', () => {
    expect(judge({}, { 'user-agent': ['curl/8.4.0'] }, { trapHit: true })).toMatchObject({ action: 'block', verdict: { score: 100, reasons: ['ua-http-client', 'trap-hit'] } });
    expect(judge({}, { 'user-agent': [CHROME], ...full }, { behaviour: { source: 'redis', count: 1, flagged: true } }).verdict.reasons).toEqual(['trap-flagged']);
    expect(judge({}, { 'user-agent': [CHROME], ...full }, { behaviour: { source: 'redis', count: 500, flagged: false } }).verdict).toMatchObject({ score: 35, reasons: ['velocity-high'] });
    expect(judge({}, { 'user-agent': [CHROME], ...full }, { behaviour: { source: 'unavailable', reason: 'timeout' } }).verdict.reasons).toEqual(['behaviour-unavailable']);
  });

  it('a catastrophic-on-V8 deny pattern runs in linear time on a long User-Agent', () => {
    const started = performance.now();
    const result = judge({ user_agents: { deny: ['(a*){12}$'.replace('$', '!$')] } }, { 'user-agent': ['a'.repeat(64 * 1024)] });
    expect(result.action).not.toBe('block');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses unsafe UA regexes, bad CIDRs and DNS servers when the config is checked', () => {
    const problems = (config: Record<string, unknown>) => checkConfig(botGuardConfigRaw(config));
    expect(problems({ user_agents: { deny: ['curl(?=/)'] } }).join()).toMatch(/user_agents\.deny\[0\].*lookahead/);
    expect(problems({ user_agents: { allow: ['ok', '(x)\\1'] } }).join()).toMatch(/user_agents\.allow\[1\].*backreferences/);
    expect(problems({ user_agents: { deny: ['(a+)+$', '(a*){12}$'] } })).toEqual([]); // RE2: linear time
    expect(problems({ ip_lists: { deny: ['10.0.0.0/33'] } }).join()).toMatch(/ip_lists\.deny\[0\]/);
    expect(problems({ verification: { dns_servers: ['dns.example.com'] } }).join()).toMatch(/verification\.dns_servers\[0\]/);
    expect(problems({ verification: { dns_servers: ['127.0.0.1:5353', '[::1]:53'] } })).toEqual([]);
  });
});

/** The raw config Kong would send (defaults filled), for checkConfig. */
function botGuardConfigRaw(overrides: Record<string, unknown>): Record<string, unknown> {
  return fillDefaults(schema.kong as unknown as KongFields, overrides);
}

describe('bot-guard IP lists', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses against CIDRs of any prefix length', () => {
    const set = CidrSet.of(['66.249.64.0/19', '2001:4860:4801:10::/64', '203.0.113.7', '::ffff:198.51.100.0/120', 'not-an-ip']);
    expect(set.size).toBe(4);
    for (const ip of ['66.249.64.1', '66.249.95.255', '2001:4860:4801:10::abcd', '203.0.113.7', '::ffff:66.249.70.1', '198.51.100.200']) expect([ip, set.has(parseIp(ip))]).toEqual([ip, true]);
    for (const ip of ['66.249.96.0', '2001:4860:4801:11::1', '203.0.113.8', 'garbage']) expect([ip, set.has(parseIp(ip))]).toEqual([ip, false]);
    expect(isPrivateIp('127.0.0.1') && isPrivateIp('10.0.0.1') && isPrivateIp('::1') && !isPrivateIp('66.249.66.1')).toBe(true);
  });

  it('reads the list formats operators publish: Google/Bing JSON, AWS ip-ranges, JSON arrays, text lists and Tor exit-addresses', () => {
    expect(parseListText(JSON.stringify({ creationTime: 'x', prefixes: [{ ipv4Prefix: '66.249.64.0/27' }, { ipv6Prefix: '2001:4860:4801:10::/64' }] })).set.size).toBe(2);
    expect(parseListText(JSON.stringify({ syncToken: '1', prefixes: [{ ip_prefix: '3.0.0.0/15', region: 'eu' }], ipv6_prefixes: [{ ipv6_prefix: '2600:1f00::/24' }] })).set.size).toBe(2);
    expect(parseListText(JSON.stringify(['1.2.3.0/24', '5.6.7.8'])).set.size).toBe(2);
    const text = parseListText('# comment\n1.2.3.4\n\nExitNode 0011\nExitAddress 185.220.101.1 2026-11-30 10:00:00\n10.0.0.0/8 # office\nbogus line\n');
    expect([text.set.size, text.skipped]).toEqual([3, 2]);
  });

  it('keeps the last good content of a list file that becomes unreadable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bg-list-'));
    const file = path.join(dir, 'deny.txt');
    fs.writeFileSync(file, '1.2.3.4\n');
    const list = new ListFile(file, pino({ level: 'silent' }));
    expect(list.set.has(parseIp('1.2.3.4'))).toBe(true);
    fs.rmSync(file);
    expect(list.reload()).toBe(false);
    expect(list.set.has(parseIp('1.2.3.4'))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
