import { definePlugin } from '../../shared/plugin';
import { VersionDeprecationHandler } from './handler';
import { checks, fields } from './schema';

/**
 * version-deprecation: resolves the API version a request asks for (header, path segment, query parameter or
 * Accept media-type parameter), routes it upstream, and signals its lifecycle in-band (RFC 9745 Deprecation,
 * RFC 8594 Sunset, RFC 8288/5829 Link), with 410 answers in scheduled brownouts and after the sunset, and
 * per-consumer usage metrics of deprecated versions. Priority 920: after authentication (the consumer is known),
 * before rate limiting (rejected versions do not spend quota).
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'version-deprecation',
  version: '1.0.0',
  priority: 920,
  fields,
  checks,
  failurePolicy: 'fail_open',
  Handler: VersionDeprecationHandler,
});
