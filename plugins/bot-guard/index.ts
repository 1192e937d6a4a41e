import { definePlugin } from '../../shared/plugin';
import { BotGuardHandler } from './handler';
import { checks, fields } from './schema';

/**
 * bot-guard: scores every request 0-100 with reason codes (User-Agent families with isbot as one signal,
 * allow/deny lists, missing-UA policy, header consistency, IP lists, verified crawler claims, Redis-kept velocity
 * and honeypot traps), acts by category and score (allow, tag, rate-limit, tarpit, block; dry-run), and passes
 * X-Bot-Score / X-Bot-Category / X-Bot-Reasons upstream. Named apart from Kong's bundled bot-detection.
 * Priority 2550: after IP restriction (3000) and bot-detection's slot (2500 runs later), before authentication
 * (key-auth 1250, jwt 1450), so a blocked scanner never costs a credential lookup.
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'bot-guard',
  version: '1.0.0',
  priority: 2550,
  fields,
  checks,
  failurePolicy: 'fail_open',
  Handler: BotGuardHandler,
});
