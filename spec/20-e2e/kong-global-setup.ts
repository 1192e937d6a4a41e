import { assertAnswers, kongProxyUrl } from './target';

/** `npm run test:kong` (jest.kong.config.js): one clear failure before any test runs when nothing answers at KONG_PROXY_URL. */
export default async function kongGlobalSetup(): Promise<void> {
  const url = kongProxyUrl();
  if (!url) throw new Error('npm run test:kong needs KONG_PROXY_URL (jest.kong.config.js defaults it to http://127.0.0.1:8000)');
  await assertAnswers(url);
}
