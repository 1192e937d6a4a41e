import { DashboardBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * Grafana dashboards as code (@grafana/grafana-foundation-sdk), generated to observability/grafana/dashboards/*.json
 * by `npm run dashboards` and provisioned by docker-compose.yml. Every query says where its series come from, so
 * spec/10-integration/prometheus-queries.spec.ts can run each one against a real Prometheus and know what to expect:
 * - suite: this suite's plugin servers (`kong-plugin-server --metrics-port`), scraped in that test;
 * - kong: Kong's prometheus plugin (only with real Kong); redis: the Redis exporter of docker-compose.yml;
 * - planned: metric names a plugin that is not built yet will export (request-guard, istio-policy-sync)
 *   or the plugin server does not export yet (event latency): the query parses, and returns nothing until then.
 */

export type Source = 'suite' | 'kong' | 'redis' | 'planned';

export interface QuerySpec {
  expr: string;
  legend?: string;
  source: Source;
  /** suite queries whose series need an event the test's traffic does not cause (a 5xx, Redis down, ...) */
  needs?: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  kind?: 'timeseries' | 'stat' | 'heatmap';
  unit?: string;
  queries: QuerySpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables?: Array<{ name: string; label: string; query: string }>;
  rows: Array<{ title: string; panels: PanelSpec[] }>;
}

const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' };
const RATE = '$__rate_interval';

const suite = (expr: string, legend?: string, needs?: string): QuerySpec => ({ expr, legend, source: 'suite', ...(needs ? { needs } : {}) });
const kong = (expr: string, legend?: string): QuerySpec => ({ expr, legend, source: 'kong' });
const redis = (expr: string, legend?: string): QuerySpec => ({ expr, legend, source: 'redis' });
const planned = (expr: string, legend?: string): QuerySpec => ({ expr, legend, source: 'planned' });

export const DASHBOARDS: DashboardSpec[] = [
  {
    uid: 'kps-tenants',
    title: 'Tenants: usage, quotas, 429s',
    description: 'tenant-quota per tenant: requests by outcome, units consumed, near-limit crossings, 429s (plugin and Kong).',
    tags: ['kong-plugin-suite', 'tenant-quota', 'multi-tenancy'],
    variables: [{ name: 'tenant', label: 'Tenant', query: 'label_values(kong_tenant_quota_requests_total, tenant)' }],
    rows: [
      {
        title: 'Usage vs quota',
        panels: [
          {
            title: 'Requests by outcome',
            description: 'allowed, limited (429), shadow_limited, local_* (Redis down), unidentified, invalid_cost.',
            unit: 'reqps',
            queries: [suite(`sum by (tenant, outcome) (rate(kong_tenant_quota_requests_total{tenant=~"$tenant"}[${RATE}]))`, '{{tenant}} {{outcome}}')],
          },
          {
            title: 'Quota units consumed (over the range)',
            description: 'Units (request cost) per tenant and plan. The plan limits are in kong.yml; tenant-quota does not export them as a metric.',
            kind: 'stat',
            queries: [suite('sum by (tenant, plan) (increase(kong_tenant_quota_units_total{tenant=~"$tenant"}[$__range]))', '{{tenant}} ({{plan}})')],
          },
          {
            title: 'Share of requests over quota',
            description: 'limited / all, per tenant: the TenantQuotaExhausted alert fires above 50% for 10 minutes.',
            unit: 'percentunit',
            queries: [suite(
              `sum by (tenant) (rate(kong_tenant_quota_requests_total{tenant=~"$tenant",outcome=~"limited|local_limited"}[${RATE}])) / sum by (tenant) (rate(kong_tenant_quota_requests_total{tenant=~"$tenant"}[${RATE}]))`,
              '{{tenant}}',
            )],
          },
          {
            title: 'Near-limit crossings',
            description: 'Calendar quotas crossing a configured usage percentage (tenant-quota near_limit_percents).',
            queries: [suite('sum by (tenant, limit, percent) (increase(kong_tenant_quota_near_limit_total{tenant=~"$tenant"}[1h]))', '{{tenant}} {{limit}} {{percent}}%', 'a calendar quota configured with near-limit percentages crossing one')],
          },
        ],
      },
      {
        title: '429s and refunds',
        panels: [
          {
            title: '429 answered by Kong, per consumer',
            description: "Kong's prometheus plugin (per_consumer: true in kong.yml): every 429 whichever plugin answered it.",
            unit: 'reqps',
            queries: [kong(`sum by (consumer) (rate(kong_http_requests_total{code="429"}[${RATE}]))`, '{{consumer}}')],
          },
          {
            title: 'Refunds after upstream 5xx',
            description: 'Requests whose quota units were given back because the upstream failed.',
            queries: [suite(`sum by (tenant, result) (rate(kong_tenant_quota_refunds_total{tenant=~"$tenant"}[${RATE}]))`, '{{tenant}} {{result}}', 'an upstream 5xx on a quota route with refunds enabled')],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-api-versions',
    title: 'API versions: lifecycle, deprecated callers, brownouts',
    description: 'version-deprecation: calls per version and lifecycle state, deprecated versions by consumer, brownouts and sunsets, 400s.',
    tags: ['kong-plugin-suite', 'version-deprecation', 'versioning'],
    variables: [{ name: 'version', label: 'Version', query: 'label_values(kong_version_deprecation_requests_total, version)' }],
    rows: [
      {
        title: 'Versions',
        panels: [
          {
            title: 'Calls per version and state',
            description: 'active, announced, deprecated, brownout, sunset.',
            unit: 'reqps',
            queries: [suite(`sum by (version, state) (rate(kong_version_deprecation_requests_total{version=~"$version"}[${RATE}]))`, '{{version}} {{state}}')],
          },
          {
            title: 'Deprecated versions: calls by consumer (over the range)',
            description: 'Who still has to migrate (consumer empty when consumer_metrics is off); the version-usage CLI reads the same counters.',
            kind: 'stat',
            queries: [suite('sum by (consumer, version) (increase(kong_version_deprecation_requests_total{state=~"deprecated|brownout|sunset"}[$__range]))', '{{consumer}} {{version}}')],
          },
          {
            title: 'Brownouts and sunset answers',
            description: 'Requests answered during a brownout window or after the sunset (410 Gone).',
            unit: 'reqps',
            queries: [suite(`sum by (version, state) (rate(kong_version_deprecation_requests_total{state=~"brownout|sunset"}[${RATE}]))`, '{{version}} {{state}}')],
          },
          {
            title: 'Unknown or missing version (400)',
            description: 'Requests naming no supported version.',
            unit: 'reqps',
            queries: [suite(`sum by (reason) (rate(kong_version_deprecation_rejected_total[${RATE}]))`, '{{reason}}')],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-bots',
    title: 'Bots: scores, categories, blocks',
    description: 'bot-guard: the score distribution, decisions by category and action, blocks, and the reason codes behind them.',
    tags: ['kong-plugin-suite', 'bot-guard', 'security'],
    rows: [
      {
        title: 'Bot detection',
        panels: [
          {
            title: 'Score distribution',
            description: 'kong_bot_guard_score: every request scored (0-100; 50 and above count as bots by default).',
            kind: 'heatmap',
            queries: [suite(`sum by (le) (rate(kong_bot_guard_score_bucket[${RATE}]))`, '{{le}}')],
          },
          {
            title: 'Decisions by category',
            description: 'kong_bot_guard_decisions_total{category,action,dry_run}: dry_run="yes" counts what would have been done.',
            unit: 'reqps',
            queries: [suite(`sum by (category, action) (rate(kong_bot_guard_decisions_total[${RATE}]))`, '{{category}} {{action}}')],
          },
          {
            title: 'Blocks by category',
            description: 'The BotSurge alert watches blocks.',
            unit: 'reqps',
            queries: [suite(`sum by (category) (rate(kong_bot_guard_decisions_total{action="block"}[${RATE}]))`, '{{category}}')],
          },
          {
            title: 'Reasons',
            description: 'kong_bot_guard_reasons_total{reason}: the reason codes given (UA family, header checks, IP lists, verification, traps, velocity).',
            unit: 'reqps',
            queries: [suite(`sum by (reason) (rate(kong_bot_guard_reasons_total[${RATE}]))`, '{{reason}}')],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-pii',
    title: 'PII masking: detections and blocked responses',
    description: 'pii-masking: sensitive values detected by type and location, responses blocked, bodies masked or skipped.',
    tags: ['kong-plugin-suite', 'pii-masking', 'security'],
    rows: [
      {
        title: 'Detections',
        panels: [
          {
            title: 'Detections by type',
            description: 'email, card, secret, ... per location (body, request_header, response_header, query).',
            unit: 'ops',
            queries: [suite(`sum by (type, location) (rate(kong_pii_masking_detections_total[${RATE}]))`, '{{type}} {{location}}')],
          },
          {
            title: 'Blocked responses',
            description: 'Responses replaced by problem+json: pii (a block-mode type), dtd, size, unscannable. The PiiBlockSpike alert watches this.',
            unit: 'reqps',
            queries: [suite(`sum by (reason) (rate(kong_pii_masking_blocked_responses_total[${RATE}]))`, '{{reason}}')],
          },
          {
            title: 'Bodies masked and skipped',
            description: 'Masked by format; skipped by reason (content type, size, encoding, invalid JSON/XML).',
            unit: 'reqps',
            queries: [
              suite(`sum by (format) (rate(kong_pii_masking_bodies_masked_total[${RATE}]))`, 'masked {{format}}'),
              suite(`sum by (reason) (rate(kong_pii_masking_bodies_skipped_total[${RATE}]))`, 'skipped {{reason}}', 'a body pii-masking cannot or need not scan (binary, oversized, invalid JSON)'),
            ],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-plugin-servers',
    title: 'Plugin servers: events, errors, latency, memory',
    description: 'One plugin-server process per plugin (Kong >= 3.9): events handled, phase errors, abandoned/stuck events, instances, memory.',
    tags: ['kong-plugin-suite', 'plugin-server'],
    rows: [
      {
        title: 'Events',
        panels: [
          {
            title: 'Events per second',
            description: 'Phase events (access, response, log, ...) handled by each plugin server.',
            unit: 'ops',
            queries: [suite(`sum by (plugin) (rate(kong_plugin_server_events_total[${RATE}]))`, '{{plugin}}')],
          },
          {
            title: 'Errors',
            description: 'Phase handlers that threw (server count, and per phase and failure policy from the plugin base), abandoned and stuck events.',
            queries: [
              suite(`sum by (plugin) (rate(kong_plugin_server_phase_errors_total[${RATE}]))`, '{{plugin}} phase errors'),
              suite(`sum by (plugin, phase, policy) (rate(kong_plugins_phase_errors_total[${RATE}]))`, '{{plugin}} {{phase}} ({{policy}})', 'a plugin phase throwing'),
              suite(`sum by (plugin) (rate(kong_plugin_server_abandoned_events_total[${RATE}]) + rate(kong_plugin_server_stuck_handlers_total[${RATE}]))`, '{{plugin}} abandoned+stuck'),
            ],
          },
          {
            title: 'Event latency (p99)',
            description: 'Not exported by the plugin server yet (planned histogram kong_plugin_server_event_duration_seconds). Kong-side plugin latency: kong_kong_latency_ms.',
            unit: 's',
            queries: [
              planned(`histogram_quantile(0.99, sum by (le, plugin) (rate(kong_plugin_server_event_duration_seconds_bucket[${RATE}])))`, '{{plugin}}'),
              kong(`histogram_quantile(0.99, sum by (le) (rate(kong_kong_latency_ms_bucket[${RATE}]))) / 1000`, 'Kong (plugins included)'),
            ],
          },
        ],
      },
      {
        title: 'Processes',
        panels: [
          {
            title: 'Resident memory',
            description: 'Node.js process memory per plugin server (prom-client default metrics).',
            unit: 'bytes',
            queries: [
              suite('max by (plugin) (process_resident_memory_bytes{job="kong-plugin-server"})', '{{plugin}} rss'),
              suite('max by (plugin) (nodejs_heap_size_used_bytes{job="kong-plugin-server"})', '{{plugin}} heap'),
            ],
          },
          {
            title: 'Live instances and waiting events',
            description: 'Plugin instances (one per config and nginx worker) and events waiting for Kong\'s next Step.',
            queries: [
              suite('sum by (plugin) (kong_plugin_server_instances)', '{{plugin}} instances'),
              suite('sum by (plugin) (kong_plugin_server_events_waiting)', '{{plugin}} waiting'),
            ],
          },
          {
            title: 'Plugin servers up',
            description: 'Scrape health of every plugin server\'s metrics port.',
            kind: 'stat',
            queries: [suite('up{job="kong-plugin-server"}', '{{plugin}}')],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-redis',
    title: 'Redis: latency and circuit breakers',
    description: 'The suite\'s Redis calls (outcomes, breaker state, quota failures) and the Redis server (exporter).',
    tags: ['kong-plugin-suite', 'redis', 'resilience'],
    rows: [
      {
        title: 'Circuit breakers',
        panels: [
          {
            title: 'Breaker state',
            description: '0 closed, 1 half-open, 2 open, per plugin and Redis target. RedisBreakerOpen fires after a minute open.',
            kind: 'stat',
            queries: [suite('max by (plugin, target) (kong_plugins_redis_breaker_state)', '{{plugin}} {{target}}')],
          },
          {
            title: 'Redis calls by outcome',
            description: 'ok, error, timeout, rejected (refused by an open breaker).',
            unit: 'ops',
            queries: [suite(`sum by (plugin, outcome) (rate(kong_plugins_redis_commands_total[${RATE}]))`, '{{plugin}} {{outcome}}')],
          },
          {
            title: 'Quota calls Redis could not serve',
            description: 'tenant-quota: failures by reason and the failure mode applied; degraded = 1 while the last call failed.',
            queries: [
              suite(`sum by (reason, mode) (rate(kong_tenant_quota_redis_failures_total[${RATE}]))`, '{{reason}} -> {{mode}}', 'Redis failing'),
              suite('max by (target) (kong_tenant_quota_redis_degraded)', 'degraded {{target}}', 'a quota call to Redis'),
            ],
          },
        ],
      },
      {
        title: 'Redis server',
        panels: [
          {
            title: 'Command latency (server side)',
            description: 'Average time per command in Redis itself (redis_exporter).',
            unit: 's',
            queries: [redis(`sum by (cmd) (rate(redis_commands_duration_seconds_total[${RATE}])) / sum by (cmd) (rate(redis_commands_total[${RATE}]))`, '{{cmd}}')],
          },
          {
            title: 'Clients and memory',
            description: 'Connected clients and used memory.',
            queries: [redis('redis_connected_clients', 'clients'), redis('redis_memory_used_bytes', 'memory bytes')],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-decisions',
    title: 'Request guard and policy sync decisions',
    description: 'request-guard (issue 13) and istio-policy-sync (issue 12) are not built yet: these are the metric names they will export.',
    tags: ['kong-plugin-suite', 'request-guard', 'istio-policy-sync', 'security', 'mesh'],
    rows: [
      {
        title: 'Decisions',
        panels: [
          {
            title: 'request-guard decisions',
            description: 'kong_request_guard_decisions_total{route,rule,decision} (planned): pass, reject (400/413/422), log-only.',
            unit: 'reqps',
            queries: [planned(`sum by (rule, decision) (rate(kong_request_guard_decisions_total[${RATE}]))`, '{{rule}} {{decision}}')],
          },
          {
            title: 'istio-policy-sync decisions',
            description: 'kong_istio_policy_sync_decisions_total{policy,action,decision} (planned): the mesh\'s AuthorizationPolicy decided at the edge.',
            unit: 'reqps',
            queries: [planned(`sum by (policy, action, decision) (rate(kong_istio_policy_sync_decisions_total[${RATE}]))`, '{{policy}} {{action}} {{decision}}')],
          },
        ],
      },
    ],
  },
  {
    uid: 'kps-kong',
    title: 'Kong: requests, latency, bandwidth per service and route',
    description: "Kong's prometheus plugin (global in kong.yml): endpoint and consumer analytics. Needs real Kong.",
    tags: ['kong-plugin-suite', 'kong', 'analytics'],
    rows: [
      {
        title: 'Traffic',
        panels: [
          {
            title: 'Requests by service and status',
            description: 'kong_http_requests_total (status_code_metrics: true).',
            unit: 'reqps',
            queries: [kong(`sum by (service, code) (rate(kong_http_requests_total[${RATE}]))`, '{{service}} {{code}}')],
          },
          {
            title: 'Latency p95 by route',
            description: 'Total request latency as Kong measures it (latency_metrics: true).',
            unit: 'ms',
            queries: [kong(`histogram_quantile(0.95, sum by (le, route) (rate(kong_request_latency_ms_bucket[${RATE}])))`, '{{route}}')],
          },
          {
            title: 'Bandwidth',
            description: 'Bytes in and out per service (bandwidth_metrics: true).',
            unit: 'Bps',
            queries: [kong(`sum by (service, direction) (rate(kong_bandwidth_bytes[${RATE}]))`, '{{service}} {{direction}}')],
          },
        ],
      },
    ],
  },
];

function panel(spec: PanelSpec) {
  const builder = spec.kind === 'stat' ? new StatPanel() : spec.kind === 'heatmap' ? new HeatmapPanel() : new TimeseriesPanel();
  builder.title(spec.title).description(spec.description).datasource(PROMETHEUS).height(8).span(spec.kind === 'stat' ? 8 : 12);
  if (spec.unit) builder.unit(spec.unit);
  spec.queries.forEach((q, i) => {
    const target = new DataqueryBuilder().expr(q.expr).refId(String.fromCharCode(65 + i)).datasource(PROMETHEUS);
    if (q.legend) target.legendFormat(q.legend);
    builder.withTarget(target);
  });
  return builder;
}

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(spec.tags)
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser');
  for (const variable of spec.variables ?? []) {
    builder.withVariable(
      new QueryVariableBuilder(variable.name).label(variable.label).query(variable.query).datasource(PROMETHEUS).multi(true).includeAll(true).allValue('.*').refresh(VariableRefresh.OnTimeRangeChanged),
    );
  }
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title));
    for (const p of row.panels) builder.withPanel(panel(p));
  }
  return builder.build();
}

/** Every query of every dashboard, with where it is. */
export function allQueries(): Array<QuerySpec & { dashboard: string; panel: string }> {
  return DASHBOARDS.flatMap((d) => d.rows.flatMap((r) => r.panels.flatMap((p) => p.queries.map((q) => ({ ...q, dashboard: d.uid, panel: p.title })))));
}

/** A query as Prometheus can run it: Grafana's variables replaced by what "All" and a 1-minute step give. */
export function concreteExpr(expr: string, range = '5m'): string {
  return expr.replace(/\$__rate_interval/g, '1m').replace(/\$__range/g, range).replace(/"\$\w+"/g, '".*"');
}

export function dashboardJson(spec: DashboardSpec): string {
  return JSON.stringify(buildDashboard(spec), null, 2) + '\n';
}
