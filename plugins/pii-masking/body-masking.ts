import { decodeBody, DecodeError, encodeBody, parseContentEncoding, type Coding } from './body-codec';
import { charsetOf, utf16ToUtf8, utf8ToUtf16 } from './charset';
import { parseContentType, type BodyFormat, type ContentTypes } from './content-types';
import { maskJson, type JsonMaskDeps } from './json-masker';
import { maskText } from './text-masker';
import { MaskReport } from './value-masker';
import { maskXml } from './xml-masker';

/** Headers naming or hashing the exact bytes of the upstream body (lower case). */
export const VALIDATORS = ['etag', 'content-md5', 'content-digest', 'repr-digest', 'digest'];

/**
 * The validators present among the upstream's headers, to remove when the body is replaced: a cache or a
 * conditional request could pair the masked body with the original's identity, or answer 304 for it.
 */
export function staleValidators(headers: Readonly<Record<string, unknown>>): string[] {
  return VALIDATORS.filter((name) => headers[name]);
}

export type OversizeAction = 'pass' | 'block' | 'scan_text';

/** Why a body could not be read: each is blocked unless the operator lists it in `pass_unreadable`. */
export const UNREADABLE_REASONS = ['encoding', 'corrupt', 'charset', 'media_type', 'partial_content', 'time_budget'] as const;
export type UnreadableReason = (typeof UNREADABLE_REASONS)[number];

export interface BodyPolicy {
  maxBodySize: number;
  oversizeAction: OversizeAction;
  passUnreadable: ReadonlySet<UnreadableReason>;
  compressedOutput: 'reencode' | 'identity';
}

export type SkipReason = 'size' | 'content_type' | UnreadableReason | 'too_large_decoded' | 'invalid_json' | 'invalid_xml';
export type BlockReason = 'pii' | 'dtd' | 'size' | UnreadableReason;

export type BodyDecision =
  | { action: 'pass'; report: MaskReport; skipped?: SkipReason }
  | { action: 'replace'; report: MaskReport; body: Buffer; dropEncoding: boolean; format: BodyFormat; skipped?: SkipReason }
  | { action: 'block'; report: MaskReport; reason: BlockReason; skipped?: SkipReason };

/** One upstream response body to decide on, with the headers that say how to read it. */
export interface BodyJob {
  body: Buffer;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  status: number;
}

export interface BodyMasking {
  deps: JsonMaskDeps;
  contentTypes: ContentTypes;
  policy: BodyPolicy;
}

/**
 * The whole body decision, without PDK, failing closed: the media type decides scan / pass / unknown (blocked); a
 * 206 fragment of a scanned type is blocked (PII can straddle fragments); the Content-Encoding must be one coding the
 * plugin decodes and decode cleanly (no zstd, no `gzip, gzip`, no truncated or CRC-broken gzip); the size policy
 * applies to the decoded size; the charset must be ASCII-compatible or UTF-16 (decoded); then the body is masked by
 * format (invalid JSON or XML is scanned as text; XML with a DTD is blocked) and either passes (nothing found), is
 * replaced (masked, re-encoded), or is blocked. Each unreadable case passes only when listed in passUnreadable.
 */
export async function maskBody(job: BodyJob, masking: BodyMasking): Promise<BodyDecision> {
  const { policy, deps } = masking;
  const report = new MaskReport();
  const media = masking.contentTypes.decide(job.contentType);
  if (media.kind === 'pass') return { action: 'pass', report, skipped: 'content_type' };
  if (media.kind === 'unknown') return unreadable(policy, report, 'media_type');
  if (job.status === 206) return unreadable(policy, report, 'partial_content');
  const coding = parseContentEncoding(job.contentEncoding);
  if (coding === undefined) return unreadable(policy, report, 'encoding');
  if (coding === 'identity' && job.body.length > policy.maxBodySize && policy.oversizeAction !== 'scan_text') return oversize(policy, report);
  let plain: Buffer<ArrayBufferLike>;
  try {
    plain = await decodeBody(job.body, coding, policy.maxBodySize + 1);
  } catch (err) {
    if (err instanceof DecodeError && err.reason === 'too_large') {
      if (policy.oversizeAction !== 'scan_text') return oversize(policy, report);
      return unreadable(policy, report, 'corrupt', 'too_large_decoded');
    }
    return unreadable(policy, report, 'corrupt');
  }
  let effective: BodyFormat = media.format;
  let skipped: SkipReason | undefined;
  if (plain.length > policy.maxBodySize) {
    if (policy.oversizeAction !== 'scan_text') return oversize(policy, report);
    effective = 'text';
    skipped = 'size';
  }
  const charset = charsetOf(parseContentType(job.contentType)?.charset, plain);
  if (charset === undefined) return unreadable(policy, report, 'charset');
  let bom: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  if (charset !== 'bytes') {
    const utf8 = utf16ToUtf8(plain, charset);
    if (!utf8) return unreadable(policy, report, 'charset');
    plain = utf8.utf8;
    bom = utf8.bom;
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
  let masked: Buffer<ArrayBufferLike> = Buffer.from(output, 'latin1');
  if (charset !== 'bytes') masked = utf8ToUtf16(masked, charset, bom);
  const dropEncoding = coding !== 'identity' && policy.compressedOutput === 'identity';
  const encoded = dropEncoding ? masked : await encodeBody(masked, coding as Coding);
  return { action: 'replace', report, body: encoded, dropEncoding, format: effective, skipped };
}

function oversize(policy: BodyPolicy, report: MaskReport): BodyDecision {
  return policy.oversizeAction === 'block' ? { action: 'block', report, reason: 'size', skipped: 'size' } : { action: 'pass', report, skipped: 'size' };
}

export function unreadable(policy: BodyPolicy, report: MaskReport, reason: UnreadableReason, skipped: SkipReason = reason): BodyDecision {
  return policy.passUnreadable.has(reason) ? { action: 'pass', report, skipped } : { action: 'block', report, reason, skipped };
}
