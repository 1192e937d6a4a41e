import type { HandlerContext, PhaseHandler, PhaseName } from '../../shared/plugin';
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/observability/log';
import { mayBeTruncated, type HeaderMultimap, type Pdk } from '../../shared/pdk';
import { exitWithProblem, PROBLEMS } from '../../shared/problems';
import { Behaviour, clientKey, LocalWindows, type BehaviourResult } from './behaviour';
import { Detector, userAgentOf, type Evidence, type Verdict } from './detector';
import { parseIp } from './ip/cidr-set';
import { IpLists } from './ip/ip-lists';
import { countDecision, verifications } from './metrics';
import { Policy } from './policy';
import type { Action, BotGuardConfig } from './schema';
import type { UaVerdict } from './user-agent/classifier';
import { CrawlerVerifier, type Verification } from './verify/crawler-verifier';

/** What the handler read of one request, for answers and logs. */
interface RequestFacts {
  headers: HeaderMultimap;
  ip: string | undefined;
  path: string | undefined;
}

/** Requests held by the tarpit in this process, across instances: the delay is bounded in time and in count. */
let tarpitted = 0;
const processWindows = new LocalWindows();

/**
 * Access phase, as a sentence: read the headers, classify the User-Agent (cached), read the client IP only when
 * an IP signal needs it, verify a crawler claim, observe behaviour in Redis (one round trip), decide the action,
 * then either answer (403 block, 429 rate limit) or pass the verdict upstream in one set_headers call.
 * PDK calls on the allow path: get_headers + set_headers = 2; + get_forwarded_ip when IP lists, behaviour keyed by
 * IP or a crawler claim need the address; + get_path with trap_paths; + get_http_version with that check on.
 */
export class BotGuardHandler implements PhaseHandler {
  private readonly detector: Detector;
  private readonly policy: Policy;
  private readonly ipLists: IpLists;
  private readonly verifier: CrawlerVerifier | undefined;
  private readonly behaviour: Behaviour | undefined;
  private readonly names: BotGuardConfig['headers'];
  private readonly trapPaths: readonly string[];
  /** Header names as get_headers gives them (lower case), resolved once. */
  private readonly fingerprintHeader: string;
  private readonly ipHeader: string;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(
    private readonly config: BotGuardConfig,
    context: HandlerContext,
  ) {
    this.logger = context.log;
    this.clock = context.clock;
    this.detector = new Detector(config);
    this.policy = new Policy(config);
    this.ipLists = new IpLists(config.ip_lists, context.log);
    this.verifier = config.verification.enabled ? new CrawlerVerifier(config.verification, config.ip_lists.reload_seconds * 1000, context.log) : undefined;
    this.behaviour = config.behaviour.enabled ? new Behaviour(config, context.log) : undefined;
    this.names = config.headers;
    this.trapPaths = config.behaviour.trap_paths ?? [];
    this.fingerprintHeader = config.behaviour.fingerprint_header.toLowerCase();
    this.ipHeader = config.client_ip.header.toLowerCase();
  }

  async access(pdk: Pdk): Promise<void> {
    const headers = await pdk.request.getHeaders();
    const ua = this.detector.classify(headers);
    const evidence: Evidence = { headers, ua, trapHit: this.config.behaviour.trap_route, velocityThreshold: this.config.behaviour.velocity_threshold, headerFlood: mayBeTruncated(headers) };
    let path: string | undefined;
    if (this.trapPaths.length) {
      path = await pdk.request.getPath();
      const requested = path;
      evidence.trapHit ||= this.trapPaths.some((prefix) => requested.startsWith(prefix));
    }
    if (this.config.header_checks.http_version && ua.browserShaped) evidence.httpVersion = await pdk.request.getHttpVersion();

    let ip = this.needsIp(ua, headers) ? await this.clientIp(pdk, headers) : undefined;
    if (ip !== undefined) {
      if (this.ipLists.active) evidence.ip = this.ipLists.lookup(parseIp(ip));
      if (ua.operator && this.verifier) evidence.verification = await this.verify(ua, ip);
    }
    if (this.behaviour) evidence.behaviour = await this.observe(headers, ip, evidence.trapHit);
    if (evidence.behaviour?.source === 'unavailable' && this.config.behaviour.on_redis_failure === 'fail_closed') {
      return exitWithProblem(pdk, PROBLEMS.botCheckUnavailable.create('bot checks are unavailable; try again shortly', {}, { typeBase: this.typeBase }), { 'Retry-After': '1' });
    }

    const verdict = this.detector.judge(evidence);
    const action = this.policy.decide(verdict);
    const dryRun = this.config.dry_run;
    if (action === 'rate-limit' && !dryRun) {
      ip ??= await this.clientIp(pdk, headers);
      if (this.overLimit(evidence.behaviour, headers, ip)) return this.answer(pdk, verdict, 'rate-limit', { headers, ip, path });
    }
    if (action === 'block' && !dryRun) return this.answer(pdk, verdict, 'block', { headers, ip, path });
    if (action === 'tarpit' && !dryRun) await this.tarpit();
    await this.record(pdk, verdict, action, dryRun, { headers, ip, path });
    await pdk.serviceRequest.setHeaders(this.verdictHeaders(verdict, dryRun ? `dry-run:${action}` : action));
  }

  /**
   * After an exception under fail_open: the set_headers that overwrites a client's own verdict headers never ran, so
   * they are cleared; no verdict reaches the upstream rather than a forged one. (With the plugin server down Kong
   * goes on without this: README, bot-guard, "When it fails".)
   */
  async beforeFailOpen(pdk: Pdk, phase: PhaseName): Promise<void> {
    if (phase !== 'access') return;
    for (const name of Object.values(this.names)) await pdk.serviceRequest.clearHeader(name);
  }

