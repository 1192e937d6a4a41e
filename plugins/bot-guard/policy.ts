import type { Category } from './user-agent/rules';
import { ACTION_KEYS, type Action, type BotGuardConfig, type CategoryAction } from './schema';

/**
 * Per-category defaults. The targets (scanners, spoofed crawler claims, denied UAs) are blocked; what an API
 * exists for (HTTP client libraries, native apps) and the bots people want (verified crawlers, link previews,
 * monitors, feed readers) are allowed; everything else follows the score ladder. Client libraries are never
 * blocked by a default: only an operator's own list, IP deny or trap does that.
 */
export const DEFAULT_CATEGORY_ACTIONS: Readonly<Record<(typeof ACTION_KEYS)[number], CategoryAction>> = {
  browser: 'score',
  'search-crawler': 'score',
  'ai-crawler': 'score',
  'link-preview': 'allow',
  monitor: 'allow',
  'feed-reader': 'allow',
  scanner: 'block',
  automation: 'score',
  crawler: 'score',
  'http-client': 'allow',
  app: 'allow',
  unknown: 'score',
  spoof: 'block',
  denied: 'block',
  allowed: 'allow',
  'verified-crawler': 'allow',
};

/** What decides the action, besides the category and score. */
export interface PolicyInput {
  category: Category;
  score: number;
  verified: boolean;
  /** An operator's allow list (UA or IP) matched. */
  allowListed: boolean;
  /** An operator's deny list (UA or IP) matched. */
  denyListed: boolean;
  /** A trap was hit now or earlier (flag still set). */
  trapped: boolean;
}

export class Policy {
  private readonly byCategory: Readonly<Record<string, CategoryAction>>;
  /** Highest min_score first. */
  private readonly ladder: ReadonlyArray<{ min: number; action: Action }>;
  private readonly trapAction: Action;

  constructor(config: BotGuardConfig) {
    this.byCategory = { ...DEFAULT_CATEGORY_ACTIONS, ...(config.category_actions ?? {}) };
    const steps = config.score_actions?.length ? config.score_actions : [{ min_score: config.bot_threshold, action: 'tag' as Action }];
    this.ladder = steps.map((s) => ({ min: s.min_score, action: s.action })).sort((a, b) => b.min - a.min);
    this.trapAction = config.behaviour.trap_action;
  }

  /** Deny lists, then allow lists, then traps, then the category (a verified crawler by its own key), then the score. */
  decide(input: PolicyInput): Action {
    if (input.denyListed) return 'block';
    if (input.allowListed) return 'allow';
    if (input.trapped) return this.trapAction;
    const configured = this.byCategory[input.verified ? 'verified-crawler' : input.category] ?? 'score';
    if (configured !== 'score') return configured;
    for (const step of this.ladder) if (input.score >= step.min) return step.action;
    return 'allow';
  }
}
