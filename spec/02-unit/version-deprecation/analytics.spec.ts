import pino from 'pino';
import { Writable } from 'node:stream';
import { registry } from '../../../shared/observability/metrics';
import { FirstCallLog, REQUESTS_METRIC, UsageRecorder, type UsageOptions } from '../../../plugins/version-deprecation/analytics';
import { parseSamples, usageReport, formatTable } from '../../../plugins/version-deprecation/usage-report';

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

async function series(route: string) {
  const metric = registry.getSingleMetric(REQUESTS_METRIC);
  const { values } = await (metric as NonNullable<typeof metric>).get();
  return values.filter((v) => v.labels.route === route).map((v) => ({ ...v.labels, value: v.value }));
}

function recorder(route: string, overrides: Partial<UsageOptions> = {}) {
  const { log, lines } = memoryLogger();
  const usage = new UsageRecorder({ scopeId: `scope-${route}`, route, consumerMetrics: 'scheduled', identifier: 'username', maxConsumers: 2, logIntervalMs: 60_000, log, ...overrides });
  return { usage, lines };
}

const alice = { id: 'a-id', username: 'alice' };
const bob = { id: 'b-id', username: 'bob' };
const carol = { id: 'c-id', username: 'carol' };

describe('FirstCallLog', () => {
  it('logs a key once per interval and forgets the oldest key past its bound', () => {
    const log = new FirstCallLog(1000, 2);
    expect(log.shouldLog('a', 0)).toBe(true);
    expect(log.shouldLog('a', 999)).toBe(false);
    expect(log.shouldLog('a', 1000)).toBe(true);
    expect(log.shouldLog('b', 1000)).toBe(true);
    expect(log.shouldLog('c', 1000)).toBe(true); // evicts a (the least recently logged)
    expect(log.size).toBe(2);
    expect(log.shouldLog('a', 1001)).toBe(true);
    expect(log.shouldLog('c', 1001)).toBe(false);
    // a clock that went backwards does not silence a key forever
    expect(log.shouldLog('c', 0)).toBe(true);
  });
});

describe('UsageRecorder', () => {
  it('labels consumers only for versions with a deprecation scheduled, with bounded cardinality', async () => {
    const { usage } = recorder('r-labels');
    expect(usage.wantsConsumer('active')).toBe(false);
    expect(usage.wantsConsumer('announced')).toBe(true);
    usage.record({ version: 'v2', state: 'active', consumer: alice, now: 0 });
    usage.record({ version: 'v1', state: 'deprecated', consumer: alice, now: 0 });
    usage.record({ version: 'v1', state: 'deprecated', consumer: bob, now: 0 });
    usage.record({ version: 'v1', state: 'deprecated', consumer: carol, now: 0 }); // third consumer: over max_consumers=2
    usage.record({ version: 'v1', state: 'brownout', consumer: undefined, now: 0 });
    const got = await series('r-labels');
    expect(got).toEqual(
      expect.arrayContaining([
        { route: 'r-labels', version: 'v2', consumer: '', state: 'active', value: 1 },
        { route: 'r-labels', version: 'v1', consumer: 'alice', state: 'deprecated', value: 1 },
        { route: 'r-labels', version: 'v1', consumer: 'bob', state: 'deprecated', value: 1 },
        { route: 'r-labels', version: 'v1', consumer: '__other__', state: 'deprecated', value: 1 },
        { route: 'r-labels', version: 'v1', consumer: '__other__', state: 'brownout', value: 1 },
      ]),
    );
    expect(got).toHaveLength(5);
  });

  it('names consumers by the configured field, falling back to the id', () => {
    const { usage } = recorder('r-names', { identifier: 'custom_id' });
    expect(usage.consumerName({ id: 'x', custom_id: 'crm-7' })).toBe('crm-7');
    expect(usage.consumerName({ id: 'x', username: 'u' })).toBe('x');
    expect(usage.consumerName(undefined)).toBe('anonymous');
  });

  it('logs the first deprecated call of a consumer per interval, as a structured event', () => {
    const { usage, lines } = recorder('r-log');
    usage.record({ version: 'v1', state: 'deprecated', consumer: alice, now: 0, sunset: 'Wed, 30 Jun 2027 00:00:00 GMT', successor: 'v2' });
    usage.record({ version: 'v1', state: 'deprecated', consumer: alice, now: 30_000 });
    usage.record({ version: 'v1', state: 'brownout', consumer: bob, now: 30_000 });
    usage.record({ version: 'v1', state: 'announced', consumer: carol, now: 30_000 }); // not deprecated yet: counted, not logged
    usage.record({ version: 'v2', state: 'active', consumer: alice, now: 30_000 });
    usage.record({ version: 'v1', state: 'deprecated', consumer: alice, now: 60_000 });
    expect(lines.map((l) => [l.event, l.consumer, l.version, l.state])).toEqual([
      ['deprecated_api_version_called', 'alice', 'v1', 'deprecated'],
      ['deprecated_api_version_called', 'bob', 'v1', 'brownout'],
      ['deprecated_api_version_called', 'alice', 'v1', 'deprecated'],
    ]);
    expect(lines[0]).toMatchObject({ consumer_id: 'a-id', route: 'r-log', sunset: 'Wed, 30 Jun 2027 00:00:00 GMT', successor: 'v2', level: 40 });
  });

  it('counts without consumer lookups when consumer metrics are off', async () => {
    const { usage, lines } = recorder('r-off', { consumerMetrics: 'none' });
    expect(usage.wantsConsumer('sunset')).toBe(false);
    usage.record({ version: 'v1', state: 'sunset', now: 0 });
    expect(await series('r-off')).toEqual([{ route: 'r-off', version: 'v1', consumer: '', state: 'sunset', value: 1 }]);
    expect(lines).toHaveLength(1);
    expect(lines[0].consumer).toBeUndefined();
  });
});

