import { isCardNumber } from '../../../plugins/pii-masking/detectors/card';
import { isIban } from '../../../plugins/pii-masking/detectors/iban';
import { Masker, partial } from '../../../plugins/pii-masking/modes';
import { TEST_KEY } from './helpers';

const masker = new Masker(TEST_KEY, new Map([['employee_id', 'EMPLOYEE']]));

describe('pii-masking modes', () => {
  it('redact: a type label (custom labels from config)', () => {
    expect(masker.mask('email', 'a@b.com', 'redact')).toBe('[EMAIL]');
    expect(masker.mask('employee_id', 'EMP-1', 'redact')).toBe('[EMPLOYEE]');
  });

  it('partial: last 4, the domain of an email, the network half of an IP, the year of a birth date', () => {
    expect(partial('card', '4111-1111-1111-1234')).toBe('****-****-****-1234');
    expect(partial('email', 'john.doe@example.com')).toBe('********@example.com');
    expect(partial('ipv4', '192.168.10.20')).toBe('192.168.*.*');
    expect(partial('dob', '1980-05-17')).toBe('1980-**-**');
    expect(partial('ssn', '219-45-6789')).toBe('***-**-6789');
  });

  it('token: deterministic per key and canonical value, different across keys and types', () => {
    const a = masker.mask('card', '4111 1111 1111 1111', 'token');
    expect(a).toMatch(/^tok_card_[a-z2-7]{16}$/);
    expect(masker.mask('card', '4111-1111-1111-1111', 'token')).toBe(a);
    expect(masker.mask('email', 'John@Example.com', 'token')).toBe(masker.mask('email', 'john@example.com', 'token'));
    expect(new Masker(Buffer.from('another-key-0123456789')).mask('card', '4111111111111111', 'token')).not.toBe(a);
    expect(masker.mask('ssn', '4111111111111111', 'token')).not.toBe(a);
  });

  it('fpe: same length and shape, deterministic; cards keep a valid Luhn, IBANs stay valid', () => {
    for (const card of ['4111 1111 1111 1111', '378282246310005', '5555-5555-5555-4444']) {
      const out = masker.mask('card', card, 'fpe');
      expect(out).toHaveLength(card.length);
      expect(out.replace(/\d/g, '9')).toBe(card.replace(/\d/g, '9'));
      expect(out).not.toBe(card);
      expect(out[0]).toBe(card[0]); // the first digit (card network) is kept, as the README says
      expect(isCardNumber(out)).toBe(true);
      const digits = out.replace(/\D/g, '');
      let sum = 0;
      for (let i = 0; i < digits.length; i++) {
        let d = Number(digits[digits.length - 1 - i]);
        if (i % 2) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
      }
      expect(sum % 10).toBe(0);
      expect(masker.mask('card', card, 'fpe')).toBe(out);
    }
    const iban = masker.mask('iban', 'DE89 3704 0044 0532 0130 00', 'fpe');
    expect(iban).toMatch(/^DE\d\d( \d{4}){4} \d\d$/);
    expect(isIban(iban)).toBe(true);
    const email = masker.mask('email', 'john.doe@example.com', 'fpe');
    expect(email).toMatch(/^[a-z]{4}\.[a-z]{3}@example\.com$/);
    expect(masker.mask('ipv4', '10.1.2.3', 'fpe')).toMatch(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
  });
});
