import { Splicer } from './splice';
import { decodeEntities } from './xml-masker';
import type { MaskReport, ValueMasker } from './value-masker';

/**
 * Plain-text masking (text/plain, text/csv, text/html, and any body scanned "as text"): the whole body is one value
 * without key context; detectors that need context (bare SSNs, dates of birth) look for context words in the text.
 */
export function maskText(raw: string, values: ValueMasker, report: MaskReport): string | undefined {
  // character references and entities (`alice&#64;example.com`, `&commat;`) are decoded for scanning, like in XML
  if (raw.indexOf('&') >= 0) {
    const decoded = decodeEntities(raw, 0, raw.length);
    if (decoded.text.length !== raw.length) {
      const edits = values.edits(decoded.text, undefined, false, report);
      if (!edits || edits.length === 0) return undefined;
      const splicer = new Splicer(raw);
      for (const edit of edits) splicer.replace(decoded.map[edit.start], decoded.map[edit.end], edit.text);
      return splicer.result();
    }
  }
  const edits = values.edits(raw, undefined, false, report);
  if (!edits || edits.length === 0) return undefined;
  const splicer = new Splicer(raw);
  for (const edit of edits) splicer.replace(edit.start, edit.end, edit.text);
  return splicer.result();
}
