import crypto from 'node:crypto';
import type { Logger } from '../../shared/observability/log';

let processKey: Buffer | undefined;

/**
 * The HMAC key for token and fpe modes: config `token_key` (a Kong vault reference resolves before it gets here),
 * else env PII_MASKING_TOKEN_KEY, else one random key per process, with a warning: tokens then differ between
 * processes and restarts, so they cannot be joined across logs.
 */
export function resolveTokenKey(configured: string | null, log: Logger): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  const fromEnv = process.env.PII_MASKING_TOKEN_KEY;
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  if (!processKey) {
    processKey = crypto.randomBytes(32);
    log.warn('pii-masking: no token_key and no PII_MASKING_TOKEN_KEY; tokens use a random per-process key and will not match across processes');
  }
  return processKey;
}
