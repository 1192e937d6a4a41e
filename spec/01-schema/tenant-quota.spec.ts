import { fillDefaults, validateConfig, checkSchemaDefinition, type KongFields } from '../../devkit/emulator/kong-schema';
import { Schema, schema } from '../../plugins/tenant-quota';

const kongFields = Schema as unknown as KongFields;
const plans = [{ name: 'free', limits: [{ name: 'burst', scope: 'tenant', algorithm: 'gcra', limit: 10, window_seconds: 60 }] }];

/** What Kong would hand the plugin: defaults filled, Kong's own validation passed. */
function kong(config: Record<string, unknown>): Record<string, unknown> {
  const filled = fillDefaults(kongFields, config);
  expect(validateConfig(kongFields, filled)).toEqual([]);
  return filled;
}

describe('tenant-quota schema', () => {
  it('dumps a schema Kong accepts, every field described', () => {
    expect(checkSchemaDefinition(kongFields)).toEqual([]);
    const undescribed: string[] = [];
    const walk = (fields: KongFields, path: string) => {
      for (const entry of fields) {
        const [name, f] = Object.entries(entry)[0];
        if (!f.description && name !== 'host' && name !== 'port') undescribed.push(`${path}.${name}`);
        if (f.type === 'record' && f.fields) walk(f.fields, `${path}.${name}`);
        if (f.elements?.type === 'record' && f.elements.fields) walk(f.elements.fields, `${path}.${name}[]`);
      }
    };
    walk(kongFields, 'config');
    expect(undescribed.filter((p) => !p.includes('nodes[]'))).toEqual([]);
  });

  it('a minimal config gets safe defaults', () => {
    const { config } = schema.parse(kong({ plans, default_plan: 'free' }));
    const c = config as Record<string, any>;
    expect(c.identity.source).toBe('consumer');
    expect(c.identity.unidentified).toBe('reject');
    expect(c.headers).toBe('ietf');
    expect(c.mode).toBe('enforce');
    expect(c.on_redis_failure).toBe('local');
    expect(c.redis.command_timeout_ms).toBe(50);
    expect(c.calendar).toEqual({ time_zone: 'UTC', billing_anchor_day: 1, week_start: 'monday' });
  });

  it.each([
    [{ identity: { source: 'header' } }, 'config.identity.trust_header'],
    [{ identity: { source: 'jwt' } }, 'config.identity.jwt: set exactly one'],
    [{ default_plan: 'gold' }, 'config.default_plan: no plan named gold'],
    [{ tenant_plans: { acme: 'gold' } }, 'config.tenant_plans.acme'],
    [{ calendar: { time_zone: 'Mars/Base' } }, 'config.calendar.time_zone'],
    [{ plans: [{ name: 'free', limits: [{ name: 'm', scope: 'tenant', algorithm: 'calendar', limit: 5 }] }] }, 'needs period'],
    [{ plans: [{ name: 'free', limits: [{ name: 'm', scope: 'tenant', algorithm: 'gcra', limit: 5 }] }] }, 'needs window_seconds'],
    [{ plans: [{ name: 'free', limits: [plans[0].limits[0], plans[0].limits[0]] }] }, 'duplicate limit burst'],
    [{ cost: { min: 5, max: 2 } }, 'config.cost.min'],
    [{ endpoints: [{ name: 'x', path_pattern: '(' }] }, 'config.endpoints[0].path_pattern: not a pattern RE2 accepts'],
    [{ endpoints: [{ name: 'a', path_pattern: '^/a$' }, { name: 'x', path_pattern: '^/(?!admin)' }] }, 'config.endpoints[1].path_pattern: lookahead/lookbehind is not supported'],
    [{ endpoints: [{ name: 'x', path_pattern: '^/(\\w+)/\\1$' }] }, 'config.endpoints[0].path_pattern: backreferences are not supported'],
    [{ key_prefix: 'a{b' }, 'config.key_prefix'],
    [{ plans: [{ name: 'free', limits: [{ name: 'bad name', scope: 'tenant', algorithm: 'gcra', limit: 1, window_seconds: 1 }] }] }, 'config.plans[0].limits[0].name'],
  ])('rejects %j', (override, message) => {
    expect(() => schema.parse(kong({ plans, default_plan: 'free', ...override }))).toThrow(message);
  });

  it('accepts patterns RE2 runs in linear time, even those a backtracking engine cannot survive', () => {
    for (const path_pattern of ['^/(a+)+$', '(a*){12}$', '^/rq/.*/.*/.*/.*/report$', '^/orders/(?<id>[0-9]+)$']) {
      expect(() => schema.parse(kong({ plans, default_plan: 'free', endpoints: [{ name: 'x', path_pattern }] }))).not.toThrow();
    }
  });

  it('accepts a header source only when trusted, and a JWT with one key source', () => {
    expect(() => schema.parse(kong({ plans, default_plan: 'free', identity: { source: 'header', trust_header: true } }))).not.toThrow();
    expect(() => schema.parse(kong({ plans, default_plan: 'free', identity: { source: 'jwt', jwt: { static_key: 'secret', algorithms: ['HS256'] } } }))).not.toThrow();
  });
});
