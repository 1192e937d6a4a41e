import type { HeaderMultimap } from '../../../shared/pdk';
import type { UaVerdict } from '../user-agent/classifier';

const first = (headers: HeaderMultimap, name: string): string | undefined => headers[name]?.[0];

const SEC_CH_BRAND = /"([^"]+)";\s*v="(\d+)/g;

/** Major versions Sec-CH-UA announces per brand family (Chrome, Chromium, Edge, Opera); undefined when unparsable. */
function clientHintMajors(value: string): { majors: Set<number>; headless: boolean } {
  const majors = new Set<number>();
  let headless = false;
  for (const m of value.matchAll(SEC_CH_BRAND)) {
    const brand = m[1].toLowerCase();
    if (brand.includes('headless')) headless = true;
    if (/chrom|edge|opera/.test(brand)) majors.add(Number(m[2]));
  }
  return { majors, headless };
}

/**
 * Reasons the other headers give about the User-Agent's claim. Browsers always send Accept, Accept-Language and
 * Accept-Encoding on navigations and fetches; only Chromium browsers send Sec-CH-UA, with the UA's major version;
 * Sec-Fetch-* come from browsers only. Pure: reads the headers Kong already gave (no PDK call).
 */
export function headerReasons(headers: HeaderMultimap, ua: UaVerdict, out: (reason: string) => void): void {
  if (ua.browserShaped) {
    if (!first(headers, 'accept')) out('browser-no-accept');
    if (!first(headers, 'accept-language')) out('browser-no-accept-language');
    if (!first(headers, 'accept-encoding')) out('browser-no-accept-encoding');
    const hints = first(headers, 'sec-ch-ua');
    if (hints !== undefined) {
      const { majors, headless } = clientHintMajors(hints);
      const brand = ua.browser?.brand;
      if (headless) out('sec-ch-ua-headless');
      else if (brand === 'firefox' || brand === 'safari') out('sec-ch-ua-mismatch');
      else if ((brand === 'chrome' || brand === 'edge' || brand === 'opera') && majors.size > 0 && ua.browser?.major !== undefined && !majors.has(ua.browser.major)) {
        // Chrome reduces the UA string to <major>.0.0.0 but keeps the major: a different one is another client
        out('sec-ch-ua-mismatch');
      }
    }
    return;
  }
  // a browser-like UA that is not browser-shaped (a TV, an old phone) may be a Chromium build: left alone
  if (ua.category !== 'browser') {
    if (first(headers, 'sec-fetch-mode') !== undefined || first(headers, 'sec-fetch-site') !== undefined) out('sec-fetch-non-browser');
  }
}
