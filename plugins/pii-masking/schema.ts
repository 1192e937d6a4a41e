import { field } from '../../shared/schema';
import { operatorPatternReason } from '../../shared/safety/operator-pattern';
import { BUILTIN_TYPES } from './detectors/registry';
import { parsePath } from './field-rules';
import { MODES } from './modes';
import { UNREADABLE_REASONS } from './body-masking';
import { DEFAULT_PASS_CONTENT_TYPES } from './content-types';


export const DEFAULT_MASK_KEYS = [
  'password', 'passwd', 'pwd', 'secret', 'client_secret', 'api_key', 'apikey', 'access_token', 'refresh_token', 'id_token',
  'private_key', 'cvv', 'cvc', 'pin',
];

export const DEFAULT_LOG_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'apikey', 'x-auth-token', 'x-amz-security-token',
  'x-csrf-token',
];

export const DEFAULT_LOG_QUERY_PARAMS = [
  'token', 'access_token', 'id_token', 'refresh_token', 'api_key', 'apikey', 'key', 'password', 'secret', 'client_secret',
  'signature', 'sig', 'code',
];

const MODE = field.string({ one_of: MODES });

export const fields = {
  detectors: field.set(field.string({ one_of: BUILTIN_TYPES }), {
    default: [...BUILTIN_TYPES],
    description: 'Built-in detectors to run (all by default): jwt, secret, email, iban, card, ssn, phone, ipv6, ipv4, dob.',
  }),
  default_mode: field.string({
    one_of: MODES,
    default: 'redact',
    description: 'Mode for every detected type without an entry in `modes`: redact, partial, token, fpe or block.',
  }),
  modes: field.map(field.string({ description: 'A detector type (built-in or custom name).' }), MODE, {
    default: {},
    description: 'Mode per detector type, e.g. {card: partial, email: token, secret: block}.',
  }),
  custom_detectors: field.array(
    field.record({
      name: field.string({ required: true, pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'Type name (metrics label and `[NAME]` label).' }),
      pattern: field.string({
        required: true,
        len_min: 1,
        len_max: 1024,
        description: 'Regular expression in RE2 syntax, matched in linear time (re2js); lookarounds, backreferences and what RE2 cannot parse are refused. Matches longer than 64 characters are masked in pieces.',
      }),
      validator: field.string({ one_of: ['none', 'luhn', 'mod97'] as const, default: 'none', description: 'Checksum a match must pass.' }),
      keys: field.array(field.string(), { default: [], description: 'Only scan values under these JSON keys / XML names (all values when empty).' }),
      case_insensitive: field.boolean({ default: false, description: 'Match the pattern case-insensitively.' }),
      label: field.string({ len_max: 32, description: 'Label used in redact mode (default: the name in upper case).' }),
    }),
    { default: [], description: 'User detectors: a pattern plus an optional checksum validator and key restriction.' },
  ),
  mask_keys: field.set(field.string(), {
    default: DEFAULT_MASK_KEYS,
    description: 'JSON keys / XML element and attribute names whose values are always masked whole (case and _-. insensitive).',
  }),
  mask_paths: field.array(field.string(), { default: [], description: 'JSON paths always masked whole, e.g. $.user.card.number or $.items[*].note.' }),
  field_mode: field.string({ one_of: MODES, default: 'redact', description: 'Mode for values masked by mask_keys / mask_paths.' }),
  token_key: field.string({
    len_min: 16,
    referenceable: true,
    encrypted: true,
    description: 'HMAC key for token and fpe modes (default: env PII_MASKING_TOKEN_KEY, else a random per-process key).',
  }),
  default_region: field.string({ default: 'US', pattern: '^[A-Z]{2}$', lua_match: '^[A-Z][A-Z]$', description: 'Region for national phone numbers under phone keys.' }),
  content_types: field.set(field.string({ pattern: '^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*/[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*$', lua_match: '^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*/[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*$' }), {
    default: [],
    description:
      'More media types to scan as text (`type/*` and `type/*+suffix` wildcards). JSON, XML, text/*, a missing Content-Type and text-like types (ndjson, json-seq, javascript, form-urlencoded, ...) are always scanned.',
  }),
  pass_content_types: field.set(field.string({ pattern: '^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*/[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*$', lua_match: '^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*/[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*$' }), {
    default: DEFAULT_PASS_CONTENT_TYPES,
    description: 'Media types passed unscanned (binary media). Any other type that is neither scanned nor listed here is unreadable (media_type).',
  }),
  max_body_size: field.integer({ between: [1, 67_108_864], default: 8_388_608, description: 'Largest (decoded) body scanned, in bytes.' }),
  oversize_action: field.string({
    one_of: ['pass', 'block', 'scan_text'] as const,
    default: 'block',
    description: 'Beyond max_body_size: block (default), scan as plain text, or pass unscanned.',
  }),
  pass_unreadable: field.set(field.string({ one_of: UNREADABLE_REASONS }), {
    default: [],
    description:
      'Unreadable cases passed unscanned instead of blocked (fail open, per case): encoding (unknown or stacked Content-Encoding), corrupt (undecodable compression), charset, media_type, partial_content (206), time_budget.',
  }),
  time_budget_ms: field.integer({ between: [10, 60_000], default: 5000, description: 'Longest a body may take to mask (worker thread); beyond it the response is unreadable (time_budget).' }),
  mask_response_headers: field.boolean({ default: true, description: 'Mask response headers the client receives (Location, X-User-Email, Link, ...) like bodies.' }),
  guard: field.boolean({
    default: false,
    description:
      "The route runs the plugin's Kong-side guard (kong/guard-*.lua in pre-function and post-function): the plugin reads the guard's request snapshot and hands it the result, and the guard answers 502 when the plugin server did not.",
  }),
  compressed_output: field.string({
    one_of: ['reencode', 'identity'] as const,
    default: 'reencode',
    description: 'A masked compressed body is re-encoded with its coding, or sent uncompressed with Content-Encoding removed.',
  }),
  block_status: field.integer({ between: [400, 599], default: 502, description: 'Status of the problem+json response that replaces a blocked response.' }),
  mask_logs: field.boolean({ default: true, description: 'Mask headers and query parameters in what Kong log plugins serialize.' }),
  log_headers: field.set(field.string(), { default: DEFAULT_LOG_HEADERS, description: 'Request and response headers always masked in logs.' }),
  log_query_params: field.set(field.string(), { default: DEFAULT_LOG_QUERY_PARAMS, description: 'Query parameters always masked in logs.' }),
  log_mode: field.string({
    one_of: ['redact', 'token'] as const,
    default: 'redact',
    description: 'How log_headers and log_query_params values are written: [REDACTED], or their deterministic token.',
  }),
};