  private get typeBase(): string | undefined {
    return this.config.problem_type_base ?? undefined;
  }

  /** An IP is read only when a signal uses it: lists, behaviour keyed by IP, or a crawler claim to verify. */
  private needsIp(ua: UaVerdict, headers: HeaderMultimap): boolean {
    if (this.ipLists.active) return true;
    if (ua.operator && this.verifier) return true;
    if (!this.behaviour) return false;
    const fp = this.config.behaviour.fingerprint;
    return fp !== 'header' || headers[this.fingerprintHeader] === undefined;
  }

  private async clientIp(pdk: Pdk, headers: HeaderMultimap): Promise<string> {
    const source = this.config.client_ip;
    if (source.source === 'header') {
      const value = headers[this.ipHeader]?.[0];
      if (value) return value.split(',')[0].trim();
    }
    return source.source === 'connection' ? pdk.client.getIp() : pdk.client.getForwardedIp();
  }

  private async verify(ua: UaVerdict, ip: string): Promise<Verification> {
    const operator = ua.operator!;
    const verification = await this.verifier!.verify(operator, ip);
    verifications.inc({ operator: operator.id, result: verification.status, method: verification.method });
    return verification;
  }

  private observe(headers: HeaderMultimap, ip: string | undefined, trapHit: boolean): Promise<BehaviourResult> {
    return this.behaviour!.observe(this.clientKeyOf(headers, ip), trapHit, this.clock.now());
  }

  private clientKeyOf(headers: HeaderMultimap, ip: string | undefined): string {
    const b = this.config.behaviour;
    if (b.fingerprint === 'header') {
      const value = headers[this.fingerprintHeader]?.[0];
      if (value) return clientKey(`h|${value}`);
    }
    if (b.fingerprint === 'ip_ua_accept') {
      const accept = ['accept', 'accept-language', 'accept-encoding'].map((n) => headers[n]?.[0] ?? '').join('|');
      return clientKey(`f|${ip}|${userAgentOf(headers) ?? ''}|${accept}`);
    }
    return clientKey(`i|${ip}`);
  }

  /** The velocity count from Redis when behaviour is on, a per-process window otherwise. */
  private overLimit(behaviour: BehaviourResult | undefined, headers: HeaderMultimap, ip: string): boolean {
    const limit = this.config.rate_limit;
    let count: number;
    if (behaviour && behaviour.source !== 'unavailable') count = behaviour.count;
    else count = processWindows.hit(`${this.config.behaviour.key_prefix}|${this.clientKeyOf(headers, ip)}`, Math.floor(this.clock.now() / 1000 / limit.window_seconds));
    return count > limit.requests;
  }

  private async tarpit(): Promise<void> {
    if (tarpitted >= this.config.tarpit.max_concurrent) return;
    tarpitted++;
    try {
      await new Promise((resolve) => setTimeout(resolve, this.config.tarpit.delay_ms));
    } finally {
      tarpitted--;
    }
  }

  private async answer(pdk: Pdk, verdict: Verdict, action: 'block' | 'rate-limit', facts: RequestFacts): Promise<void> {
    await this.record(pdk, verdict, action, false, facts);
    const members = { score: verdict.score, category: verdict.category, reasons: [...verdict.reasons] };
    const headers = this.verdictHeaders(verdict, action);
    if (action === 'block') {
      return exitWithProblem(pdk, PROBLEMS.botBlocked.create(`classified as ${verdict.category} (score ${verdict.score})`, members, { typeBase: this.typeBase }), headers);
    }
    const retryAfter = String(this.config.rate_limit.window_seconds - (Math.floor(this.clock.now() / 1000) % this.config.rate_limit.window_seconds));
    return exitWithProblem(pdk, PROBLEMS.botRateLimited.create(`more than ${this.config.rate_limit.requests} requests in ${this.config.rate_limit.window_seconds} s`, members, { typeBase: this.typeBase }), { ...headers, 'Retry-After': retryAfter });
  }

  private verdictHeaders(verdict: Verdict, action: string): Record<string, string> {
    return {
      [this.names.score]: String(verdict.score),
      [this.names.category]: verdict.category,
      [this.names.reasons]: verdict.reasons.length ? verdict.reasons.join(',') : 'none',
      [this.names.action]: action,
    };
  }

  /** Metrics always; a decision log line per logging.decisions, with personal data only as logging.fields says. */
  private async record(pdk: Pdk, verdict: Verdict, action: Action, dryRun: boolean, facts: RequestFacts): Promise<void> {
    countDecision(verdict.category, action, dryRun, verdict.score, verdict.reasons);
    const logging = this.config.logging;
    if (logging.decisions === 'none') return;
    if (logging.decisions === 'bots' && verdict.score < this.config.bot_threshold && action === 'allow') return;
    const line: Record<string, unknown> = { event: 'bot_decision', score: verdict.score, category: verdict.category, reasons: verdict.reasons, action, dry_run: dryRun };
    // only what the operator asked for; an address or path not read yet costs one PDK call, on logged decisions only
    for (const name of logging.fields ?? []) {
      if (name === 'ip') line.ip = facts.ip ?? (await this.clientIp(pdk, facts.headers));
      else if (name === 'path') line.path = facts.path ?? (await pdk.request.getPath());
      else line.user_agent = userAgentOf(facts.headers);
    }
    this.logger.info(line, 'bot-guard decision');
  }
}
