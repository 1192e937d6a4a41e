import { definePlugin } from '../../shared/plugin';
import { TenantQuotaHandler } from './handler';
import { checks, fields } from './schema';

/**
 * tenant-quota: multi-tenant rate limits and calendar quotas, exact under concurrency (one atomic Redis script per
 * request checks every limit and consumes from none if any denies), isolated per tenant (the tenant is the Redis
 * Cluster hash tag of every key), with IETF RateLimit headers, plans changeable at runtime and honest failure modes.
 * Priority 910: after authentication (the consumer is known) and version-deprecation (920), like Kong's
 * rate-limiting.
 */
export const { Plugin, Name, Version, Priority, Schema, schema, checkConfig } = definePlugin({
  name: 'tenant-quota',
  version: '1.0.0',
  priority: 910,
  fields,
  checks,
  failurePolicy: 'fail_open',
  Handler: TenantQuotaHandler,
});
