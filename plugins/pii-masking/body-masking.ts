import type { BodyFormat } from './content-types';
import { decodeBody, DecodeError, encodeBody, parseContentEncoding, type Coding } from './body-codec';
import { maskJson, type JsonMaskDeps } from './json-masker';
import { maskText } from './text-masker';
import { MaskReport } from './value-masker';
import { maskXml } from './xml-masker';

export type OversizeAction = 'pass' | 'block' | 'scan_text';

export interface BodyPolicy {
  maxBodySize: number;
  oversizeAction: OversizeAction;
  unscannableAction: 'pass' | 'block';
  compressedOutput: 'reencode' | 'identity';
}

export type SkipReason = 'size' | 'encoding' | 'corrupt' | 'too_large_decoded' | 'invalid_json' | 'invalid_xml';
export type BlockReason = 'pii' | 'dtd' | 'size' | 'unscannable';

export type BodyDecision =
  | { action: 'pass'; report: MaskReport; skipped?: SkipReason }
  | { action: 'replace'; report: MaskReport; body: Buffer; dropEncoding: boolean; format: BodyFormat; skipped?: SkipReason }
  | { action: 'block'; report: MaskReport; reason: BlockReason; skipped?: SkipReason };

/**
 * The whole body decision, without PDK: decode (Content-Encoding), apply the size policy, mask by format (invalid
 * JSON or XML is scanned as text; XML with a DTD is blocked), then either pass (nothing found), replace (masked,
 * re-encoded or decoded), or block (a type in block mode, a DTD, or the size / unscannable policy says so).
 */
export async function maskBody(body: Buffer, format: BodyFormat, contentEncoding: string | undefined, policy: BodyPolicy, deps: JsonMaskDeps): Promise<BodyDecision> {
  const report = new MaskReport();
  const coding = parseContentEncoding(contentEncoding);
  if (coding === undefined) return unscannable(policy, report, 'encoding');
  if (coding === 'identity' && body.length > policy.maxBodySize) {
    if (policy.oversizeAction !== 'scan_text') return oversize(policy, report);
  }
  let plain: Buffer;
  try {
    plain = await decodeBody(body, coding, policy.maxBodySize + 1);
  } catch (err) {
    if (err instanceof DecodeError && err.reason === 'too_large') {
      if (policy.oversizeAction !== 'scan_text') return oversize(policy, report);
      return unscannable(policy, report, 'too_large_decoded');
    }
    return unscannable(policy, report, 'corrupt');
  }
  let effective: BodyFormat = format;
  let skipped: SkipReason | undefined;
  if (plain.length > policy.maxBodySize) {
    if (policy.oversizeAction !== 'scan_text') return oversize(policy, report);
    effective = 'text';
    skipped = 'size';
  }
  const raw = plain.toString('latin1');
  let output: string | undefined;
  if (effective === 'json') {
    const outcome = maskJson(raw, deps, report);
    if (!outcome.valid) {
      skipped = 'invalid_json';
      output = maskText(raw, deps.values, report);
    } else output = outcome.output;
  } else if (effective === 'xml') {
    const outcome = maskXml(raw, deps, report);
    if (outcome.kind === 'dtd') return { action: 'block', report, reason: 'dtd' };
    if (outcome.kind === 'invalid') {
      skipped = 'invalid_xml';
      output = maskText(raw, deps.values, report);
    } else output = outcome.output;
  } else output = maskText(raw, deps.values, report);

  if (report.blocked.size > 0) return { action: 'block', report, reason: 'pii', skipped };
  if (output === undefined) return { action: 'pass', report, skipped };
  const masked = Buffer.from(output, 'latin1');
  const dropEncoding = coding !== 'identity' && policy.compressedOutput === 'identity';
  const encoded = dropEncoding ? masked : await encodeBody(masked, coding as Coding);
  return { action: 'replace', report, body: encoded, dropEncoding, format: effective, skipped };
}

function oversize(policy: BodyPolicy, report: MaskReport): BodyDecision {
  return policy.oversizeAction === 'block' ? { action: 'block', report, reason: 'size', skipped: 'size' } : { action: 'pass', report, skipped: 'size' };
}

function unscannable(policy: BodyPolicy, report: MaskReport, reason: SkipReason): BodyDecision {
  return policy.unscannableAction === 'block' ? { action: 'block', report, reason: 'unscannable', skipped: reason } : { action: 'pass', report, skipped: reason };
}
