import { field, type InferFields } from '../../shared/schema';
import { redisConfigProblem, redisField } from '../../shared/redis/schema';
import { operatorPatternReason } from '../../shared/safety/operator-pattern';
import { WEEKDAYS } from './calendar';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

const limitFields = {
  name: field.string({ required: true, len_min: 1, len_max: 64, pattern: NAME, lua_match: NAME, description: 'Policy name, unique within a plan: the RateLimit-Policy item name and part of the Redis key.' }),
  scope: field.string({
    one_of: ['tenant', 'consumer', 'endpoint'] as const,
    required: true,
    description: 'What the limit counts: the whole tenant, each consumer within the tenant, or each endpoint (route or configured method + path pattern) within the tenant.',
  }),
  algorithm: field.string({
    one_of: ['gcra', 'sliding_window', 'calendar'] as const,
    required: true,
    description: 'gcra: token bucket (limit per window_seconds, bucket of burst); sliding_window: exact sliding log over window_seconds; calendar: quota per calendar day/week/month.',
  }),
  limit: field.integer({ required: true, between: [1, 1_000_000_000], description: 'Units (requests times cost) allowed per window: the q of RateLimit-Policy.' }),
  window_seconds: field.integer({ between: [1, 31 * 86400], description: 'gcra and sliding_window: the window length (w). Required for them.' }),
  burst: field.integer({ between: [1, 1_000_000_000], description: 'gcra: bucket capacity, the most units admitted at once; unset: equal to limit.' }),
  period: field.string({ one_of: ['day', 'week', 'month'] as const, description: 'calendar: the calendar period. Required for calendar limits.' }),
};

const limitsArray = (description: string) => field.array(field.record(limitFields), { len_max: 32, description });

