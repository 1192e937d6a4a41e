import { parseItem } from 'structured-headers';
import LinkHeader from 'http-link-header';

/**
 * Independent checks of the deprecation headers' syntax: structured-headers (RFC 9651) for Deprecation,
 * a strict IMF-fixdate grammar (RFC 9110 5.6.7) for Sunset, http-link-header (RFC 8288) for Link.
 */

/** RFC 9745 Deprecation: an sf-date item. Returns the instant, or throws. */
export function parseDeprecation(value: string): Date {
  const [item, params] = parseItem(value);
  if (!(item instanceof Date)) throw new Error(`Deprecation ${value} is not an sf-date`);
  if (params.size !== 0) throw new Error(`Deprecation ${value} has parameters`);
  return item;
}

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** RFC 8594 Sunset: an IMF-fixdate, checked field by field (day name consistent with the date). Returns the instant. */
export function parseImfFixdate(value: string): Date {
  const m = IMF_FIXDATE.exec(value);
  if (!m) throw new Error(`"${value}" is not an IMF-fixdate`);
  const [, dayName, day, month, year, hh, mm, ss] = m;
  const date = new Date(Date.UTC(Number(year), MONTHS.indexOf(month), Number(day), Number(hh), Number(mm), Number(ss)));
  if (date.getUTCDate() !== Number(day) || date.getUTCHours() !== Number(hh) || date.getUTCMinutes() !== Number(mm) || date.getUTCSeconds() !== Number(ss)) {
    throw new Error(`"${value}" names an impossible date`);
  }
  if (DAYS[date.getUTCDay()] !== dayName) throw new Error(`"${value}": ${dayName} is the wrong day name`);
  return date;
}

/** RFC 8288 Link values (several header lines joined as one list). */
export function parseLinks(values: string | string[]): Array<{ uri: string; rel: string; [attribute: string]: string }> {
  const joined = Array.isArray(values) ? values.join(', ') : values;
  return LinkHeader.parse(joined).refs;
}
