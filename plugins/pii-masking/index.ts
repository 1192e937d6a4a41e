import { definePlugin } from '../../shared/plugin';
import { PiiMaskingHandler } from './handler';
import { checks, fields } from './schema';

/**
 * pii-masking: masks personal data and secrets in upstream responses (JSON, XML, text; gzip/deflate/br) without
 * re-serializing them, and keeps them out of Kong's logs. Priority 802: after auth plugins, before most
 * transformers (response-transformer is 800), so they see the masked body.
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'pii-masking',
  version: '0.1.0',
  priority: 802,
  fields,
  checks,
  failurePolicy: 'fail_closed',
  Handler: PiiMaskingHandler,
});
