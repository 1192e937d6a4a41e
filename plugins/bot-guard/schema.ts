import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { redisConfigProblem, redisField } from '../../shared/redis/schema';
import { operatorPatternReason } from '../../shared/safety/operator-pattern';
import { field, type InferFields } from '../../shared/schema';
import { OPERATORS } from './user-agent/crawlers';
import { CATEGORIES } from './user-agent/rules';

export const ACTIONS = ['allow', 'tag', 'rate-limit', 'tarpit', 'block'] as const;
export type Action = (typeof ACTIONS)[number];
/** A category's action may also defer to the score ladder. */
export const CATEGORY_ACTIONS = [...ACTIONS, 'score'] as const;
export type CategoryAction = (typeof CATEGORY_ACTIONS)[number];
/** Keys of category_actions: the categories, plus verified-crawler (a search or AI crawler whose claim was confirmed). */
export const ACTION_KEYS = [...CATEGORIES, 'verified-crawler'] as const;

const LIST_KINDS = ['allow', 'deny', 'datacenter', 'tor'] as const;
export type ListKind = (typeof LIST_KINDS)[number];

const cidrList = (description: string) => field.array(field.string({ len_min: 1, len_max: 64 }), { len_max: 10_000, description });
const patternList = (description: string) => field.array(field.string({ len_min: 1, len_max: 512 }), { len_max: 500, description });

