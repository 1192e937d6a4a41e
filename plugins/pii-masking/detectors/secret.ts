import { eachMatch, Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * Secrets with well-known prefixes (the gitleaks approach: a fixed prefix plus a fixed-size or bounded body, so the
 * rule has no false positives on ordinary words). One alternation, every branch starting with a literal and using
 * only bounded repetition, behind a word-boundary lookbehind: linear. PEM private-key blocks are found with
 * indexOf and a memoized END marker (also linear, even for 1 MB of BEGIN lines).
 */
const RULES: Array<[string, string]> = [
  ['aws_access_key_id', '(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}'],
  ['github_token', 'gh[pousr]_[A-Za-z0-9]{36,251}'],
  ['github_fine_grained_pat', 'github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}'],
  ['gitlab_token', 'glpat-[A-Za-z0-9_\\-]{20,50}'],
  ['stripe_secret_key', '(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}'],
  ['slack_token', 'xox[abposr]-[A-Za-z0-9\\-]{10,250}'],
  ['slack_webhook', 'https://hooks\\.slack\\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}'],
  ['google_api_key', 'AIza[0-9A-Za-z_\\-]{35}'],
  ['npm_token', 'npm_[A-Za-z0-9]{36}'],
  ['sendgrid_api_key', 'SG\\.[A-Za-z0-9_\\-]{22}\\.[A-Za-z0-9_\\-]{43}'],
  ['openai_api_key', 'sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\\-]{40,200}'],
];

export const SECRET_RULES = RULES.map(([name]) => name);

const CANDIDATE = new RegExp(`(?<![A-Za-z0-9_\\-])(?:${RULES.map(([, source]) => source).join('|')})(?![A-Za-z0-9_\\-])`, 'g');
const PEM_BEGIN = /-----BEGIN (?:[A-Z]{1,10} ){0,2}PRIVATE KEY-----/g;
const PEM_END = '-----END ';
const PEM_MAX = 32768;

export const secretDetector: Detector = {
  type: 'secret',
  scan(input: ScanInput, out: Match[]): void {
    // every rule has two upper-case letters in a row, a '_', a '-' or a ':' (webhook URL)
    if (input.numeric || input.text.length < 15 || !(input.features & (Feature.UpperPair | Feature.Underscore | Feature.Dash | Feature.Colon))) return;
    const text = input.text;
    eachMatch(CANDIDATE, text, (m) => {
      out.push({ start: m.index, end: m.index + m[0].length, type: 'secret' });
    });
    if (text.indexOf('-----BEGIN ') >= 0) scanPem(text, out);
  },
};

function scanPem(text: string, out: Match[]): void {
  let nextEnd = -2;
  PEM_BEGIN.lastIndex = 0;
  for (let m = PEM_BEGIN.exec(text); m !== null; m = PEM_BEGIN.exec(text)) {
    const after = m.index + m[0].length;
    if (nextEnd !== -1 && nextEnd < after) nextEnd = text.indexOf(PEM_END, after);
    if (nextEnd < 0 || nextEnd - after > PEM_MAX) continue;
    const close = text.indexOf('-----', nextEnd + PEM_END.length);
    if (close < 0 || close - nextEnd > 64) continue;
    const end = close + 5;
    out.push({ start: m.index, end, type: 'secret' });
    PEM_BEGIN.lastIndex = end;
  }
}
