import { evaluateCorpus, loadCorpus, summarize } from '../../../bench/harness/bot-corpus';

/**
 * The quality bars of issue 9 on our own labelled corpus (spec/fixtures/bot-guard: isbot's and Matomo's labelled
 * fixtures plus hand-collected strings; labels from the sources), zero-config, User-Agent only.
 */
/** On failure the assertion shows the value and the misses behind it. */
function expectBound(value: number, ok: boolean, misses: string[]): void {
  expect(ok ? { value: 'within the bar', misses: [] } : { value, misses }).toEqual({ value: 'within the bar', misses: [] });
}

describe('bot-guard on the labelled User-Agent corpus (zero-config, UA only)', () => {
  const corpus = loadCorpus();
  const results = evaluateCorpus(corpus);
  const summary = summarize(results);

  it('holds thousands of labelled bots, browsers (in-app webviews and tricky substrings among them) and client libraries', () => {
    const count = (label: string, group?: string) => corpus.filter(([l, g]) => l === label && (!group || g === group)).length;
    expect(count('bot')).toBeGreaterThan(3000);
    expect(count('browser')).toBeGreaterThan(3500);
    expect(count('browser', 'in-app')).toBeGreaterThan(400);
    expect(count('browser', 'tricky')).toBeGreaterThan(400);
    expect(count('client')).toBeGreaterThan(40);
    for (const group of ['scanner', 'headless', 'ai', 'link-preview', 'search', 'monitor']) expect(count('bot', group)).toBeGreaterThan(20);
  });

  it('flags >= 98% of bots with a score of 50 or more', () => {
    const misses = results.filter((g) => g.label === 'bot').flatMap((g) => g.misses.slice(0, 3));
    expectBound(summary.botRecall, summary.botRecall >= 0.98, misses);
  });

  it('flags at most 0.2% of browsers', () => {
    const misses = results.filter((g) => g.label === 'browser').flatMap((g) => g.misses);
    expectBound(summary.browserFalsePositiveRate, summary.browserFalsePositiveRate <= 0.002, misses);
  });

  it('blocks no HTTP client library by default', () => {
    expect(results.filter((g) => g.label === 'client').map((g) => g.blocked)).toEqual([0]);
  });

  it('scores every scanner, headless tool, AI crawler and link preview as a bot', () => {
    for (const group of ['scanner', 'headless', 'ai', 'link-preview']) {
      const g = results.find((r) => r.label === 'bot' && r.group === group)!;
      expect([group, g.misses]).toEqual([group, []]);
    }
  });
});
