import type { InferFields } from '../../shared/schema/fields';
import type { FailurePolicy } from '../../shared/plugin';
import type { fields } from './schema';

export type PiiMaskingConfig = InferFields<typeof fields> & { failure_policy: FailurePolicy };
