/**
 * User-Agent families: pure data, like Kong's bot-detection/rules.lua, but grouped by what the client is rather
 * than "bot or not". Each family is one case-insensitive alternation compiled once (classifier.ts); families are
 * tried in the order of FAMILIES, the first match names the category. Patterns are literal tokens as the operators
 * publish them (their documentation or their UA strings), not guesses at substrings: "bot" alone is the generic
 * family, tried after every named one, and guarded against device names that contain it (CUBOT phones).
 */
export const CATEGORIES = [
  'browser',
  'search-crawler',
  'ai-crawler',
  'link-preview',
  'monitor',
  'feed-reader',
  'scanner',
  'automation',
  'crawler',
  'http-client',
  'app',
  'unknown',
  'spoof',
  'denied',
  'allowed',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Family {
  category: Category;
  /** Score of a User-Agent in this family before any other signal. */
  score: number;
  /** Reason code added when the family matches. */
  reason: string;
  /**
   * Tokens, as regex sources. A token prefixed with "~" is only tried on User-Agents that are not browser-shaped
   * (a word such as "feed", "monitor" or a URL inside a real browser's UA is an in-app token, not a bot: isbot
   * #229, #269); the others are names no browser carries.
   */
  tokens: readonly string[];
  /** false: the family is never tried on a browser-shaped User-Agent (libraries and apps do not look like one). */
  inBrowsers?: boolean;
}

/** Vulnerability scanners and mass scanners: nobody legitimate sends these at an API. */
const SCANNERS = [
  'sqlmap', 'nikto', 'nuclei', 'zgrab', 'masscan', 'nmap scripting engine', '\\bnmap\\b', 'wpscan', 'dirbuster', 'gobuster', '\\bffuf\\b',
  'fuzz faster u fool', 'feroxbuster', 'wfuzz', 'acunetix', 'netsparker', 'openvas', 'nessus', '~qualys', 'burp(?:suite|collaborator)?\\b',
  '\\bw3af', 'arachni', 'whatweb', '\\bdirb\\b', '~hydra', 'zmeu', 'morfeus', 'jorgee', 'xsstrike', 'commix', 'jaeles', 'l9explore',
  'l9tcpid', 'l9scan', 'leakix', 'censysinspect', 'expanse, a palo alto', 'internet-?measurement', 'netsystemsresearch', 'modatscanner',
  'projectdiscovery', 'httpx - open-source', 'detectify', '~sysscan', 'zmap', 'scaninfo@', 'security ?scanner', 'vuln(?:erability)? ?scan',
  '\\.env\\b', 'reaver', '\\bscanning\\b', 'cookiehubscan', 'contentscan', '_scanner\\b', 'scanner\\.', '~grabber', '~paros', '~webinspect', '~appscan', 'skipfish', '~vega/', 'uniscan', 'joomscan', 'droopescan', 'cmsmap', 'muieblackcat',
  '~fasthttp', '~ALittle Client', '~keydrop', '~hello,? world', '~xfa1', 'mozilla/5\\.0 zgrab', '~scan(?:ner)?\\.(?:com|io|net|org)', 'odin\\.io',
  'onyphe', 'shodan', 'binaryedge', 'criminalip', '~natlas', '~recog', 'stretchoid', 'internetcensus', 'bitsightbot', 'cortex xpanse',
];

/** Headless browsers and browser automation frameworks. */
const AUTOMATION = [
  'headlesschrome', 'headless', 'phantomjs', 'slimerjs', 'puppeteer', 'playwright', 'selenium', 'webdriver', 'cypress/', 'jsdom/', 'htmlunit',
  'zombie\\.js', '~splash\\b', 'prerender', 'rendertron', 'wkhtmlto(?:pdf|image)', '~browserless', 'electron/.*\\bnightmare', 'nightmare',
  'casperjs', 'apify', 'scrapingbee', 'scraperapi', '~crawlera', '~zyte', 'scrapy', '~colly', 'node-?crawler', 'crawlee', '~mechanize',
  'httrack', '~webcopier', '~webzip', '~offline explorer', '~teleport ?pro', '~sitesucker', '~wget.*recursive', '~webreaper',
];

/** Crawlers feeding AI models or AI assistants (operators publish these names for robots.txt). */
const AI_CRAWLERS = [
  'gptbot', 'chatgpt-user', 'oai-searchbot', 'claudebot', 'claude-web', 'claude-user', 'claude-searchbot', 'anthropic-ai', 'perplexitybot',
  'perplexity-user', '\\bccbot', 'bytespider', 'amazonbot', 'cohere-ai', 'cohere-training-data-crawler', 'diffbot', 'youbot',
  'meta-externalagent', 'meta-externalfetcher', 'facebookbot', 'imagesiftbot', 'omgilibot', 'omgili', 'timpibot', 'ai2bot', 'duckassistbot',
  'mistralai-user', 'kangaroo bot', 'pangubot', 'iaskspider', 'webzio-extended', 'velenpublicwebcrawler', 'tiktokspider', 'brightbot',
  'img2dataset', 'friendlycrawler', 'novellum', 'google-extended', 'applebot-extended', 'gemini-deep-research', 'googleagent-mariner',
  'phindbot', 'andibot', 'kagibot', 'exabot-thumbnails', 'openai', 'petalbot-ai', 'cloudvertexbot', 'sentibot', 'quillbot', 'linerbot',
  'wrtnbot', 'satoribot', 'echobot', 'poseidon research crawler', 'awario', 'thinkbot', 'aihitbot', 'factset_spyderbot',
];

/** Search engine crawlers: the names that claim an operator we can verify (crawlers.ts). */
const SEARCH_CRAWLERS = [
  'googlebot', 'google-inspectiontool', 'googleother', 'adsbot-google', 'mediapartners-google', 'apis-google', 'storebot-google',
  'google-site-verification', 'google favicon', 'googleproducer', 'google-read-aloud', 'feedfetcher-google', 'google-safety',
  'bingbot', 'msnbot', 'adidxbot', 'bingpreview', 'applebot', 'duckduckbot', 'duckduckgo-favicons-bot', 'yandex(?:bot|images|video|mobilebot|metrika|direct|webmaster|accessibilitybot|renderresourcesbot|adnet|blogs|fordomain|market|media|news|pagechecker|searchshop|sitelinks|spravbot|turbo|vertis|verticals|additional|\\w*bot)',
  'baiduspider', 'baidu-yunguance', 'sogou\\b.*spider', 'sogou (?:web|pic|news|video|orion|inst)', '360spider', 'haosouspider', '\\byeti/', 'naverbot', 'seznambot', 'qwantify', 'qwantbot',
  'petalbot', 'coccocbot', 'exabot', 'mojeekbot', 'yahoo! slurp', 'slurp', 'daum(?:oa)?[ /]', 'yisouspider', 'bravebot',
  '\\bgoogle-(?!tv\\b)[a-z]', '-google\\b', 'google_partner', 'googleweblight', 'google search console', 'googleimageproxy', 'google web preview',
  'google page speed', 'teoma', 'ask jeeves', 'gigabot', 'ia_archiver', 'archive\\.org_bot', 'heritrix', 'yacybot', 'marginalia', 'stractbot', 'mojeek',
];

/** Fetchers that build a link preview when a URL is posted in a chat or social app. */
const LINK_PREVIEWS = [
  'facebookexternalhit', 'facebookcatalog', 'facebot', 'twitterbot', 'linkedinbot', 'slackbot', 'slack-imgproxy', 'discordbot',
  'telegrambot', '^whatsapp/', 'pinterestbot', 'pinterest/[\\d.]+ \\(\\+https?:', 'redditbot', 'embedly', 'iframely', 'skypeuripreview', 'skype uri preview',
  '~vkshare', '~^snapchat', 'snap url preview', '~mastodon/', '~pleroma', '~misskey', '~akkoma', 'bitlybot', '~tumblr', '~nuzzel', '~flipboard',
  'kakaotalk-scrap', '~kakao-?(?:scrap|preview)', 'line-poker', 'yahoo link preview', '~microsoftpreview', '~msteams|teams ?preview',
  'bluesky cardyb', '~cardyb', 'google-pagerenderer', '~opengraph', '~outbrain', 'quora link preview', '~snapchat/.*preview', '~zoom ?(?:bot|preview)',
  '~rocket\\.chat', '~mattermost', '~zulip', '~synapse \\(bot', '~matrix', '~applenewsbot', '~threads(?:bot)?/', '~pocketparser', 'xing-contenttabreceiver',
  '~whatsapp', '~signal', '~instapaper', '~slack/', 'embed(?:ly|bot)', 'preview(?:bot|service)', 'link ?preview', 'linkexpand',
];

/** Uptime, performance and health checkers. */
const MONITORS = [
  'splunk synthetics', 'syntheticsagent', 'synthetics\\b', 'thousandeyes', 'uptime/\\d', 'uptimedoctor', 'yottaamonitor', 'dareboost', 'dejaclick',
  'neustar', 'securityheaders', 'notifyninja', 'cloudflareobservatory', 'rigor\\b', 'ips-agent', 'datanyze', 'mixnode', 'pingdom', 'uptimerobot', 'statuscake', 'site24x7', 'newrelicpinger', 'datadog(?:/synthetics| synthetics|synthetics)', '~better ?uptime',
  '~betterstack', '~uptime-kuma', 'checkly', '~stackdriver', 'route53-health-check', '~elb-healthchecker', '~kube-probe', '~googlehc',
  '~blackbox.exporter', '~zabbix', '~nagios', '~check_http', '~monitoring-plugins', 'chrome-lighthouse', 'lighthouse', '\\bptst/', 'gtmetrix',
  'catchpoint', '~dynatrace', 'ruxitsynthetic', '~freshping', '~hetrixtools', '~monitis', '~uptime\\.com', '~updown\\.io', '~nodeping',
  'cloudflare-(?:healthchecks|traffic-manager|alwaysonline)', 'w3c_validator', 'w3c-checklink', '~validator\\.nu', 'xenu', '~linkchecker',
  '~siteimprove', 'pagespeed', '~speedcurve', '~webpagetest', '~uptime', '~monitor', '~healthcheck', '~health-check', '~pingbot', '~alertsite',
  'gomezagent', '~keynote', '~sitescope', '~paessler', '~prtg', '~icinga', '~sensu', '~consul health', '~envoy/hc', '~haproxy', '~nginx-?healthcheck',
  '~azure traffic manager', '~alwaysonline', '~site ?monitor', '~statusdroid', '~apachebench', '~httpmonitor', '~jetmon', '~montastic',
];

/** Feed readers and aggregators (polling automatically for a subscriber). */
const FEED_READERS = [
  'feedly', 'feedbin', 'inoreader', 'newsblur', 'tiny tiny rss', 'miniflux', 'freshrss', 'feedburner', 'feedfetcher', 'feedspot', 'theoldreader',
  'superfeedr', 'simplepie', 'feedparser', 'feedvalidator', 'bloglovin', 'netvibes', 'newsgator', '~aggregator', '~netnewswire', '~reeder/',
  '~rssowl', '~liferea', '~newsboat', '~\brss\b', '~feed',
];

/**
 * HTTP client libraries and command-line tools: the traffic an API exists for. Scored as automated (they are not
 * browsers) but allowed by default and never blocked by a default (Kong/kong#6626 blocked axios and
 * Go-http-client).
 */
const HTTP_CLIENTS = [
  '^curl/', 'libcurl', '^wget/', 'python-requests', 'python-urllib', '^python/', 'python-httpx', 'aiohttp', 'httplib2', 'urllib3',
  'go-http-client', '^go ', 'okhttp', '^axios/', 'axios/\\d', 'node-fetch', '^undici', '^got\\b', 'node-superagent', 'superagent',
  '^node/', 'needle/', 'request/', '^java/', 'java-http-client', 'apache-httpclient', 'jakarta commons-httpclient', 'httpcomponents',
  'google-http-java-client', 'resttemplate', 'okhttp3', 'ktor-client', 'vert\\.x', 'async-http-client',
  'microsoft\\.net', 'restsharp', 'system\\.net', 'windowspowershell', 'powershell', 'winhttp', 'microsoft bits',
  'postmanruntime', 'insomnia', 'httpie', 'hoppscotch', 'thunder client', 'paw/', 'rapidapi', 'libwww-perl', 'lwp::', 'lwp-',
  'www-mechanize', 'guzzle', '^php/', 'php-curl', 'symfony httpclient', 'faraday', '^ruby', 'rest-client', 'http\\.rb', 'httparty', 'typhoeus',
  'excon', '^dart/', 'dart:io', 'dio/', 'reqwest', 'hyper/', 'ureq/', 'isahc', 'surf/', 'aws-sdk', 'aws-cli', 'boto3', 'botocore', 'gcloud',
  'google-api-(?:python|go|java|nodejs)-client', 'azure-sdk', 'azsdk', 'grpc-', '^deno/', '^bun/', 'k6/', 'jmeter', 'gatling', 'artillery',
  'locust', 'vegeta', '\\bwrk\\b', '\\bhey/', 'autocannon', 'siege/', 'alamofire', 'afnetworking', 'cpp-httplib', 'cpprest', 'qt(?:network)?/',
  'lua-resty-http', 'luasocket', 'hackney', 'finch', 'mint/', 'tesla/', 'httpoison', '^perl/', 'cohttp',
  'openapi-generator', 'swagger-codegen', 'kong/',   'zapier', 'make\\.com', 'integromat', 'workato', 'pipedream', 'github-hookshot', 'bitbucket-webhooks',
  'slack-hooks', 'hubspot connect', ];

/** Native app HTTP stacks (Android's Dalvik, Apple's CFNetwork): people using an app, not automation. */
const APPS = ['^dalvik/', 'cfnetwork/', 'darwin/\\d', 'okhttp.*\\bandroid\\b', '^[\\w.-]+/[\\d.]+ \\((?:iphone|ipad|ios|android)', 'webviewapp'];

/** Generic automation words, tried after every named family. */
const GENERIC_BOTS = [
  '(?<!cu)bots?(?:\\b|_)', 'robot', '^https?://', '^[\\w .-]+, mozilla/', 'adbeat', 'rv:geckoversion', 'httpagent', 'agent\\)', '\\bagent/\\d', 'crawl', 'spider', 'scrap(?:e|er|ing)\\b', 'archiver', 'indexer', '~fetcher', '~checker', '~harvest',
  '\\+https?://', '~https?://', '~\\bwww\\.[a-z0-9-]+\\.[a-z]', '~[\\w.-]+@[\\w-]+\\.[a-z]{2,}', '\\(compatible;[^)]*\\+', 'compatible; [\\w .-]+/[\\d.]+; \\+?https?',
  '~collector', '~extractor', '~downloader', '~sniffer', '~analyzer', '~validator', '~grabber', '~seo\\b', 'ahrefs', 'semrush', 'mj12',
  'screaming frog', 'sitebulb', 'deepcrawl', 'lumar', 'oncrawl', 'botify', 'serpstat', 'dataforseo', 'barkrowler', 'megaindex', 'linkdex',
  'spyder', 'slurp', '~wordpress', '~joomla', '~drupal', 'crawler4j', 'nutch', '~larbin', '~wotbox', '~ichiro', '~voila', '~scooter', '~ultraseek',
];

export const FAMILIES: readonly Family[] = [
  { category: 'scanner', score: 100, reason: 'ua-scanner', tokens: SCANNERS },
  { category: 'automation', score: 90, reason: 'ua-automation', tokens: AUTOMATION },
  { category: 'ai-crawler', score: 90, reason: 'ua-ai-crawler', tokens: AI_CRAWLERS },
  { category: 'search-crawler', score: 85, reason: 'ua-search-crawler', tokens: SEARCH_CRAWLERS },
  { category: 'link-preview', score: 80, reason: 'ua-link-preview', tokens: LINK_PREVIEWS },
  { category: 'monitor', score: 80, reason: 'ua-monitor', tokens: MONITORS },
  { category: 'feed-reader', score: 75, reason: 'ua-feed-reader', tokens: FEED_READERS },
  { category: 'app', score: 20, reason: 'ua-native-app', tokens: APPS, inBrowsers: false },
  { category: 'http-client', score: 60, reason: 'ua-http-client', tokens: HTTP_CLIENTS, inBrowsers: false },
  { category: 'crawler', score: 85, reason: 'ua-bot-token', tokens: GENERIC_BOTS },
];
