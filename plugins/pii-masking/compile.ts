import type { Logger } from '../../shared/observability/log';
import type { BodyMasking, UnreadableReason } from './body-masking';
import type { PiiMaskingConfig } from './config';
import { ContentTypes } from './content-types';
import { KeyContexts } from './detectors/key-context';
import { DetectorRegistry } from './detectors/registry';
import { FieldRules } from './field-rules';
import type { JsonMaskDeps } from './json-masker';
import { LogMasking } from './log-masking';
import { Masker, type Mode } from './modes';
import { resolveTokenKey } from './token-key';
import { ValueMasker } from './value-masker';

/** Everything a config needs at request time, compiled once per plugin config (detectors, rules, token key). */
export interface CompiledMasking extends BodyMasking {
  deps: JsonMaskDeps;
  contentTypes: ContentTypes;
  /** undefined: mask_logs off. */
  logs: LogMasking | undefined;
  tokenKey: Buffer;
}

/** The config fields body masking depends on (what a worker thread receives to compile the same masking). */
export type MaskingConfig = Pick<
  PiiMaskingConfig,
  | 'detectors' | 'default_region' | 'custom_detectors' | 'modes' | 'default_mode' | 'field_mode' | 'mask_keys' | 'mask_paths' | 'content_types'
  | 'pass_content_types' | 'max_body_size' | 'oversize_action' | 'pass_unreadable' | 'compressed_output' | 'mask_logs' | 'log_headers'
  | 'log_query_params' | 'log_mode'
>;

export function compileMasking(config: MaskingConfig & { token_key?: string | null }, log: Logger | undefined, tokenKey?: Buffer): CompiledMasking {
  const labels = new Map<string, string>();
  for (const custom of config.custom_detectors) if (custom.label) labels.set(custom.name, custom.label);
  const key = tokenKey ?? resolveTokenKey(config.token_key ?? null, log!);
  const masker = new Masker(key, labels);
  const registry = new DetectorRegistry({
    types: config.detectors,
    defaultRegion: config.default_region,
    custom: config.custom_detectors.map((c) => ({ name: c.name, pattern: c.pattern, validator: c.validator, keys: c.keys, caseInsensitive: c.case_insensitive })),
  });
  const values = new ValueMasker(registry, masker, new Map(Object.entries(config.modes) as Array<[string, Mode]>), config.default_mode, config.field_mode);
  const keys = new KeyContexts();
  return {
    deps: { values, keys, rules: new FieldRules(config.mask_keys, config.mask_paths) },
    contentTypes: new ContentTypes(config.content_types, config.pass_content_types),
    policy: {
      maxBodySize: config.max_body_size,
      oversizeAction: config.oversize_action,
      passUnreadable: new Set(config.pass_unreadable as UnreadableReason[]),
      compressedOutput: config.compressed_output,
    },
    logs: config.mask_logs ? new LogMasking({ headers: config.log_headers, queryParams: config.log_query_params, mode: config.log_mode }, values, masker, keys) : undefined,
    tokenKey: key,
  };
}
