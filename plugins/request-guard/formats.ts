import type Ajv from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';
import { RE2JS } from 're2js';

/**
 * Schema `pattern`s and format checks run on client input, so they run on re2js (linear time) wherever RE2 can
 * express them: every `pattern` keyword (ajv's code.regExp hook; a pattern RE2 refuses makes the document fail to
 * compile, reported at instance start), and ajv-formats' regular-expression formats (email, ipv4, ipv6, uuid,
 * uri-reference, json-pointer, ...). The rest of ajv-formats (date, time, date-time, uri, duration, url, hostname,
 * int32/int64/float/double/byte) keeps its own code, which only sees strings already bounded by max_string_length.
 */
export interface RegExpLike {
  test(input: string): boolean;
}

export function re2RegExp(pattern: string, flags: string): RegExpLike {
  const re = RE2JS.compile(pattern, (flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (flags.includes('m') ? RE2JS.MULTILINE : 0) | (flags.includes('s') ? RE2JS.DOTALL : 0));
  return { test: (input: string) => re.matcher(input).find() };
}
// ajv caches compiled patterns by this code reference
(re2RegExp as unknown as { code: string }).code = 'require("re2js-ajv-hook")';

export function addFormats(ajv: Ajv): void {
  for (const [name, format] of Object.entries(fullFormats)) {
    if (format instanceof RegExp) {
      try {
        const re = re2RegExp(format.source, format.flags);
        ajv.addFormat(name, (value: string) => re.test(value));
        continue;
      } catch {
        // RE2 cannot express it (lookarounds): ajv-formats' own check
      }
    }
    ajv.addFormat(name, format as never);
  }
}