export const fields = {
  dry_run: field.boolean({ default: false, description: 'Score, tag and log every request but never block, delay or rate-limit (X-Bot-Action says what would have happened).' }),
  bot_threshold: field.integer({ default: 50, between: [1, 100], description: 'Score from which a request counts as a bot (metrics, logs, the score ladder starts here by default).' }),
  headers: field.record({
    score: field.string({ default: 'X-Bot-Score', len_min: 1, description: 'Upstream request header carrying the score (0-100).' }),
    category: field.string({ default: 'X-Bot-Category', len_min: 1, description: 'Upstream request header carrying the category (browser, search-crawler, http-client, ...).' }),
    reasons: field.string({ default: 'X-Bot-Reasons', len_min: 1, description: 'Upstream request header carrying the reason codes, comma-separated ("none" when there are none).' }),
    action: field.string({ default: 'X-Bot-Action', len_min: 1, description: 'Upstream request header carrying the action taken (allow, tag, tarpit, rate-limit; dry-run:<action> in dry-run).' }),
  }, { description: 'Names of the verdict headers set on the upstream request (one set_headers call) and on block answers.' }),
  user_agents: field.record({
    allow: patternList('Regexes in RE2 syntax (case-insensitive, matched in linear time; lookarounds and backreferences refused): a matching User-Agent is allowed whatever its score.'),
    deny: patternList('Regexes in RE2 syntax (case-insensitive, matched in linear time; lookarounds and backreferences refused): a matching User-Agent is blocked (category denied).'),
    missing: field.string({ one_of: ['score', 'allow', 'block'] as const, default: 'score', description: 'A request without (or with an empty) User-Agent: scored with missing_score, allowed, or blocked.' }),
    missing_score: field.integer({ default: 70, between: [0, 100], description: 'Score of a request without a User-Agent when missing is "score" (Kong\'s bot-detection lets it through).' }),
  }, { description: 'User-Agent lists and the missing-User-Agent policy.' }),
  header_checks: field.record({
    enabled: field.boolean({ default: true, description: 'Score browser User-Agents whose other headers contradict them (no Accept/Accept-Language/Accept-Encoding, Sec-CH-UA mismatch, Sec-Fetch on a non-browser).' }),
    http_version: field.boolean({ default: false, description: 'Also score HTTP/1.0 from a browser User-Agent: one more PDK call (get_http_version) for browser User-Agents.' }),
  }, { description: 'Header consistency signals (alone they never make a browser a bot: at most 42 points).' }),
  weights: field.map(field.string({ len_min: 1, len_max: 64 }), field.integer({ between: [-100, 100] }), {
    description: 'Overrides of signal weights by reason code (e.g. {"ip-datacenter": 40}); the README lists every reason and its default weight.',
  }),
  category_actions: field.map(field.string({ one_of: ACTION_KEYS }), field.string({ one_of: CATEGORY_ACTIONS }), {
    description: 'Action per category, over the defaults (scanner/spoof/denied block, verified-crawler/http-client/app/link-preview/monitor/feed-reader allow, others by score).',
  }),
  score_actions: field.array(
    field.record({
      min_score: field.integer({ required: true, between: [1, 100], description: 'From this score (inclusive).' }),
      action: field.string({ required: true, one_of: ACTIONS, description: 'What to do with such a request.' }),
    }),
    { len_max: 10, description: 'The score ladder for categories whose action is "score": the highest min_score reached wins; below all of them: allow. Default: tag from bot_threshold.' },
  ),
  rate_limit: field.record({
    requests: field.integer({ default: 30, between: [1, 1_000_000], description: 'Requests per window a client with action rate-limit may make (429 beyond).' }),
    window_seconds: field.integer({ default: 60, between: [1, 86400], description: 'Window of the rate-limit action (and of the velocity counter when behaviour is on).' }),
  }, { description: 'The rate-limit action: counted in Redis with the velocity window when behaviour is on, per process otherwise.' }),
  tarpit: field.record({
    delay_ms: field.integer({ default: 2000, between: [1, 30000], description: 'Delay before a tarpitted request is proxied.' }),
    max_concurrent: field.integer({ default: 200, between: [1, 100000], description: 'Requests held at once per process; beyond it a tarpitted request is proxied without delay (the delay is bounded, never a queue).' }),
  }, { description: 'The tarpit action: a bounded delay, then the request goes on tagged.' }),
  client_ip: field.record({
    source: field.string({ one_of: ['forwarded', 'connection', 'header'] as const, default: 'forwarded', description: 'Where the client IP comes from: kong.client.get_forwarded_ip (honours trusted_ips/real_ip_header), get_ip, or a header a trusted load balancer sets (no extra PDK call).' }),
    header: field.string({ default: 'X-Forwarded-For', len_min: 1, description: 'Header for source "header" (its first address); only safe when the load balancer overwrites it.' }),
  }, { description: 'How the client IP is read, only when an IP signal needs it (lists, behaviour, crawler verification).' }),
  ip_lists: field.record({
    allow: cidrList('CIDRs (or addresses) always allowed.'),
    deny: cidrList('CIDRs (or addresses) always blocked.'),
    files: field.array(
      field.record({
        path: field.string({ required: true, len_min: 1, description: 'File of addresses/CIDRs: one per line (# comments, Tor exit-addresses lines), or JSON with prefix fields (Google, AWS, OpenAI formats).' }),
        kind: field.string({ required: true, one_of: LIST_KINDS, description: 'What membership means: allow, deny, datacenter (+score) or tor (+score).' }),
      }),
      { len_max: 32, description: 'IP list files, reloaded when they change.' },
    ),
    reload_seconds: field.integer({ default: 60, between: [1, 86400], description: 'How often list and range files are checked for changes (mtime and size).' }),
  }, { description: 'IP allow/deny lists, datacenter ranges and Tor exit lists.' }),
  verification: field.record({
    enabled: field.boolean({ default: true, description: 'Verify requests claiming a known crawler (Googlebot, Bingbot, GPTBot, ...): a failed claim is a spoof.' }),
    dns_servers: field.array(field.string({ len_min: 1, len_max: 64 }), { len_max: 8, description: 'DNS servers for forward-confirmed reverse DNS ("ip" or "ip:port"); empty: the system resolvers.' }),
    timeout_ms: field.integer({ default: 250, between: [10, 10000], description: 'Time budget of a verification on the request path; the lookup goes on in the background and its result is cached.' }),
    cache_seconds: field.integer({ default: 3600, between: [1, 604800], description: 'How long a verification result (verified or spoof) is cached per operator and IP.' }),
    error_cache_seconds: field.integer({ default: 60, between: [1, 86400], description: 'How long a DNS failure (timeout, SERVFAIL) is cached before the IP is tried again.' }),
    range_files: field.array(
      field.record({
        operator: field.string({ required: true, one_of: OPERATORS.map((o) => o.id), description: 'Crawler operator the file belongs to (google, bing, openai, duckduckgo, ...).' }),
        path: field.string({ required: true, len_min: 1, description: 'The operator\'s published range file (e.g. Google\'s googlebot.json {"prefixes":[{"ipv4Prefix":...}]}) or a CIDR per line.' }),
      }),
      { len_max: 32, description: 'Published crawler IP ranges, reloaded when they change; an address inside is verified without DNS.' },
    ),
  }, { description: 'Verification of crawler claims by forward-confirmed reverse DNS and/or published IP ranges.' }),
  behaviour: field.record({
    enabled: field.boolean({ default: false, description: 'Keep per-client behaviour in Redis: velocity windows and honeypot trap flags (one round trip per request).' }),
    redis: redisField('The shared Redis block: where velocity counters and trap flags live.'),
    key_prefix: field.string({ default: 'bot-guard', len_min: 1, len_max: 64, description: 'Prefix of this config\'s Redis keys; configs sharing it share counters and trap flags (a trap route and the API it guards).' }),
    velocity_threshold: field.integer({ default: 120, between: [1, 10_000_000], description: 'Requests per rate_limit.window_seconds above which a client scores velocity-high.' }),
    trap_paths: field.array(field.string({ len_min: 1, len_max: 256, pattern: '^/', lua_match: '^/' }), { len_max: 100, description: 'Path prefixes that flag the client (e.g. /.env, /wp-admin): one more PDK call (get_path). Or put the plugin with trap_route on a route of its own.' }),
    trap_route: field.boolean({ default: false, description: 'Every request on this plugin\'s route is a trap hit (a honeypot route; no path read).' }),
    flag_seconds: field.integer({ default: 3600, between: [1, 2_592_000], description: 'How long a trap hit flags the client.' }),
    trap_action: field.string({ one_of: ACTIONS, default: 'block', description: 'Action for a flagged client (and the trap hit itself).' }),
    fingerprint: field.string({ one_of: ['ip', 'ip_ua_accept', 'header'] as const, default: 'ip', description: 'Client key: the IP, the IP with User-Agent and Accept headers, or a header the load balancer sets (e.g. a JA4 fingerprint: no IP read).' }),
    fingerprint_header: field.string({ default: 'X-JA4', len_min: 1, description: 'Header for fingerprint "header"; a request without it falls back to the IP.' }),
    on_redis_failure: field.string({ one_of: ['fail_open', 'fail_closed'] as const, default: 'fail_open', description: 'Redis unreachable or late: decide without behaviour signals (fail_open), or answer 503 (fail_closed).' }),
  }, { description: 'Behaviour signals kept in Redis.' }),
  logging: field.record({
    decisions: field.string({ one_of: ['none', 'bots', 'all'] as const, default: 'bots', description: 'Which decisions are logged: none, those at or above bot_threshold or not allowed, or all.' }),
    fields: field.set(field.string({ one_of: ['ip', 'user_agent', 'path'] as const }), { description: 'Personal data added to decision logs; by default none (score, category, reasons, action, route only).' }),
  }, { description: 'Decision logs.' }),
  problem_type_base: field.string({ format: 'uri', description: 'Base URI of the problem types of 403/429/503 answers (type = base + code); unset: about:blank with a code member.' }),
};

