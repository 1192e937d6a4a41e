/**
 * Crawler operators whose claims can be checked: pure data. `domains` are the reverse-DNS suffixes the operator
 * documents for forward-confirmed reverse DNS (Google, Bing, Apple, Yandex, Baidu, ...); an operator without
 * domains (OpenAI, DuckDuckGo, Perplexity) can only be verified from the IP range file it publishes
 * (`verification.range_files` names the file per operator id).
 */
export interface CrawlerOperator {
  readonly id: string;
  readonly claim: RegExp;
  readonly domains: readonly string[];
}

export const OPERATORS: readonly CrawlerOperator[] = [
  {
    id: 'google',
    claim: /googlebot|google-inspectiontool|googleother|adsbot-google|mediapartners-google|apis-google|storebot-google|feedfetcher-google|google-read-aloud|google-site-verification|google favicon|google-extended|googleproducer|google-safety/i,
    domains: ['googlebot.com', 'google.com', 'googleusercontent.com'],
  },
  { id: 'bing', claim: /bingbot|msnbot|adidxbot|bingpreview/i, domains: ['search.msn.com'] },
  { id: 'apple', claim: /applebot/i, domains: ['applebot.apple.com'] },
  { id: 'yandex', claim: /yandex/i, domains: ['yandex.ru', 'yandex.net', 'yandex.com'] },
  { id: 'baidu', claim: /baiduspider/i, domains: ['baidu.com', 'baidu.jp'] },
  { id: 'duckduckgo', claim: /duckduckbot|duckduckgo-favicons-bot|duckassistbot/i, domains: [] },
  { id: 'openai', claim: /gptbot|chatgpt-user|oai-searchbot/i, domains: [] },
  { id: 'perplexity', claim: /perplexitybot|perplexity-user/i, domains: [] },
  { id: 'amazon', claim: /amazonbot/i, domains: ['crawl.amazonbot.amazon'] },
  { id: 'petal', claim: /petalbot/i, domains: ['petalsearch.com', 'aspiegel.com'] },
  { id: 'seznam', claim: /seznambot/i, domains: ['seznam.cz'] },
  { id: 'naver', claim: /\byeti\/|naverbot/i, domains: ['naver.com'] },
  { id: 'coccoc', claim: /coccocbot/i, domains: ['coccoc.com'] },
  { id: 'qwant', claim: /qwantify|qwantbot/i, domains: ['qwant.com'] },
  { id: 'facebook', claim: /facebookexternalhit|facebookcatalog|facebot|meta-externalagent|meta-externalfetcher/i, domains: [] },
];

export function claimedOperator(ua: string): CrawlerOperator | undefined {
  for (const operator of OPERATORS) if (operator.claim.test(ua)) return operator;
  return undefined;
}

export function operatorById(id: string): CrawlerOperator | undefined {
  return OPERATORS.find((o) => o.id === id);
}
