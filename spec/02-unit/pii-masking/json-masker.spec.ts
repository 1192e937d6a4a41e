import { maskJson, MAX_DEPTH } from '../../../plugins/pii-masking/json-masker';
import { MaskReport } from '../../../plugins/pii-masking/value-masker';
import { buildDeps } from './helpers';

function mask(json: string, deps = buildDeps()) {
  const report = new MaskReport();
  const outcome = maskJson(Buffer.from(json).toString('latin1'), deps, report);
  const output = outcome.output === undefined ? undefined : Buffer.from(outcome.output, 'latin1').toString('utf8');
  return { ...outcome, output, report };
}

describe('pii-masking JSON masker', () => {
  it('changes only the masked spans: 64-bit ids, float spellings, whitespace and key order survive byte for byte', () => {
    const json = '{ "id" : 12345678901234567890,\n\t"f": 1.10e+10, "g": -0.0, "big": 1E400,\n  "email":"john@example.com", "z": [ 1 , 2 ],"n":null,"t":true }';
    const { output, report } = mask(json);
    expect(output).toBe(json.replace('john@example.com', '[EMAIL]'));
    expect(report.counts.get('email')).toBe(1);
    expect(JSON.parse(output!)).toBeTruthy();
  });

  it('makes no output at all when nothing is found', () => {
    const json = '{"id": 12345678901234567890, "name": "Alice", "uuid": "550e8400-e29b-41d4-a716-446655440000", "at": "2024-01-15T10:30:00Z"}';
    expect(mask(json).output).toBeUndefined();
  });

  it('uses the key as context: nine digits under ssn are an SSN, under order_id they are not', () => {
    const { output } = mask('{"ssn": "219456789", "order_id": "219456789", "customer": {"SSN": 219456789}}');
    expect(JSON.parse(output!)).toEqual({ ssn: '[SSN]', order_id: '219456789', customer: { SSN: 0 } });
  });

  it('masks number leaves and keeps them numbers: 0 in redact mode, same-length numbers in fpe mode; float spellings too', () => {
    expect(mask('{"card": 4111111111111111}').output).toBe('{"card": 0}');
    expect(mask('{"card": 4.111111111111111e15, "x": 4.111111111111111e+15, "y": 41111111111111.11e2}').output).toBe('{"card": 0, "x": 0, "y": 0}');
    // a Luhn-valid 16-digit id under an id key is an id; a non-integer float is never a card
    const ids = '{"id": 4111111111111111, "order_id": 4.111111111111111e15, "user": {"accountId": 5555555555554444}, "ratio": 4.1111111111111115}';
    expect(mask(ids).output).toBeUndefined();
    const fpe = mask('{"card": 4111111111111111}', buildDeps({ modes: { card: 'fpe' } })).output!;
    const value = (JSON.parse(fpe) as { card: number }).card;
    expect(typeof value).toBe('number');
    expect(/^"card": \d{16}\}$/.test(fpe.slice(1))).toBe(true);
  });

  it('scans escaped strings on their decoded value and splices into the raw escapes', () => {
    const json = '{"note": "mail a\\u0040b.com or \\"x\\" \\/ c@d.org"}';
    const { output } = mask(json);
    expect(output).toBe('{"note": "mail [EMAIL] or \\"x\\" \\/ [EMAIL]"}');
  });

  it('keeps UTF-8 (multi-byte) text around masks intact', () => {
    const json = '{"note": "Grüße an jürgen@example.de — 谢谢"}';
    expect(mask(json).output).toBe('{"note": "Grüße an [EMAIL] — 谢谢"}');
  });

  it('field rules mask whole values by key (anywhere, normalized) and by path', () => {
    const deps = buildDeps({ maskKeys: ['password', 'api_key'], maskPaths: ['$.user.profile.note', '$.items[*].secret_note'] });
    const json = '{"Password": {"a": [1, "x"]}, "nested": {"API-Key": "abc"}, "user": {"profile": {"note": "hi"}}, "items": [{"secret_note": 1}, {"secret_note": "z"}]}';
    expect(JSON.parse(mask(json, deps).output!)).toEqual({
      Password: '[REDACTED]',
      nested: { 'API-Key': '[REDACTED]' },
      user: { profile: { note: '[REDACTED]' } },
      items: [{ secret_note: '[REDACTED]' }, { secret_note: '[REDACTED]' }],
    });
  });

  it('reports block types without editing them', () => {
    const { output, report } = mask('{"a": "card 4111 1111 1111 1111"}', buildDeps({ modes: { card: 'block' } }));
    expect(output).toBeUndefined();
    expect([...report.blocked]).toEqual(['card']);
  });

  it('rejects invalid JSON (trailing commas, garbage, truncation) and too-deep nesting', () => {
    for (const bad of ['{"a":1,}', '{"a" 1}', '[1 2]', '{"a":"x', 'nope', '{"a":1}}', '']) expect(mask(bad).valid).toBe(false);
    expect(mask('['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1)).valid).toBe(false);
    expect(mask('['.repeat(100) + '"a@b.com"' + ']'.repeat(100)).output).toBe('['.repeat(100) + '"[EMAIL]"' + ']'.repeat(100));
  });

  it('masks top-level strings and arrays under a key with that key as context', () => {
    expect(mask('"a@b.com"').output).toBe('"[EMAIL]"');
    expect(JSON.parse(mask('{"ssn": ["219456789", "219-45-6789"]}').output!)).toEqual({ ssn: ['[SSN]', '[SSN]'] });
  });

  it('scans keys: PII used as a JSON key is masked (plain and escaped)', () => {
    const { output } = mask('{"alice@example.com": {"n": 1}, "b\\u0040example.org": 2, "name": "x"}');
    expect(output).toBe('{"[EMAIL]": {"n": 1}, "[EMAIL]": 2, "name": "x"}');
  });
});
