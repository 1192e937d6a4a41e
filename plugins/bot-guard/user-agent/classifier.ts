import { isbotMatch, isbotPatterns } from 'isbot';
import { claimedOperator, type CrawlerOperator } from './crawlers';
import { FAMILIES, type Category } from './rules';

/** What the User-Agent alone says. Frozen and shared: the cache hands the same object to every request. */
export interface UaVerdict {
  readonly category: Category;
  readonly score: number;
  readonly reasons: readonly string[];
  /** Browser-shaped (Mozilla/5.0 (...) AppleWebKit|Gecko|Trident, Opera/Presto): header consistency applies. */
  readonly browserShaped: boolean;
  /** The browser the UA claims to be, for Sec-CH-UA consistency (undefined when not browser-shaped). */
  readonly browser?: { readonly brand: 'chrome' | 'edge' | 'opera' | 'firefox' | 'safari' | 'other'; readonly major?: number };
  /** The crawler operator the UA claims (Googlebot -> google), to verify by DNS or published ranges. */
  readonly operator?: CrawlerOperator;
}

/** Anything longer is cut before matching: every regex then runs on a bounded input. */
export const MAX_UA_LENGTH = 1024;
const CACHE_SIZE = 10_000;

/**
 * Browser engines and products that only browsers (and bots imitating them) name: a UA carrying one is judged by
 * strong tokens only, like a browser-shaped one (TVs, feature phones, consoles: NetFront, Obigo, MAUI, HbbTV...).
 */
const BROWSER_LIKE =
  /AppleWebKit\/\d|Gecko\/\d|like Gecko|Presto\/\d|Trident\/\d|Chrom(?:e|ium)[/_]\d|Firefox\/\d|Safari\/\d|Opera[ /]\d|Opera Mini|UC ?Browser|UCWEB|NetFront|Obigo|Polaris|MAUI|WAP[ -]?Browser|Dorado|Profile\/MIDP|MIDP-\d|CLDC-\d|BlackBerry|HbbTV|CE-HTML|SmartTV|NETTV|Teleca|Openwave|UP\.Browser|Jasmine|Maemo|Kindle|Silk\/|Dillo|Lynx|Links \(|w3m|ELinks|iCab|OmniWeb|Konqueror|KHTML|NetPositive|Amiga|IBrowse|AWeb|Voyager|Arachne|BrowseX|Netscape|MSIE \d|browser|^iP(?:hone|od|ad)\w*$|^dv\(iPh/i;

/** Bot names inside the platform parentheses of a browser-shaped UA; device names ("M bot 60", "Spider 8") are not. */
const PLATFORM_BOT = /(?:bot|crawler|spider|preview)\/\d|\+https?:|compatible; [^;)]*(?:bot|crawl|spider)|catchpoint|rigor\b|gomezagent|synthetics|datanyze|ips-agent|feeder\.co|mixnode|duplexweb|-google\b|https?:\/\/|mailto:|@[\w-]+\.\w|compatible; ?(?!MSIE)|crawler|\w+spider|trendiction|watchtowr|iplabel|transcoder/i;

/** After the platform segment a browser never says "compatible;" (Google-AMPHTML, pageburst, HotelAdsVerifier do). */
const TAIL_BOT = /(?:^|[ (;])compatible;/i;

const BROWSER_SHAPE =
  /^(?:Mozilla\/5\.0 \([^()]*(?:\([^()]*\)[^()]*)*\) (?:AppleWebKit\/\d|Gecko\/\d)|Mozilla\/5\.0 \([^)]*Trident\/\d[^)]*\) like Gecko|Mozilla\/[45]\.0 \(compatible; MSIE \d+\.\d+; (?:Windows|Mac|X11)[^)]*\)|Opera\/9\.\d+ \([^)]*\) Presto\/)/;

/**
 * isbot patterns that match words real browsers carry (device models such as "Discovery" or "Radar 4G", in-app
 * tokens, "http" in extension-tagged UAs, "Google TV"): on a browser-like UA a match of these alone is a weak
 * reason, not a verdict. Every other isbot pattern names a product and stays a strong signal.
 */
const GENERIC_ISBOT = new Set([
  '(?<! channel/|google/)google(?!(?:wv|app|/google| pixel))',
  '(?<!lib)http',
  'java(?!;)',
  '(?:^|[^g])news(?!sapphire)',
  'download',
  '^[\\w \\.\\-\\(?:\\):%]+(?:/v?\\d+(?:\\.\\d+)?(?:\\.\\d{1,10})*?)?(?:,|$)',
  'catch',
  '^[^ ]{50,}$',
  '\\b\\w+/1\\.0;',
  '(?<! cu)bots?(?:\\b|_)',
  '\\|',
  'chromeframe',
  'firephp',
  ';\\s\\w+;$',
  'sogou',
  'browsex',
  'discovery',
  'virtuoso',
  'radar',
  'capture',
  '\\(\\)',
  'search',
  '(?<!cam)scan',
  'cloud',
  'manager',
  'watch',
  'admin',
  'tools',
  'proxy',
  'server',
]);

function isbotIsGeneric(ua: string): boolean {
  for (const pattern of isbotPatterns(ua)) if (!GENERIC_ISBOT.has(pattern)) return false;
  return true;
}

