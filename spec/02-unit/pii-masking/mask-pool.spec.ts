import fs from 'node:fs';
import path from 'node:path';
import { defineSchema, type ConfigCheck } from '../../../shared/schema/schema';
import { maskBody } from '../../../plugins/pii-masking/body-masking';
import { compileMasking, type MaskingConfig } from '../../../plugins/pii-masking/compile';
import { MaskPool } from '../../../plugins/pii-masking/mask-pool';
import { checks, fields } from '../../../plugins/pii-masking/schema';
import { TEST_KEY } from './helpers';

/**
 * The worker-thread pool (the built worker, dist/plugins/pii-masking/mask-worker.js: `npm run build` first): it
 * gives the same decision as masking inline, keeps the event loop free while a 7 MB body is masked, and a job over
 * its time budget is answered 'timeout' (the worker terminated and replaced) while the next job still works.
 */
const WORKER = path.join(__dirname, '../../../dist/plugins/pii-masking/mask-worker.js');
const schema = defineSchema('pii-masking', fields, checks as Array<ConfigCheck<any>>) as { parse(raw: unknown): { config: MaskingConfig } };
const config = schema.parse({}).config;

function body(bytes: number): Buffer {
  const record = '{"name": "Jane Roe", "email": "jane.roe@example.com", "note": "card 4111 1111 1111 1111 on file", "v": "2.14.1"},';
  return Buffer.from(`[${record.repeat(Math.ceil(bytes / record.length))}{}]`);
}

describe('pii-masking worker pool', () => {
  let pool: MaskPool;
  beforeAll(() => {
    expect(fs.existsSync(WORKER)).toBe(true);
    pool = new MaskPool(WORKER, 1);
  });
  afterAll(() => pool.close());
  jest.setTimeout(120_000);

  it('decides like the inline masker', async () => {
    const job = { body: body(200_000), contentType: 'application/json', contentEncoding: undefined, status: 200 };
    const inline = await maskBody(job, compileMasking(config, undefined, TEST_KEY));
    const pooled = await pool.run('cfg', config, TEST_KEY, job, 30_000);
    expect(pooled).not.toBe('timeout');
    if (pooled === 'timeout' || inline.action !== 'replace' || pooled.action !== 'replace') throw new Error('expected replace');
    expect(pooled.body.equals(inline.body)).toBe(true);
    expect([...pooled.report.counts]).toEqual([...inline.report.counts]);
  });

  it('keeps the event loop free while a 7 MB body is masked', async () => {
    const big = { body: body(7 << 20), contentType: 'application/json', contentEncoding: undefined, status: 200 };
    let maxGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    const started = Date.now();
    const decision = await pool.run('cfg', config, TEST_KEY, big, 60_000);
    const took = Date.now() - started;
    clearInterval(timer);
    expect(decision).not.toBe('timeout');
    // the job takes hundreds of ms of CPU; the loop never waited more than a fraction of it
    expect(took).toBeGreaterThan(100);
    expect(maxGap).toBeLessThan(Math.max(100, took / 4));
  });

  it('a job over its time budget is answered timeout, and the pool keeps working', async () => {
    const big = { body: body(7 << 20), contentType: 'application/json', contentEncoding: undefined, status: 200 };
    expect(await pool.run('cfg', config, TEST_KEY, big, 10)).toBe('timeout');
    expect(pool.timeouts).toBe(1);
    const small = { body: Buffer.from('{"email": "a@b.com"}'), contentType: 'application/json', contentEncoding: undefined, status: 200 };
    const next = await pool.run('cfg', config, TEST_KEY, small, 30_000);
    expect(next !== 'timeout' && next.action === 'replace' && next.body.toString()).toBe('{"email": "[EMAIL]"}');
  });
});
