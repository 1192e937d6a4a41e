import type { DetectorRegistry } from './detectors/registry';
import type { KeyContext } from './detectors/types';
import type { Masker, Mode } from './modes';

/** What masking one body found: detections per type and the types whose mode is `block`. */
export class MaskReport {
  readonly counts = new Map<string, number>();
  readonly blocked = new Set<string>();

  record(type: string, blocked: boolean): void {
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    if (blocked) this.blocked.add(type);
  }

  get total(): number {
    let n = 0;
    for (const count of this.counts.values()) n += count;
    return n;
  }
}

/** A replacement of `[start, end)` (offsets in the scanned value) by `text` (not yet escaped for its format). */
export interface ValueEdit {
  start: number;
  end: number;
  text: string;
}

/** Field rules' pseudo-type: a value masked because of its key or path, whatever it holds. */
export const FIELD_TYPE = 'field';

/**
 * Detection plus masking for one value (a JSON leaf, an XML text node or attribute, a text body, a header value):
 * runs the registry, counts each detection, and turns each match into an edit in the match type's mode. A `block`
 * match produces no edit; the report says the response must be blocked.
 */
export class ValueMasker {
  constructor(
    readonly registry: DetectorRegistry,
    readonly masker: Masker,
    private readonly modes: ReadonlyMap<string, Mode>,
    readonly defaultMode: Mode,
    readonly fieldMode: Mode,
  ) {}

  modeOf(type: string): Mode {
    return this.modes.get(type) ?? this.defaultMode;
  }

  /**
   * Edits for every detection in `text`. `forLogs`: a value bound for Kong's log serializer cannot be blocked, so a
   * `block` type is redacted there instead. `measured`: the registry has just measured exactly this text
   * (DetectorRegistry.measureRange).
   */
  edits(text: string, key: KeyContext | undefined, numeric: boolean, report: MaskReport, forLogs = false, measured = false): ValueEdit[] | undefined {
    const matches = this.registry.scan(text, key, numeric, measured);
    if (matches.length === 0) return undefined;
    const edits: ValueEdit[] = [];
    for (const match of matches) {
      let mode = this.modeOf(match.type);
      if (forLogs && mode === 'block') mode = 'redact';
      report.record(match.type, mode === 'block');
      if (mode === 'block') continue;
      edits.push({ start: match.start, end: match.end, text: this.masker.mask(match.type, text.slice(match.start, match.end), mode) });
    }
    return edits;
  }

  /** The whole value masked by a field rule (`password`, `$.card.number`). */
  field(text: string, report: MaskReport): string | undefined {
    report.record(FIELD_TYPE, this.fieldMode === 'block');
    if (this.fieldMode === 'block') return undefined;
    if (this.fieldMode === 'token') return this.masker.token(FIELD_TYPE, text);
    if (this.fieldMode === 'redact') return '[REDACTED]';
    return this.masker.mask(FIELD_TYPE, text, this.fieldMode);
  }
}

/** Applies edits (sorted, non-overlapping, in value offsets) to a value. */
export function applyEdits(text: string, edits: ValueEdit[]): string {
  let out = '';
  let at = 0;
  for (const edit of edits) {
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}
