import { ConfigError, defineSchema, type ConfigCheck } from '../../shared/schema/schema';
import * as plugin from '../../plugins/pii-masking';
import { checks, fields } from '../../plugins/pii-masking/schema';

const schema = defineSchema('pii-masking', fields, checks as Array<ConfigCheck<any>>) as { parse(raw: unknown): { config: Record<string, any> } };

describe('pii-masking schema', () => {
  it('exports the kong-pdk module shape', () => {
    expect(plugin.Name).toBe('pii-masking');
    expect(plugin.Version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number.isInteger(plugin.Priority)).toBe(true);
    expect(Array.isArray(plugin.Schema)).toBe(true);
    for (const entry of plugin.Schema as Array<Record<string, { description?: string }>>) {
      const [name, spec] = Object.entries(entry)[0];
      expect({ name, described: typeof spec.description === 'string' }).toEqual({ name, described: true });
    }
  });

  it('zero config: every built-in detector in redact mode, logs masked', () => {
    const { config } = schema.parse({});
    expect(config.detectors).toEqual(['jwt', 'secret', 'email', 'iban', 'card', 'ssn', 'phone', 'ipv6', 'ipv4', 'dob']);
    expect(config.default_mode).toBe('redact');
    expect(config.mask_logs).toBe(true);
    expect(config.token_key ?? null).toBeNull();
  });

  it.each([
    [{ default_mode: 'hide' }, 'config.default_mode'],
    [{ modes: { card: 'nope' } }, 'config.modes'],
    [{ modes: { fax: 'redact' } }, 'config.modes.fax: unknown detector type'],
    [{ custom_detectors: [{ name: 'x', pattern: 'a(?=b)' }] }, 'config.custom_detectors[0].pattern: lookahead/lookbehind is not supported'],
    [{ custom_detectors: [{ name: 'x', pattern: '(a)\\1' }] }, 'config.custom_detectors[0].pattern: backreferences'],
    [{ custom_detectors: [{ name: 'x', pattern: 'a{2000}' }] }, 'config.custom_detectors[0].pattern: not a pattern RE2 accepts'],
    [{ custom_detectors: [{ name: 'email', pattern: 'a' }] }, 'built-in type'],
    [{ custom_detectors: [{ name: 'Bad Name', pattern: 'a' }] }, 'config.custom_detectors[0].name'],
    [{ mask_paths: ['$.a[x]'] }, 'config.mask_paths[0]'],
    [{ token_key: 'short' }, 'config.token_key'],
    [{ block_status: 302 }, 'config.block_status'],
    [{ oversize_action: 'drop' }, 'config.oversize_action'],
  ])('rejects %j', (input, message) => {
    expect(() => schema.parse(input)).toThrow(ConfigError);
    expect(() => schema.parse(input)).toThrow(message);
  });

  it('accepts RE2 patterns a backtracking engine could not run safely (matched in linear time)', () => {
    for (const pattern of ['(a*){12}$', '^(\\d*){10}x$', '(a+)+b']) {
      expect(schema.parse({ custom_detectors: [{ name: 'x', pattern }] }).config.custom_detectors[0].pattern).toBe(pattern);
    }
  });

  it('accepts a full config', () => {
    const { config } = schema.parse({
      detectors: ['email', 'card'],
      modes: { card: 'fpe', email: 'token', employee_id: 'partial' },
      custom_detectors: [{ name: 'employee_id', pattern: 'EMP-\\d{6}', validator: 'luhn', keys: ['employee'], label: 'EMPLOYEE' }],
      mask_paths: ['$.user.cards[*].cvv'],
      token_key: 'a-long-enough-secret-key',
      content_types: ['application/json'],
      compressed_output: 'identity',
      block_status: 451,
    });
    expect(config.modes).toEqual({ card: 'fpe', email: 'token', employee_id: 'partial' });
  });
});