interface CompiledFamily {
  category: Category;
  score: number;
  reason: string;
  /** Tokens tried on every UA. */
  strong: RegExp | undefined;
  /** Strong and "~" tokens: tried on UAs that are not browser-shaped. */
  any: RegExp | undefined;
}

function alternation(tokens: readonly string[]): RegExp | undefined {
  return tokens.length ? new RegExp(tokens.map((t) => `(?:${t})`).join('|'), 'i') : undefined;
}

const COMPILED: readonly CompiledFamily[] = FAMILIES.map((family) => {
  const strong = family.tokens.filter((t) => !t.startsWith('~'));
  const all = family.tokens.map((t) => (t.startsWith('~') ? t.slice(1) : t));
  return {
    category: family.category,
    score: family.score,
    reason: family.reason,
    strong: family.inBrowsers === false ? undefined : alternation(strong),
    any: alternation(all),
  };
});

const BRANDS: ReadonlyArray<[RegExp, NonNullable<UaVerdict['browser']>['brand']]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'edge'],
  [/\bOPR\/(\d+)/, 'opera'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'firefox'],
  [/\b(?:Chrome|CriOS|Chromium)\/(\d+)/, 'chrome'],
  [/\bVersion\/(\d+)[^ ]* (?:Mobile\/\w+ )?Safari\//, 'safari'],
];

function browserOf(ua: string): UaVerdict['browser'] {
  for (const [re, brand] of BRANDS) {
    const m = re.exec(ua);
    if (m) return { brand, major: Number(m[1]) };
  }
  return { brand: 'other' };
}

function freeze(verdict: UaVerdict): UaVerdict {
  Object.freeze(verdict.reasons);
  return Object.freeze(verdict);
}

const MISSING: UaVerdict = freeze({ category: 'unknown', score: 0, reasons: ['ua-missing'], browserShaped: false });

/**
 * Classifies a User-Agent into a category with a base score and reason codes. Named families first (scanner,
 * automation, AI crawler, search crawler, link preview, monitor, feed reader, HTTP client, native app, generic
 * bot words); then isbot as one more signal: on a UA that is not browser-shaped its match makes a crawler, on a
 * browser-shaped one it is a weak reason only (isbot flags words inside real browsers: "search", "cloud",
 * "admin", URLs in extension-tagged UAs). A missing UA is left to the caller's missing-UA policy.
 */
export function classifyUncached(raw: string): UaVerdict {
  const ua = raw.length > MAX_UA_LENGTH ? raw.slice(0, MAX_UA_LENGTH) : raw;
  if (ua.trim() === '') return MISSING;
  const browserShaped = BROWSER_SHAPE.test(ua);
  const browserLike = browserShaped || BROWSER_LIKE.test(ua);
  // a browser-shaped UA's platform segment names the device, whose model may contain "bot" or "spider"
  let rest = ua;
  let platformBot = false;
  if (browserShaped && ua.charCodeAt(12) === 40 /* ( */) {
    const close = ua.indexOf(") ", 13);
    if (close > 0) {
      platformBot = PLATFORM_BOT.test(ua.slice(13, close));
      rest = ua.slice(close + 1);
      if (TAIL_BOT.test(rest)) return freeze({ category: 'crawler', score: 85, reasons: ['ua-bot-token'], browserShaped });
    }
  }
  for (const family of COMPILED) {
    const re = browserLike ? family.strong : family.any;
    if (!re || !(re.test(rest) || (platformBot && re.test(ua)))) continue;
    const operator = family.category === 'search-crawler' || family.category === 'ai-crawler' || family.category === 'link-preview' ? claimedOperator(ua) : undefined;
    return freeze({
      category: family.category,
      score: family.score,
      reasons: [family.reason],
      browserShaped,
      browser: browserShaped ? browserOf(ua) : undefined,
      operator,
    });
  }
  // the platform segment names the device ("Spider 8" is a tablet): isbot reads the UA without it, unless it names a bot
  const isbotInput = rest === ua || platformBot ? ua : `Mozilla/5.0${rest}`;
  const isbotToken = isbotMatch(isbotInput);
  if (browserLike && isbotToken && !isbotIsGeneric(isbotInput)) return freeze({ category: 'crawler', score: 70, reasons: ['ua-isbot'], browserShaped });
  if (browserLike) {
    return freeze({ category: 'browser', score: isbotToken ? 5 : 0, reasons: isbotToken ? ['ua-isbot-substring'] : [], browserShaped, browser: browserOf(ua) });
  }
  if (isbotToken) return freeze({ category: 'crawler', score: 70, reasons: ['ua-isbot'], browserShaped });
  return freeze({ category: 'unknown', score: 30, reasons: ['ua-unrecognised'], browserShaped });
}

/**
 * classifyUncached behind a process-wide cache (bounded, oldest entry evicted first): a UA's verdict depends on
 * the UA alone, so every plugin instance of the process shares it.
 */
export class UaCache {
  private readonly entries = new Map<string, UaVerdict>();
  hits = 0;
  misses = 0;

  constructor(private readonly capacity = CACHE_SIZE) {}

  classify(ua: string | undefined): UaVerdict {
    if (ua === undefined) return MISSING;
    const known = this.entries.get(ua);
    if (known) {
      this.hits++;
      return known;
    }
    this.misses++;
    const verdict = classifyUncached(ua);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(ua, verdict);
    return verdict;
  }

  get size(): number {
    return this.entries.size;
  }
}

export const uaCache = new UaCache();
