import { createHash, randomBytes } from 'node:crypto';
import { text } from './envelope';

export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const BASE64 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

export type PasswordType = 'PasswordText' | 'PasswordDigest';

export interface UsernameTokenSettings {
  username: string;
  password: string;
  type: PasswordType;
  mustUnderstand: boolean;
}

/** PasswordDigest = Base64(SHA-1(nonce + created + password)), nonce as raw bytes (UsernameToken Profile 1.0 §3.1). */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')])).digest('base64');
}

/**
 * The wsse:Security header of one request (OASIS WSS UsernameToken Profile 1.0): a fresh 16-byte nonce and the
 * creation instant on every request (the server's replay window keys on them), the password as text or digest.
 */
export function usernameTokenHeader(settings: UsernameTokenSettings, nowMs: number, nonce: Buffer = randomBytes(16)): string {
  const created = new Date(nowMs).toISOString();
  const password = settings.type === 'PasswordDigest' ? passwordDigest(nonce, created, settings.password) : settings.password;
  const mu = settings.mustUnderstand ? ' soap:mustUnderstand="1"' : '';
  return (
    `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"${mu}>` +
    `<wsse:UsernameToken><wsse:Username>${text(settings.username)}</wsse:Username>` +
    `<wsse:Password Type="${PROFILE}#${settings.type}">${text(password)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="${BASE64}">${nonce.toString('base64')}</wsse:Nonce>` +
    `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}
