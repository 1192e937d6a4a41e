import zlib from 'node:zlib';
import { maskBody, type BodyPolicy } from '../../../plugins/pii-masking/body-masking';
import { ContentTypes } from '../../../plugins/pii-masking/content-types';
import { buildDeps } from './helpers';

const deps = buildDeps();
const policy: BodyPolicy = { maxBodySize: 1024, oversizeAction: 'pass', unscannableAction: 'pass', compressedOutput: 'reencode' };
const json = Buffer.from('{"email": "a@b.com", "id": 12345678901234567890}');
const expected = '{"email": "[EMAIL]", "id": 12345678901234567890}';

describe('pii-masking body decisions', () => {
  it.each([
    ['gzip', zlib.gzipSync, zlib.gunzipSync],
    ['deflate', zlib.deflateSync, zlib.inflateSync],
    ['br', zlib.brotliCompressSync, zlib.brotliDecompressSync],
  ] as const)('decodes %s, masks and re-encodes with the same coding', async (coding, encode, decode) => {
    const decision = await maskBody(encode(json), 'json', coding, policy, deps);
    expect(decision.action).toBe('replace');
    if (decision.action !== 'replace') return;
    expect(decision.dropEncoding).toBe(false);
    expect(decode(decision.body).toString()).toBe(expected);
  });

  it('accepts raw deflate and can serve the masked body uncompressed instead', async () => {
    const decision = await maskBody(zlib.deflateRawSync(json), 'json', 'deflate', { ...policy, compressedOutput: 'identity' }, deps);
    expect(decision).toMatchObject({ action: 'replace', dropEncoding: true });
    if (decision.action === 'replace') expect(decision.body.toString()).toBe(expected);
  });

  it('stops a zip bomb at max_body_size and applies the size policy', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(await maskBody(bomb, 'json', 'gzip', policy, deps)).toMatchObject({ action: 'pass', skipped: 'size' });
    expect(await maskBody(bomb, 'json', 'gzip', { ...policy, oversizeAction: 'block' }, deps)).toMatchObject({ action: 'block', reason: 'size' });
  });

  it('oversize identity bodies: pass, block or scan as text', async () => {
    const big = Buffer.from(`{"pad": "${'x'.repeat(2000)}", "email": "a@b.com"}`);
    expect(await maskBody(big, 'json', undefined, policy, deps)).toMatchObject({ action: 'pass', skipped: 'size' });
    expect(await maskBody(big, 'json', undefined, { ...policy, oversizeAction: 'block' }, deps)).toMatchObject({ action: 'block', reason: 'size' });
    const text = await maskBody(big, 'json', undefined, { ...policy, oversizeAction: 'scan_text' }, deps);
    expect(text).toMatchObject({ action: 'replace', skipped: 'size', format: 'text' });
  });

  it('unsupported or corrupt encodings follow unscannable_action', async () => {
    expect(await maskBody(json, 'json', 'zstd', policy, deps)).toMatchObject({ action: 'pass', skipped: 'encoding' });
    expect(await maskBody(json, 'json', 'gzip, br', { ...policy, unscannableAction: 'block' }, deps)).toMatchObject({ action: 'block', reason: 'unscannable' });
    expect(await maskBody(Buffer.from('not gzip'), 'json', 'gzip', policy, deps)).toMatchObject({ action: 'pass', skipped: 'corrupt' });
  });

  it('invalid JSON is scanned as text; XML with a DTD is blocked', async () => {
    expect(await maskBody(Buffer.from('{oops a@b.com'), 'json', undefined, policy, deps)).toMatchObject({ action: 'replace', skipped: 'invalid_json' });
    expect(await maskBody(Buffer.from('<!DOCTYPE x><x/>'), 'xml', undefined, policy, deps)).toMatchObject({ action: 'block', reason: 'dtd' });
  });

  it('content-type allow-list with wildcards picks the format', () => {
    const types = new ContentTypes(['application/json', 'application/*+json', 'text/*', 'application/xml']);
    expect(types.formatOf('application/json; charset=utf-8')).toBe('json');
    expect(types.formatOf('application/problem+json')).toBe('json');
    expect(types.formatOf('application/XML')).toBe('xml');
    expect(types.formatOf('text/csv')).toBe('text');
    expect(types.formatOf('image/png')).toBeUndefined();
    expect(types.formatOf(undefined)).toBeUndefined();
  });
});
