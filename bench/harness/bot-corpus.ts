import fs from 'node:fs';
import path from 'node:path';
import { fillDefaults, type KongFields } from '../../devkit/emulator/kong-schema';
import { ROOT } from '../../devkit/emulator/plugin-server-process';
import { Detector, type Verdict } from '../../plugins/bot-guard/detector';
import { schema } from '../../plugins/bot-guard/index';
import { Policy } from '../../plugins/bot-guard/policy';
import type { BotGuardConfig } from '../../plugins/bot-guard/schema';

/** [label, group, user agent]: labels bot | browser | client | app, from the corpus' sources (build-corpus.js). */
export type CorpusEntry = [label: 'bot' | 'browser' | 'client' | 'app', group: string, ua: string];

export const CORPUS_FILE = path.join(ROOT, 'spec/fixtures/bot-guard/ua-corpus.json');

export function loadCorpus(): CorpusEntry[] {
  return JSON.parse(fs.readFileSync(CORPUS_FILE, 'utf8')) as CorpusEntry[];
}

/** A bot-guard config as Kong stores it (defaults filled), parsed like an instance start does. */
export function botGuardConfig(overrides: Record<string, unknown> = {}): BotGuardConfig {
  return schema.parse({ ...fillDefaults(schema.kong as unknown as KongFields, overrides), __seq__: 1 }).config as BotGuardConfig;
}

export interface GroupResult {
  label: string;
  group: string;
  total: number;
  /** Scored at or above the bot threshold. */
  flagged: number;
  blocked: number;
  misses: string[];
}

/**
 * Zero-config verdicts on the User-Agent alone (no Accept headers, no IP, no behaviour: the worst case for header
 * checks, as a UA-only corpus is), grouped by label and group.
 */
export function evaluateCorpus(entries: CorpusEntry[], config = botGuardConfig()): GroupResult[] {
  const detector = new Detector(config);
  const policy = new Policy(config);
  const groups = new Map<string, GroupResult>();
  for (const [label, group, ua] of entries) {
    const headers = { 'user-agent': [ua] };
    const verdict: Verdict = detector.judge({ headers, ua: detector.classify(headers), trapHit: false, velocityThreshold: config.behaviour.velocity_threshold });
    const key = `${label}/${group}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { label, group, total: 0, flagged: 0, blocked: 0, misses: [] }));
    g.total++;
    const bot = verdict.score >= config.bot_threshold;
    if (bot) g.flagged++;
    if (policy.decide(verdict) === 'block') g.blocked++;
    const wrong = label === 'bot' ? !bot : label === 'browser' ? bot : false;
    if (wrong && g.misses.length < 20) g.misses.push(`[${verdict.category} ${verdict.score} ${verdict.reasons.join(',')}] ${ua}`);
  }
  return [...groups.values()].sort((a, b) => a.label.localeCompare(b.label) || a.group.localeCompare(b.group));
}

export interface CorpusSummary {
  botRecall: number;
  browserFalsePositiveRate: number;
  /** Of everything flagged, the share that is labelled bot (client libraries and apps counted neither way). */
  precision: number;
  clientsBlocked: number;
  table: string;
}

const pct = (n: number, d: number) => (d ? ((100 * n) / d).toFixed(2) + '%' : '-');

export function summarize(results: GroupResult[]): CorpusSummary {
  const sum = (label: string, pick: (g: GroupResult) => number) => results.filter((g) => g.label === label).reduce((s, g) => s + pick(g), 0);
  const bots = sum('bot', (g) => g.total);
  const botsFlagged = sum('bot', (g) => g.flagged);
  const browsers = sum('browser', (g) => g.total);
  const browsersFlagged = sum('browser', (g) => g.flagged);
  const rows = results.map((g) => {
    const measure = g.label === 'bot' ? `recall ${pct(g.flagged, g.total)}` : g.label === 'browser' ? `false positives ${pct(g.flagged, g.total)}` : `scored >= 50: ${pct(g.flagged, g.total)}`;
    return `| ${g.label} | ${g.group} | ${g.total} | ${measure} | ${g.blocked} |`;
  });
  const table = ['| label | group | UAs | result | blocked by default |', '|---|---|---|---|---|', ...rows].join('\n');
  return {
    botRecall: botsFlagged / bots,
    browserFalsePositiveRate: browsersFlagged / browsers,
    precision: botsFlagged / (botsFlagged + browsersFlagged),
    clientsBlocked: sum('client', (g) => g.blocked),
    table,
  };
}
