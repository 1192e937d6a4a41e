import type { HeaderMultimap } from '../../shared/pdk';
import { MAX_PATTERN_LENGTH, OperatorPattern } from '../../shared/safety/operator-pattern';
import type { IpMembership } from './ip/ip-lists';
import type { BehaviourResult } from './behaviour';
import type { BotGuardConfig } from './schema';
import { headerReasons } from './signals/headers';
import { resolveWeights, Scorecard } from './signals/weights';
import { uaCache, type UaVerdict } from './user-agent/classifier';
import type { Category } from './user-agent/rules';
import type { Verification } from './verify/crawler-verifier';

/** The verdict on one request: what the headers say upstream, and what the policy decides on. */
export interface Verdict {
  score: number;
  category: Category;
  reasons: readonly string[];
  verified: boolean;
  allowListed: boolean;
  denyListed: boolean;
  trapped: boolean;
}

/** Everything a request gave the detector; the handler fills in what it read. */
export interface Evidence {
  headers: HeaderMultimap;
  ua: UaVerdict;
  httpVersion?: number;
  ip?: IpMembership;
  verification?: Verification;
  behaviour?: BehaviourResult;
  trapHit: boolean;
  velocityThreshold: number;
  /** As many header lines as Kong hands a plugin (1000): no browser or client library sends that many. */
  headerFlood?: boolean;
}

/**
 * An operator's UA list, case-insensitive on RE2 (linear time): the patterns joined into as few alternations as
 * RE2's pattern length allows (usually one), tried in turn.
 */
class PatternList {
  private readonly parts: OperatorPattern[] = [];

  constructor(patterns: readonly string[]) {
    let joined = '';
    for (const p of patterns) {
      const alt = `(?:${p})`;
      if (joined && joined.length + 1 + alt.length > MAX_PATTERN_LENGTH) {
        this.parts.push(OperatorPattern.compile(joined, { caseInsensitive: true }));
        joined = '';
      }
      joined = joined ? `${joined}|${alt}` : alt;
    }
    if (joined) this.parts.push(OperatorPattern.compile(joined, { caseInsensitive: true }));
  }

  test(input: string): boolean {
    for (const part of this.parts) if (part.test(input)) return true;
    return false;
  }
}

function compileList(patterns: readonly string[] | null | undefined): PatternList | undefined {
  return patterns?.length ? new PatternList(patterns) : undefined;
}

export function userAgentOf(headers: HeaderMultimap): string | undefined {
  const value = headers['user-agent'];
  return value === undefined ? undefined : value[0];
}

/**
 * Turns evidence into a verdict: the User-Agent family's base score and reasons, then the operator's UA lists,
 * the missing-UA policy, header consistency, IP lists, the crawler verification, traps and velocity, each adding
 * its reason (and weight, signals/weights.ts). Pure and synchronous: no PDK, no I/O.
 */
export class Detector {
  private readonly allow: PatternList | undefined;
  private readonly deny: PatternList | undefined;
  private readonly weights: Readonly<Record<string, number>>;
  private readonly missing: BotGuardConfig['user_agents']['missing'];
  private readonly missingScore: number;
  private readonly headerChecks: boolean;

  constructor(config: BotGuardConfig) {
    this.allow = compileList(config.user_agents.allow);
    this.deny = compileList(config.user_agents.deny);
    this.weights = resolveWeights(config.weights);
    this.missing = config.user_agents.missing;
    this.missingScore = config.user_agents.missing_score;
    this.headerChecks = config.header_checks.enabled;
  }

  /** The cached UA verdict of a request (warm: one Map lookup). */
  classify(headers: HeaderMultimap): UaVerdict {
    return uaCache.classify(userAgentOf(headers));
  }

  judge(e: Evidence): Verdict {
    const ua = e.ua;
    const uaString = userAgentOf(e.headers);
    const missing = ua.reasons[0] === 'ua-missing';
    const card = new Scorecard(missing ? (this.missing === 'score' ? this.missingScore : 0) : ua.score, ua.reasons, this.weights);
    let category: Category = ua.category;
    let allowListed = missing && this.missing === 'allow';
    let denyListed = missing && this.missing === 'block';
    let verified = false;

    if (uaString !== undefined && this.deny?.test(uaString)) {
      denyListed = true;
      category = 'denied';
      card.add('ua-denied');
    } else if (uaString !== undefined && this.allow?.test(uaString)) {
      allowListed = true;
      card.add('ua-allowed');
    }
    if (this.headerChecks) headerReasons(e.headers, ua, (reason) => card.add(reason));
    if (e.headerFlood) {
      // what Kong dropped cannot be judged (a scanner's User-Agent, an appended X-Forwarded-For): refused like a deny
      denyListed = true;
      card.add('header-flood');
    }
    if (e.httpVersion !== undefined && e.httpVersion < 1.1 && ua.browserShaped) card.add('browser-http10');

    if (e.ip) {
      if (e.ip.deny) {
        denyListed = true;
        category = 'denied';
        card.add('ip-denied');
      } else if (e.ip.allow) {
        allowListed = true;
        card.add('ip-allowed');
      }
      if (e.ip.datacenter) card.add('ip-datacenter');
      if (e.ip.tor) card.add('ip-tor');
    }

    if (e.verification) {
      card.add(e.verification.reason);
      if (e.verification.status === 'verified') verified = true;
      else if (e.verification.status === 'spoof' && category !== 'denied') category = 'spoof';
    }

    let trapped = false;
    if (e.trapHit) {
      trapped = true;
      card.add('trap-hit');
    }
    const behaviour = e.behaviour;
    if (behaviour) {
      if (behaviour.source === 'unavailable') card.add('behaviour-unavailable');
      else {
        if (behaviour.flagged && !e.trapHit) {
          trapped = true;
          card.add('trap-flagged');
        }
        if (behaviour.count > e.velocityThreshold) card.add('velocity-high');
      }
    }
    return { score: card.score, category, reasons: card.reasons, verified, allowListed, denyListed, trapped };
  }
}
