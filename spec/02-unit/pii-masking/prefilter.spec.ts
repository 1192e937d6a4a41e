import { cardDetector } from '../../../plugins/pii-masking/detectors/card';
import { dobDetector } from '../../../plugins/pii-masking/detectors/dob';
import { emailDetector } from '../../../plugins/pii-masking/detectors/email';
import { ibanDetector } from '../../../plugins/pii-masking/detectors/iban';
import { ipv4Detector, ipv6Detector } from '../../../plugins/pii-masking/detectors/ip';
import { jwtDetector } from '../../../plugins/pii-masking/detectors/jwt';
import { KeyContexts } from '../../../plugins/pii-masking/detectors/key-context';
import { phoneDetector } from '../../../plugins/pii-masking/detectors/phone';
import { BUILTIN_TYPES, DetectorRegistry } from '../../../plugins/pii-masking/detectors/registry';
import { secretDetector } from '../../../plugins/pii-masking/detectors/secret';
import { ssnDetector } from '../../../plugins/pii-masking/detectors/ssn';
import { features, type Match, type ScanInput } from '../../../plugins/pii-masking/detectors/types';

/**
 * The one-pass pre-filters (digit chains, dot count, feature bits, DetectorRegistry.measureRange) only decide which
 * values skip a detector's regex: they must never change what a detector finds. Each detector runs on random
 * strings over an adversarial alphabet (and real-shaped values) twice, once with the measured shape and once with a
 * shape that lets every gate pass; the matches must be identical.
 */
const DETECTORS = [cardDetector, ssnDetector, phoneDetector('US'), dobDetector, emailDetector, ibanDetector, ipv4Detector, ipv6Detector, jwtDetector, secretDetector];
const ALPHABET = '0123456789012345678901234567890123456789   --..+()@:_/abAB';
const WORDS = ['4111 1111 1111 1111', '219-45-6789', 'ssn ', 'born ', '+44 20 7946 0958', '(415) 555-2671', 'DE89 3704 0044 0532 0130 00', '192.168.1.1', '2001:db8::1', 'AKIAIOSFODNN7EXAMPLE', 'a@b.com', '1980-05-17', 'v1.2.3.4', '-', ' '];
const keys = new KeyContexts();
const KEYS = [undefined, keys.of('phone'), keys.of('ssn'), keys.of('order_id'), keys.of('dob'), keys.of('version'), keys.of('note')];

function randomValues(count: number): string[] {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = '';
    const parts = 1 + Math.floor(random() * 6);
    for (let p = 0; p < parts; p++) {
      if (random() < 0.4) text += WORDS[Math.floor(random() * WORDS.length)];
      else for (let k = Math.floor(random() * 14); k > 0; k--) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
    }
    out.push(text);
  }
  return out;
}

function run(input: ScanInput): Match[] {
  const out: Match[] = [];
  for (const detector of DETECTORS) detector.scan(input, out);
  return out;
}

describe('pii-masking pre-filters never change a detector result', () => {
  it('measured shape vs a shape that passes every gate, on 20,000 random values under several keys', () => {
    let matched = 0;
    for (const [i, text] of randomValues(20_000).entries()) {
      const key = KEYS[i % KEYS.length];
      const numeric = /^\d+$/.test(text);
      const shape = features(text);
      const measured = run({ text, key, numeric, ...shape });
      const open = run({ text, key, numeric, digits: shape.digits, features: 0xffff, dots: 1 << 30, chain: 1 << 30 });
      expect(measured).toEqual(open);
      if (measured.length) matched++;
    }
    expect(matched).toBeGreaterThan(1000); // the values exercise the detectors, not only the gates
  });

  it('measureRange rejects only values no built-in detector can match', () => {
    const registry = new DetectorRegistry({ types: BUILTIN_TYPES, defaultRegion: 'US', custom: [] });
    for (const [i, text] of randomValues(5_000).entries()) {
      const key = KEYS[i % KEYS.length];
      const source = `{"k": "${text}"}`;
      if (registry.measureRange(source, 7, 7 + text.length)) continue;
      expect(registry.scan(text, key)).toEqual([]);
    }
  });
});
