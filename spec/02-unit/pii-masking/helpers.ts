import { KeyContexts } from '../../../plugins/pii-masking/detectors/key-context';
import { BUILTIN_TYPES, DetectorRegistry } from '../../../plugins/pii-masking/detectors/registry';
import type { CustomDetectorSpec } from '../../../plugins/pii-masking/detectors/custom';
import { FieldRules } from '../../../plugins/pii-masking/field-rules';
import type { JsonMaskDeps } from '../../../plugins/pii-masking/json-masker';
import { Masker, type Mode } from '../../../plugins/pii-masking/modes';
import { DEFAULT_MASK_KEYS } from '../../../plugins/pii-masking/schema';
import { ValueMasker } from '../../../plugins/pii-masking/value-masker';

export const TEST_KEY = Buffer.from('test-key-0123456789abcdef-0123456789');

export interface DepsOptions {
  types?: readonly string[];
  modes?: Record<string, Mode>;
  defaultMode?: Mode;
  fieldMode?: Mode;
  maskKeys?: string[];
  maskPaths?: string[];
  custom?: CustomDetectorSpec[];
  key?: Buffer;
}

/** The masking dependencies a plugin instance builds, for unit tests. */
export function buildDeps(options: DepsOptions = {}): JsonMaskDeps {
  const registry = new DetectorRegistry({ types: options.types ?? BUILTIN_TYPES, defaultRegion: 'US', custom: options.custom ?? [] });
  const masker = new Masker(options.key ?? TEST_KEY);
  const values = new ValueMasker(registry, masker, new Map(Object.entries(options.modes ?? {})), options.defaultMode ?? 'redact', options.fieldMode ?? 'redact');
  return { values, keys: new KeyContexts(), rules: new FieldRules(options.maskKeys ?? DEFAULT_MASK_KEYS, options.maskPaths ?? []) };
}
