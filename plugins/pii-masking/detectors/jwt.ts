import { eachMatch, Feature, type Detector, type Match, type ScanInput } from './types';

/**
 * JSON Web Tokens (JWS compact form): three base64url segments, the first two starting with `eyJ` (`{"`), whose
 * header decodes to a JSON object naming an `alg`. Linear: each segment's class excludes the '.' that ends it, the
 * lookbehind admits a start only after a non-token char, and every repetition is bounded.
 */
const CANDIDATE = /(?<![\w-])eyJ[A-Za-z0-9_-]{4,8192}\.eyJ[A-Za-z0-9_-]{4,65536}\.[A-Za-z0-9_-]{0,8192}(?![\w-])/g;

export function isJwt(candidate: string): boolean {
  const dot = candidate.indexOf('.');
  try {
    const header = JSON.parse(Buffer.from(candidate.slice(0, dot), 'base64url').toString('utf8')) as unknown;
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

export const jwtDetector: Detector = {
  type: 'jwt',
  scan(input: ScanInput, out: Match[]): void {
    if (input.numeric || input.text.length < 20 || !(input.features & Feature.Upper) || input.text.indexOf('eyJ') < 0) return;
    eachMatch(CANDIDATE, input.text, (m) => {
      if (isJwt(m[0])) out.push({ start: m.index, end: m.index + m[0].length, type: 'jwt' });
    });
  },
};
