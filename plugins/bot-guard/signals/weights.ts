/**
 * Default weight of every reason code that adds to a User-Agent's base score (the base itself comes from the UA
 * family, user-agent/rules.ts). `weights` in the config overrides any of them. Reasons without a weight here
 * (ua-*, crawler-verified, dns-timeout, ...) explain the score without moving it.
 */
export const DEFAULT_WEIGHTS: Readonly<Record<string, number>> = {
  // header consistency of a browser User-Agent: the three "missing" ones together stay below the bot threshold
  'browser-no-accept': 14,
  'browser-no-accept-language': 14,
  'browser-no-accept-encoding': 14,
  'sec-ch-ua-mismatch': 40,
  'sec-ch-ua-headless': 60,
  'sec-fetch-non-browser': 20,
  'browser-http10': 30,
  // 1000 header lines or more: Kong drops what follows unseen (a User-Agent or X-Forwarded-For could hide there); blocks
  'header-flood': 100,
  // IP
  'ip-datacenter': 25,
  'ip-tor': 20,
  // behaviour
  'velocity-high': 35,
  'trap-hit': 100,
  'trap-flagged': 100,
  // crawler claims
  'crawler-spoof-ptr': 100,
  'crawler-spoof-forward': 100,
  'crawler-spoof-no-ptr': 100,
  'crawler-spoof-range': 100,
  // lists
  'ua-denied': 100,
  'ip-denied': 100,
};

/** The config's weights over the defaults, resolved once per instance. */
export function resolveWeights(overrides: Record<string, number> | null | undefined): Readonly<Record<string, number>> {
  return Object.freeze({ ...DEFAULT_WEIGHTS, ...(overrides ?? {}) });
}

/** A verdict being built: base score, reasons in order, their weights added, clamped to 0..100 when read. */
export class Scorecard {
  private total: number;
  readonly reasons: string[];

  constructor(
    base: number,
    baseReasons: readonly string[],
    private readonly weights: Readonly<Record<string, number>>,
  ) {
    this.total = base;
    this.reasons = [...baseReasons];
  }

  add(reason: string): void {
    this.reasons.push(reason);
    this.total += this.weights[reason] ?? 0;
  }

  get score(): number {
    return this.total < 0 ? 0 : this.total > 100 ? 100 : Math.round(this.total);
  }
}