export const fields = {
  identity: field.record({
    source: field.string({
      one_of: ['consumer', 'credential', 'jwt', 'header'] as const,
      default: 'consumer',
      description: 'Where the tenant comes from: the authenticated Kong consumer, its credential, a verified JWT claim, or a request header (only with trust_header).',
    }),
    consumer_field: field.string({
      one_of: ['username', 'custom_id', 'id', 'tag'] as const,
      default: 'username',
      description: 'source consumer/credential: the consumer field naming the tenant; "tag" takes the first tag starting with tag_prefix (e.g. tenant:acme).',
    }),
    tag_prefix: field.string({ default: 'tenant:', len_min: 1, description: 'Tag prefix for consumer_field "tag" (also read from credential tags).' }),
    header_name: field.string({ default: 'X-Tenant-ID', len_min: 1, description: 'source header: the header carrying the tenant.' }),
    trust_header: field.boolean({
      default: false,
      description: 'Must be true for source header: only when something before Kong (or another plugin) sets or strips this header, since clients can send any value.',
    }),
    consumer_header: field.string({ len_min: 1, description: 'source header: optional trusted header naming the consumer within the tenant.' }),
    jwt: field.record({
      header: field.string({ default: 'Authorization', len_min: 1, description: 'Header carrying the token ("Bearer <jwt>" or the bare token).' }),
      tenant_claim: field.string({ default: 'tenant', len_min: 1, description: 'Claim naming the tenant.' }),
      consumer_claim: field.string({ default: 'sub', len_min: 1, description: 'Claim naming the consumer within the tenant.' }),
      jwks_url: field.string({ format: 'uri', description: 'JWKS endpoint (keys fetched and cached; refetched on an unknown kid).' }),
      jwks_cache_seconds: field.integer({ default: 600, between: [1, 86400], description: 'How long fetched JWKS keys are trusted.' }),
      static_key: field.string({ len_min: 1, referenceable: true, encrypted: true, description: 'A static key instead of jwks_url: a PEM public key (RS/ES/PS/EdDSA) or an HMAC secret (HS*).' }),
      algorithms: field.array(field.string({ len_min: 1 }), { default: ['RS256', 'ES256'], len_min: 1, description: 'Accepted signature algorithms.' }),
      issuer: field.string({ len_min: 1, description: 'Required iss, when set.' }),
      audience: field.string({ len_min: 1, description: 'Required aud, when set.' }),
    }, { description: 'source jwt: where the token is and how it is verified.' }),
    unidentified: field.string({
      one_of: ['reject', 'anonymous'] as const,
      default: 'reject',
      description: 'A request without a tenant: answer 401 ("reject"), or count it as the anonymous tenant with its own plan.',
    }),
    anonymous_tenant: field.string({ default: 'anonymous', len_min: 1, len_max: 128, description: 'Tenant name used for unidentified requests.' }),
  }, { description: 'How the tenant (and the consumer within it) is identified.' }),
  plans: field.array(
    field.record({
      name: field.string({ required: true, len_min: 1, len_max: 64, pattern: NAME, lua_match: NAME, description: 'Plan name.' }),
      limits: limitsArray('The plan\'s limits; all are checked together, atomically.'),
    }),
    { required: true, len_min: 1, len_max: 64, description: 'Named plans with their limits.' },
  ),
  default_plan: field.string({ required: true, len_min: 1, description: 'Plan of a tenant with no assignment.' }),
  tenant_plans: field.map(field.string({ len_min: 1 }), field.string({ len_min: 1 }), { description: 'Static tenant -> plan assignments.' }),
  plan_source: field.string({
    one_of: ['config', 'redis'] as const,
    default: 'config',
    description: 'redis: tenant -> plan read from the Redis hash plan_hash (HSET it at runtime, no reload), falling back to tenant_plans and default_plan.',
  }),
  plan_hash: field.string({ default: 'tq:plans', len_min: 1, description: 'Redis hash of tenant -> plan name (plan_source redis).' }),
  plan_cache_seconds: field.integer({ default: 5, between: [0, 3600], description: 'How long a plan read from Redis is used before it is read again (stale while refreshing).' }),
  tenant_overrides: field.array(
    field.record({
      tenant: field.string({ required: true, len_min: 1, len_max: 128, description: 'Tenant name.' }),
      limits: limitsArray('Limits replacing the plan\'s limits of the same name, or added to them.'),
      billing_anchor_day: field.integer({ between: [1, 31], description: 'This tenant\'s billing anchor day.' }),
      time_zone: field.string({ len_min: 1, description: 'This tenant\'s IANA time zone.' }),
    }),
    { len_max: 10000, description: 'Per-tenant overrides of plan limits and calendar settings.' },
  ),
  calendar: field.record({
    time_zone: field.string({ default: 'UTC', len_min: 1, description: 'IANA time zone in which days, weeks and months start, e.g. Europe/Berlin.' }),
    billing_anchor_day: field.integer({ default: 1, between: [1, 31], description: 'Day of month a monthly quota resets (31: the last day of shorter months).' }),
    week_start: field.string({ one_of: WEEKDAYS, default: 'monday', description: 'First day of a weekly quota.' }),
  }, { description: 'When calendar quotas reset.' }),
  endpoints: field.array(
    field.record({
      name: field.string({ required: true, len_min: 1, len_max: 64, pattern: NAME, lua_match: NAME, description: 'Endpoint name (key part of endpoint-scoped limits).' }),
      methods: field.array(field.string({ len_min: 1 }), { description: 'Methods matched (unset: any).' }),
      path_pattern: field.string({ required: true, len_min: 1, description: 'Regex (RE2 syntax, matched in linear time) searched in the normalized path; anchor it with ^...$ to match the whole path.' }),
    }),
    { len_max: 256, description: 'Endpoints for endpoint-scoped limits, first match wins; a request matching none counts under its route. Unset: the route is the endpoint (no extra PDK call).' },
  ),
  cost: field.record({
    default: field.integer({ default: 1, between: [0, 1_000_000], description: 'Units a request costs (fixed per route: configure the plugin per route).' }),
    header: field.string({ len_min: 1, description: 'Request header carrying the cost (e.g. X-Request-Cost); absent: default.' }),
    min: field.integer({ default: 1, between: [0, 1_000_000], description: 'Lowest cost accepted from the header.' }),
    max: field.integer({ default: 100, between: [1, 1_000_000], description: 'Highest cost accepted from the header; outside min..max the request gets 400.' }),
  }, { description: 'Units one request costs.' }),
  refund_5xx: field.boolean({ default: false, description: 'Give back what a request consumed when it ends in 5xx (log phase, one more Redis call for those only).' }),
  mode: field.string({ one_of: ['enforce', 'shadow'] as const, default: 'enforce', description: 'shadow: count and send headers, never block (outcome logged and counted).' }),
  headers: field.string({
    one_of: ['ietf', 'legacy', 'both', 'none'] as const,
    default: 'ietf',
    description: 'Rate-limit headers: RateLimit/RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers-11), X-RateLimit-*, both, or none (Retry-After is still sent on 429).',
  }),
  redis: redisField('The Redis holding the counters (standalone, sentinel or cluster).'),
  on_redis_failure: field.string({
    one_of: ['fail_open', 'fail_closed', 'local'] as const,
    default: 'local',
    description: 'When Redis is unreachable, slow or its breaker is open: admit everything, answer 503, or enforce in-process limits (divided by node_count).',
  }),
  local_share_percent: field.integer({
    default: 100,
    between: [1, 100],
    description:
      'on_redis_failure local: the most of a limit (after node_count) a key may use when the fallback starts counting it; a key Redis answered for starts from what Redis said was left (divided by node_count), never from more.',
  }),
  node_count: field.integer({ default: 1, between: [1, 10000], description: 'Gateway processes sharing the limits: local fallback limits are divided by it.' }),
  time_source: field.string({
    one_of: ['redis', 'gateway'] as const,
    default: 'redis',
    description: 'Clock of gcra and sliding_window limits: Redis TIME (one clock for all nodes) or the gateway\'s. Calendar windows always follow the gateway clock.',
  }),
  key_prefix: field.string({ default: 'tq', len_min: 1, len_max: 32, pattern: '^[A-Za-z0-9_.-]+$', description: 'Prefix of every Redis key: <prefix>:{<tenant>}:...' }),
  near_limit_percents: field.array(field.integer({ between: [1, 100] }), { default: [80, 100], len_max: 8, description: 'Usage percentages of a limit that emit a near-limit log line and metric when crossed.' }),
  metrics_max_tenants: field.integer({ default: 100, between: [1, 100000], description: 'Distinct tenant label values in metrics; later tenants are counted as "__other__".' }),
};

