/**
 * CR/LF where a header line could be split: in header values, parameters and path segments (after decoding, so
 * %0d%0a, %250a and %u000a count). Bodies are not checked: newlines are normal text there. Pure.
 */
export function detectCrlf(value: string): boolean {
  return value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0;
}