describe('usage report', () => {
  it('parses the registry exposition and aggregates deprecated usage per consumer, across endpoints', async () => {
    const { usage } = recorder('r-report', { maxConsumers: 10 });
    for (let i = 0; i < 3; i++) usage.record({ version: 'v1', state: 'deprecated', consumer: { id: 'q', username: 'quote"back\\slash' }, now: i });
    usage.record({ version: 'v1', state: 'brownout', consumer: { id: 'q', username: 'quote"back\\slash' }, now: 0 });
    usage.record({ version: 'v1', state: 'sunset', consumer: bob, now: 0 });
    usage.record({ version: 'v2', state: 'active', consumer: bob, now: 0 });
    usage.record({ version: 'v1', state: 'announced', consumer: carol, now: 0 });
    const text = await registry.metrics();
    const samples = parseSamples(text, REQUESTS_METRIC).filter((s) => s.labels.route === 'r-report');
    expect(samples).toContainEqual({ labels: { route: 'r-report', version: 'v1', consumer: 'quote"back\\slash', state: 'deprecated' }, value: 3 });
    const twice = [...samples, ...samples]; // two plugin servers
    const rows = usageReport(twice, { states: ['deprecated', 'brownout', 'sunset'] });
    expect(rows).toEqual([
      { route: 'r-report', version: 'v1', consumer: 'quote"back\\slash', requests: 8, states: { deprecated: 6, brownout: 2 } },
      { route: 'r-report', version: 'v1', consumer: 'bob', requests: 2, states: { sunset: 2 } },
    ]);
    expect(usageReport(samples, { states: ['announced'], version: 'V1' })).toEqual([{ route: 'r-report', version: 'v1', consumer: 'carol', requests: 1, states: { announced: 1 } }]);
    const table = formatTable(rows).split('\n');
    expect(table[0]).toMatch(/^CONSUMER\s+VERSION\s+REQUESTS\s+STATES\s+ROUTE$/);
    expect(table[1]).toMatch(/^quote"back\\slash\s+v1\s+8\s+deprecated=6 brownout=2\s+r-report$/);
    expect(formatTable([])).toBe('No consumer is calling a deprecated API version.\n');
  });
});
