import zlib from 'node:zlib';
import { maskBody, type BodyJob, type BodyMasking, type BodyPolicy, type UnreadableReason } from '../../../plugins/pii-masking/body-masking';
import { ContentTypes } from '../../../plugins/pii-masking/content-types';
import { buildDeps } from './helpers';

const deps = buildDeps();
const policy: BodyPolicy = { maxBodySize: 1024, oversizeAction: 'block', passUnreadable: new Set(), compressedOutput: 'reencode' };
const json = Buffer.from('{"email": "a@b.com", "id": 12345678901234567890}');
const expected = '{"email": "[EMAIL]", "id": 12345678901234567890}';

function masking(overrides: Partial<BodyPolicy> = {}, types = new ContentTypes([])): BodyMasking {
  return { deps, contentTypes: types, policy: { ...policy, ...overrides } };
}

function job(body: Buffer, contentEncoding?: string, contentType: string | undefined = 'application/json', status = 200): BodyJob {
  return { body, contentType, contentEncoding, status };
}

describe('pii-masking body decisions', () => {
  it.each([
    ['gzip', zlib.gzipSync, zlib.gunzipSync],
    ['deflate', zlib.deflateSync, zlib.inflateSync],
    ['br', zlib.brotliCompressSync, zlib.brotliDecompressSync],
  ] as const)('decodes %s, masks and re-encodes with the same coding', async (coding, encode, decode) => {
    const decision = await maskBody(job(encode(json), coding), masking());
    expect(decision.action).toBe('replace');
    if (decision.action !== 'replace') return;
    expect(decision.dropEncoding).toBe(false);
    expect(decode(decision.body).toString()).toBe(expected);
  });

  it('accepts raw deflate and can serve the masked body uncompressed instead', async () => {
    const decision = await maskBody(job(zlib.deflateRawSync(json), 'deflate'), masking({ compressedOutput: 'identity' }));
    expect(decision).toMatchObject({ action: 'replace', dropEncoding: true });
    if (decision.action === 'replace') expect(decision.body.toString()).toBe(expected);
  });

  it('stops a zip bomb at max_body_size: blocked by default, passed only when the operator says so', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(await maskBody(job(bomb, 'gzip'), masking())).toMatchObject({ action: 'block', reason: 'size' });
    expect(await maskBody(job(bomb, 'gzip'), masking({ oversizeAction: 'pass' }))).toMatchObject({ action: 'pass', skipped: 'size' });
  });

  it('oversize identity bodies: block (default), pass, or scan as text', async () => {
    const big = Buffer.from(`{"pad": "${'x'.repeat(2000)}", "email": "a@b.com"}`);
    expect(await maskBody(job(big), masking())).toMatchObject({ action: 'block', reason: 'size' });
    expect(await maskBody(job(big), masking({ oversizeAction: 'pass' }))).toMatchObject({ action: 'pass', skipped: 'size' });
    const text = await maskBody(job(big), masking({ oversizeAction: 'scan_text' }));
    expect(text).toMatchObject({ action: 'replace', skipped: 'size', format: 'text' });
  });

  const gz = zlib.gzipSync(json);
  const crcBroken = Buffer.from(gz);
  crcBroken[crcBroken.length - 6] ^= 0xff;
  it.each([
    ['zstd', job(json, 'zstd'), 'encoding'],
    ['gzip, gzip', job(zlib.gzipSync(gz), 'gzip, gzip'), 'encoding'],
    ['gzip, identity', job(gz, 'gzip, identity'), 'encoding'],
    ['gzip, br', job(json, 'gzip, br'), 'encoding'],
    ['compress', job(json, 'compress'), 'encoding'],
    ['truncated gzip', job(gz.subarray(0, gz.length - 9), 'gzip'), 'corrupt'],
    ['CRC-broken gzip', job(crcBroken, 'gzip'), 'corrupt'],
    ['not gzip at all', job(Buffer.from('not gzip'), 'gzip'), 'corrupt'],
    ['utf-32', job(json, undefined, 'application/json; charset=utf-32'), 'charset'],
    ['shift_jis', job(json, undefined, 'text/plain; charset=Shift_JIS'), 'charset'],
    ['odd-length utf-16', job(Buffer.from([0xff, 0xfe, 0x41]), undefined, 'text/plain; charset=utf-16'), 'charset'],
    ['application/octet-stream', job(json, undefined, 'application/octet-stream'), 'media_type'],
    ['application/pdf', job(json, undefined, 'application/pdf'), 'media_type'],
    ['a 206 fragment', job(json, undefined, 'application/json', 206), 'partial_content'],
  ] as const)('%s cannot be read: blocked, unless the operator passes that case', async (_name, input, reason) => {
    expect(await maskBody(input, masking())).toMatchObject({ action: 'block', reason });
    expect(await maskBody(input, masking({ passUnreadable: new Set<UnreadableReason>([reason]) }))).toMatchObject({ action: 'pass', skipped: reason });
    const others = new Set<UnreadableReason>(['encoding', 'corrupt', 'charset', 'media_type', 'partial_content', 'time_budget'].filter((r) => r !== reason) as UnreadableReason[]);
    expect(await maskBody(input, masking({ passUnreadable: others }))).toMatchObject({ action: 'block', reason });
  });

  it.each([
    ['application/x-ndjson', '{"email":"a@b.com"}\n{"email":"c@d.com"}\n'],
    ['application/json-seq', '\u001e{"email":"a@b.com"}\n'],
    ['text/event-stream', 'data: {"email":"a@b.com"}\n\n'],
    ['application/x-www-form-urlencoded', 'email=a@b.com&x=1'],
    ['text/javascript', 'var user = {email: "a@b.com"};'],
    ['application/javascript', 'callback({"email":"a@b.com"})'],
    [undefined, '{"email":"a@b.com"}'],
    ['garbage', 'a@b.com'],
  ])('%s is scanned (as text when no parser fits)', async (type, body) => {
    const decision = await maskBody(job(Buffer.from(body), undefined, type), masking());
    expect(decision.action).toBe('replace');
    if (decision.action === 'replace') expect(decision.body.toString()).not.toContain('a@b.com');
  });

  it('utf-16 bodies (declared or by BOM) are decoded, masked and encoded back; latin1 is scanned byte-wise', async () => {
    const text = '{"email": "alice@example.com", "name": "Zoë"}';
    for (const [charset, bytes] of [
      ['utf-16le', Buffer.from(text, 'utf16le')],
      ['utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
      ['utf-16be', Buffer.from(text, 'utf16le').swap16()],
      [undefined, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])],
    ] as const) {
      const decision = await maskBody(job(bytes, undefined, `application/json${charset ? `; charset=${charset}` : ''}`), masking());
      expect(decision.action).toBe('replace');
      if (decision.action !== 'replace') continue;
      const le = charset === 'utf-16be' || (!charset && bytes[0] === 0xfe) ? Buffer.from(decision.body).swap16() : decision.body;
      const decoded = le.toString('utf16le').replace(/^\ufeff/, '');
      expect(decoded).toBe('{"email": "[EMAIL]", "name": "Zoë"}');
      if (charset === 'utf-16') expect([decision.body[0], decision.body[1]]).toEqual([0xff, 0xfe]);
    }
    const latin1 = await maskBody(job(Buffer.from('{"n": "Zo\u00eb", "e": "a@b.com"}', 'latin1'), undefined, 'application/json; charset=ISO-8859-1'), masking());
    expect(latin1.action === 'replace' && latin1.body.toString('latin1')).toBe('{"n": "Zo\u00eb", "e": "[EMAIL]"}');
  });

  it('binary media pass by the documented default list (image/*, audio/*, video/*, font/*) or the operator list; SVG is XML', async () => {
    for (const type of ['image/png', 'audio/mpeg', 'video/mp4', 'font/woff2']) expect(await maskBody(job(json, undefined, type), masking())).toMatchObject({ action: 'pass' });
    expect(await maskBody(job(Buffer.from('<svg><text>a@b.com</text></svg>'), undefined, 'image/svg+xml'), masking())).toMatchObject({ action: 'replace', format: 'xml' });
    const pdfOk = new ContentTypes([], ['image/*', 'application/pdf']);
    expect(await maskBody(job(json, undefined, 'application/pdf'), masking({}, pdfOk))).toMatchObject({ action: 'pass' });
    const scanPdf = new ContentTypes(['application/vnd.acme.report'], []);
    expect(await maskBody(job(json, undefined, 'application/vnd.acme.report'), masking({}, scanPdf))).toMatchObject({ action: 'replace', format: 'text' });
    expect(await maskBody(job(json, undefined, 'image/png'), masking({}, scanPdf))).toMatchObject({ action: 'block', reason: 'media_type' });
  });

  it('invalid JSON is scanned as text; XML with a DTD is blocked', async () => {
    expect(await maskBody(job(Buffer.from('{oops a@b.com')), masking())).toMatchObject({ action: 'replace', skipped: 'invalid_json' });
    expect(await maskBody(job(Buffer.from('<!DOCTYPE x><x/>'), undefined, 'application/xml'), masking())).toMatchObject({ action: 'block', reason: 'dtd' });
  });

  it('content types pick the format', () => {
    const types = new ContentTypes([]);
    expect(types.formatOf('application/json; charset=utf-8')).toBe('json');
    expect(types.formatOf('application/problem+json')).toBe('json');
    expect(types.formatOf('application/XML')).toBe('xml');
    expect(types.formatOf('text/csv')).toBe('text');
    expect(types.formatOf('application/x-ndjson')).toBe('text');
    expect(types.formatOf('image/png')).toBeUndefined();
    expect(types.formatOf(undefined)).toBe('text');
    expect(types.decide('application/octet-stream')).toEqual({ kind: 'unknown' });
  });
});