export type TenantQuotaConfig = InferFields<typeof fields> & { failure_policy: 'fail_open' | 'fail_closed' };
export type LimitConfig = NonNullable<TenantQuotaConfig['plans'][number]['limits']>[number];

function limitProblem(limit: LimitConfig, where: string): [string, string] | undefined {
  if (limit.algorithm === 'calendar' && !limit.period) return [where, 'a calendar limit needs period'];
  if (limit.algorithm !== 'calendar' && !limit.window_seconds) return [where, `a ${limit.algorithm} limit needs window_seconds`];
  return undefined;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const checks = [
  (c: TenantQuotaConfig): [string, string] | undefined => {
    if (c.identity.source === 'header' && !c.identity.trust_header) {
      return ['identity.trust_header', 'source "header" needs trust_header: true (clients can send any header value)'];
    }
    if (c.identity.source === 'jwt' && !c.identity.jwt.jwks_url === !c.identity.jwt.static_key) {
      return ['identity.jwt', 'set exactly one of jwks_url and static_key'];
    }
    return undefined;
  },
  (c: TenantQuotaConfig): [string, string] | undefined => {
    const names = new Set<string>();
    for (const [i, plan] of c.plans.entries()) {
      if (names.has(plan.name)) return [`plans[${i}].name`, `duplicate plan ${plan.name}`];
      names.add(plan.name);
      const limitNames = new Set<string>();
      for (const [j, limit] of (plan.limits ?? []).entries()) {
        if (limitNames.has(limit.name)) return [`plans[${i}].limits[${j}].name`, `duplicate limit ${limit.name}`];
        limitNames.add(limit.name);
        const problem = limitProblem(limit, `plans[${i}].limits[${j}]`);
        if (problem) return problem;
      }
    }
    if (!names.has(c.default_plan)) return ['default_plan', `no plan named ${c.default_plan}`];
    for (const [tenant, plan] of Object.entries(c.tenant_plans ?? {})) {
      if (!names.has(plan)) return [`tenant_plans.${tenant}`, `no plan named ${plan}`];
    }
    for (const [i, o] of (c.tenant_overrides ?? []).entries()) {
      for (const [j, limit] of (o.limits ?? []).entries()) {
        const problem = limitProblem(limit, `tenant_overrides[${i}].limits[${j}]`);
        if (problem) return problem;
      }
      if (o.time_zone && !validZone(o.time_zone)) return [`tenant_overrides[${i}].time_zone`, `unknown time zone ${o.time_zone}`];
    }
    return undefined;
  },
  (c: TenantQuotaConfig): [string, string] | undefined => {
    if (!validZone(c.calendar.time_zone)) return ['calendar.time_zone', `unknown time zone ${c.calendar.time_zone}`];
    if (c.cost.min > c.cost.max) return ['cost.min', 'must not exceed cost.max'];
    for (const [i, e] of (c.endpoints ?? []).entries()) {
      const reason = operatorPatternReason(e.path_pattern);
      if (reason) return [`endpoints[${i}].path_pattern`, reason];
    }
    return redisConfigProblem(c.redis, 'redis');
  },
];
