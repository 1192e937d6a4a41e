import { decodedForms } from './decode';
import { CATEGORIES, DETECTORS, SCANNED_PARTS, type Category } from './detectors';
import { isOperatorName } from './detectors/nosql';
import { anyKey, featuresOf, mayDecode, mayMatch, newFeatures, TRIGGERS, unionOfKeys, type Triggers } from './detectors/triggers';
import type { FreeText } from './free-text';
import type { InjectionAction } from './schema';

/**
 * Runs the enabled detectors over every client value of a request part, each on the value's decoded forms
 * (decode.ts, bounded passes), skipping values at locations declared free text; NoSQL operator names are checked on
 * JSON keys and query names (structure, so free text too). Collects at most MAX_FINDINGS findings: category and
 * location, never the value. Pure.
 */
export const MAX_FINDINGS = 20;
/** Values of at most MEMO_LENGTH characters, up to MEMO_ENTRIES of them per body, are scanned once per body. */
const MEMO_LENGTH = 256;
const MEMO_ENTRIES = 512;

export interface Finding {
  category: Category;
  location: string;
}

export class InjectionScanner {
  readonly active: boolean;
  /** Scratch for the features of the value being scanned (one value at a time: the scanner is synchronous). */
  private readonly features = newFeatures();
  /** Per request part, the enabled detectors that look there, in CATEGORIES order. */
  private readonly plans = new Map<string, { steps: Array<{ bit: number; detect: (value: string) => boolean; triggers: Triggers }>; keys: Int32Array }>();

  constructor(
    private readonly actions: Record<Category, InjectionAction>,
    private readonly freeText: FreeText,
    private readonly passes: number,
  ) {
    this.active = CATEGORIES.some((c) => actions[c] !== 'off');
    for (const part of ['path', 'query', 'cookie', 'header', 'body']) {
      const steps = CATEGORIES.flatMap((category, c) => (actions[category] !== 'off' && SCANNED_PARTS[category].has(part) ? [{ bit: 1 << c, detect: DETECTORS[category], triggers: TRIGGERS[category] }] : []));
      if (steps.length) this.plans.set(part, { steps, keys: unionOfKeys(steps.map((step) => step.triggers)) });
    }
  }

  action(category: Category): InjectionAction {
    return this.actions[category];
  }

  /** One value at `location` (['query', 'q'], ['body', 'items', '3', 'name']). */
  value(part: string, location: string[], value: string, out: Finding[]): void {
    if (out.length >= MAX_FINDINGS || value.length < 2 || plain(value)) return;
    if (!this.freeText.empty && this.freeText.has(location)) return;
    this.report(this.detect(part, value), location, out);
  }

  /** The categories (bit i: CATEGORIES[i]) whose detector flags `value` or one of its decoded forms. */
  private detect(part: string, value: string): number {
    const plan = this.plans.get(part);
    if (!plan) return 0;
    // one pass finds which detectors could answer true (detectors/triggers.ts); only values holding '%' or a character
    // reference have decoded forms other than themselves, each with its own features
    const features = featuresOf(value, this.features);
    const decodable = mayDecode(features);
    if (!decodable && !anyKey(plan.keys, features)) return 0;
    let forms: string[] | undefined;
    let formFeatures: Int32Array[] | undefined;
    let found = 0;
    for (const step of plan.steps) {
      if (!decodable) {
        if (mayMatch(step.triggers, features) && step.detect(value)) found |= step.bit;
        continue;
      }
      forms ??= decodedForms(value, this.passes);
      formFeatures ??= forms.map((form, i) => (i === 0 ? features : featuresOf(form, newFeatures())));
      for (let i = 0; i < forms.length; i++) {
        if (mayMatch(step.triggers, formFeatures[i]) && step.detect(forms[i])) {
          found |= step.bit;
          break;
        }
      }
    }
    return found;
  }

  private report(found: number, location: string[], out: Finding[]): void {
    for (let c = 0; found && c < CATEGORIES.length; c++) if (found & (1 << c)) push(out, CATEGORIES[c], location);
  }

  /** A query-parameter name or JSON key: NoSQL operators ($ne, user[$ne]). */
  name(location: string[], name: string, out: Finding[]): void {
    if (this.actions.nosql === 'off' || out.length >= MAX_FINDINGS) return;
    if (name.indexOf('$') >= 0 && isOperatorName(name)) push(out, 'nosql', location);
  }

  query(pairs: Array<[string, string]>, out: Finding[]): void {
    for (const [name, value] of pairs) {
      const location = ['query', name];
      this.name(location, name, out);
      this.value('query', location, name, out);
      this.value('query', location, value, out);
    }
  }

  record(part: 'header' | 'cookie' | 'path', values: Record<string, string | string[]>, out: Finding[]): void {
    for (const [name, value] of Object.entries(values)) {
      if (Array.isArray(value)) for (const v of value) this.value(part, [part, name], v, out);
      else this.value(part, [part, name], value, out);
    }
  }

  /**
   * A parsed JSON body, iteratively (depth already bounded by the limits scan), in the order of a stack: an
   * object's keys first, then its members last to first; array items first to last. A node's location is built
   * only when needed (a free-text check, a finding) from its key and its parent's.
   */
  json(body: unknown, out: Finding[]): void {
    // three parallel stacks: the node, its parent's link and its key; a link is made for containers only
    const nodes: unknown[] = [body];
    const parents: Array<Link | undefined> = [undefined];
    const keys: Array<string | number | undefined> = [undefined];
    // what detect() answered for values seen earlier in this body (it is a function of the value alone): bodies
    // repeat short values (titles, currencies, states), which are then scanned once
    const seen = new Map<string, number>();
    while (nodes.length && out.length < MAX_FINDINGS) {
      const node = nodes.pop();
      const up = parents.pop();
      const key = keys.pop();
      if (typeof node === 'string') {
        if (node.length < 2 || plain(node)) continue;
        if (!this.freeText.empty && this.freeText.has(locationOf(up, key))) continue;
        let found = seen.get(node);
        if (found === undefined) {
          found = this.detect('body', node);
          if (node.length <= MEMO_LENGTH && seen.size < MEMO_ENTRIES) seen.set(node, found);
        }
        if (found) this.report(found, locationOf(up, key), out);
      } else if (node && typeof node === 'object') {
        const link: Link | undefined = key === undefined ? undefined : { key, up };
        if (Array.isArray(node)) {
          for (let i = node.length - 1; i >= 0; i--) {
            nodes.push(node[i]);
            parents.push(link);
            keys.push(i);
          }
        } else {
          for (const name of Object.keys(node)) {
            if (name.indexOf('$') >= 0) this.name(locationOf(link, name), name, out);
            nodes.push((node as Record<string, unknown>)[name]);
            parents.push(link);
            keys.push(name);
          }
        }
      }
    }
  }
}

/** A JSON node's key (an array index or an object key) and its parent's link (none for the body itself). */
interface Link {
  key: string | number;
  up: Link | undefined;
}

/** ['body', ...keys] of the node with key `key` (none for the body itself) under `up`. */
function locationOf(up: Link | undefined, key: string | number | undefined): string[] {
  const location: string[] = key === undefined ? [] : [String(key)];
  for (let at = up; at; at = at.up) location.push(String(at.key));
  location.push('body');
  return location.reverse();
}

function push(out: Finding[], category: Category, location: string[]): void {
  const where = location.join('/');
  if (!out.some((f) => f.category === category && f.location === where)) out.push({ category, location: where });
}

/** Letters and digits only (ids, tokens, single words): nothing any detector could flag. */
function plain(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return false;
  }
  return true;
}
