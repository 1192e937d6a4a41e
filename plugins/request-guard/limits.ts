/**
 * Structural limits of a JSON body checked BEFORE JSON.parse, in one linear pass over the text: nesting depth,
 * elements per array, members per object, string length (keys and values, in characters as written, escapes
 * counted as written). Stops at the first limit crossed, so a hostile 1 MiB body of "[[[[..." costs one partial
 * scan, never a parse. Malformed JSON is left to JSON.parse. Pure.
 */
export interface JsonLimits {
  maxDepth: number;
  maxArrayLength: number;
  maxObjectKeys: number;
  maxStringLength: number;
}

/** A limits field of the config, or max_header_lines: the most header lines Kong can hand a plugin (1000). */
export type LimitName = 'max_json_depth' | 'max_array_length' | 'max_object_keys' | 'max_string_length' | 'max_body_bytes' | 'max_parameters' | 'max_header_lines';

export interface LimitBreach {
  limit: LimitName;
  max: number;
  /** Where, as far as the scan knows: "body", or the parameter part. */
  location: string;
}

export function scanJson(text: string, limits: JsonLimits): LimitBreach | undefined {
  // per open container: is it an object, and how many elements/members so far (an element starts after '[' / ',')
  const isObject: boolean[] = [];
  const counts: number[] = [];
  const seenValue: boolean[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 34) break;
        else i++;
      }
      if (i - start - 1 > limits.maxStringLength) return { limit: 'max_string_length', max: limits.maxStringLength, location: 'body' };
      markValue();
      continue;
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      markValue();
      if (isObject.length >= limits.maxDepth) return { limit: 'max_json_depth', max: limits.maxDepth, location: 'body' };
      isObject.push(c === 123);
      counts.push(0);
      seenValue.push(false);
      continue;
    }
    if (c === 93 || c === 125) {
      isObject.pop();
      counts.pop();
      seenValue.pop();
      continue;
    }
    if (c === 44 /* , */) {
      if (seenValue.length) seenValue[seenValue.length - 1] = false;
      continue;
    }
    if (c === 58 /* : */) continue;
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    markValue();
  }
  return undefined;

  function markValue(): void {
    const top = seenValue.length - 1;
    if (top < 0 || seenValue[top]) return;
    seenValue[top] = true;
    const count = ++counts[top];
    if (isObject[top]) {
      // a member is counted at its key (its value follows the ':' and is not a new start)
      if (count > limits.maxObjectKeys) throw limitError({ limit: 'max_object_keys', max: limits.maxObjectKeys, location: 'body' });
    } else if (count > limits.maxArrayLength) throw limitError({ limit: 'max_array_length', max: limits.maxArrayLength, location: 'body' });
  }
}

class LimitThrow extends Error {
  constructor(readonly breach: LimitBreach) {
    super(breach.limit);
  }
}

function limitError(breach: LimitBreach): LimitThrow {
  return new LimitThrow(breach);
}

/** scanJson without exceptions. */
export function checkJsonLimits(text: string, limits: JsonLimits): LimitBreach | undefined {
  try {
    return scanJson(text, limits);
  } catch (err) {
    if (err instanceof LimitThrow) return err.breach;
    throw err;
  }
}