type Config = {
  modes: Record<string, string>;
  custom_detectors: Array<{ name: string; pattern: string; case_insensitive?: boolean }>;
  mask_paths: string[];
};

export const checks = [
  (config: Config): [string, string] | undefined => {
    for (const [i, detector] of config.custom_detectors.entries()) {
      const reason = operatorPatternReason(detector.pattern, { caseInsensitive: detector.case_insensitive });
      if (reason) return [`custom_detectors[${i}].pattern`, reason];
      if ((BUILTIN_TYPES as readonly string[]).includes(detector.name) || detector.name === 'field') {
        return [`custom_detectors[${i}].name`, `"${detector.name}" is a built-in type`];
      }
    }
    return undefined;
  },
  (config: Config): [string, string] | undefined => {
    const known = new Set<string>([...BUILTIN_TYPES, ...config.custom_detectors.map((d) => d.name)]);
    for (const type of Object.keys(config.modes)) if (!known.has(type)) return [`modes.${type}`, 'unknown detector type'];
    return undefined;
  },
  (config: Config): [string, string] | undefined => {
    for (const [i, path] of config.mask_paths.entries()) {
      try {
        parsePath(path);
      } catch (err) {
        return [`mask_paths[${i}]`, (err as Error).message];
      }
    }
    return undefined;
  },
];