export type BotGuardConfig = InferFields<typeof fields> & { failure_policy: 'fail_open' | 'fail_closed' };

type Violation = [string, string] | undefined;

function validIpOrCidr(text: string): boolean {
  if (net.isIP(text)) return true;
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

const patternsSafe = (config: BotGuardConfig): Violation => {
  for (const list of ['allow', 'deny'] as const) {
    for (const [i, pattern] of (config.user_agents[list] ?? []).entries()) {
      const why = operatorPatternReason(pattern, { caseInsensitive: true });
      if (why) return [`user_agents.${list}[${i}]`, why];
    }
  }
  return undefined;
};

const cidrsValid = (config: BotGuardConfig): Violation => {
  for (const list of ['allow', 'deny'] as const) {
    for (const [i, cidr] of (config.ip_lists[list] ?? []).entries()) if (!validIpOrCidr(cidr)) return [`ip_lists.${list}[${i}]`, `"${cidr}" is not an IP address or CIDR`];
  }
  return undefined;
};

const dnsServersValid = (config: BotGuardConfig): Violation => {
  for (const [i, server] of (config.verification.dns_servers ?? []).entries()) {
    const host = server.replace(/^\[([^\]]+)\](?::\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1');
    if (!net.isIP(host)) return [`verification.dns_servers[${i}]`, `"${server}" is not an IP address with an optional port`];
  }
  return undefined;
};

const redisValid = (config: BotGuardConfig): Violation => (config.behaviour.enabled ? redisConfigProblem(config.behaviour.redis, 'behaviour.redis') : undefined);

const ladderSorted = (config: BotGuardConfig): Violation => {
  const seen = new Set<number>();
  for (const [i, step] of (config.score_actions ?? []).entries()) {
    if (seen.has(step.min_score)) return [`score_actions[${i}].min_score`, `${step.min_score} appears twice`];
    seen.add(step.min_score);
  }
  return undefined;
};

export const checks = [patternsSafe, cidrsValid, dnsServersValid, redisValid, ladderSorted];
