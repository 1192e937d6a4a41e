import net from 'node:net';

/**
 * Istio's value matchers, compiled once: exact, `prefix*`, `*suffix` and `*` (presence: any non-empty value) for
 * strings (https://istio.io/latest/docs/reference/config/security/authorization-policy/, "Value matching"); `{*}`
 * and `{**}` templates for paths; CIDRs for IP fields; case-insensitive hosts. A compiled matcher is a plain
 * predicate over a present value: what a missing value means is decided by the caller (values never match it,
 * notValues are satisfied by it).
 */
export type Matcher = (value: string) => boolean;

/** Istio's string match on a present value: exact, `prefix*`, `*suffix`, `*` = any non-empty value. */
export function stringMatch(pattern: string, value: string): boolean {
  return compileString(pattern)(value);
}

export function compileString(pattern: string, ignoreCase = false): Matcher {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const norm = ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  if (p === '*') return (v) => v !== '';
  if (p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (v) => norm(v).startsWith(prefix);
  }
  if (p.startsWith('*')) {
    const suffix = p.slice(1);
    return (v) => norm(v).endsWith(suffix);
  }
  return ignoreCase ? (v) => v.toLowerCase() === p : (v) => v === p;
}

/** Why a path template is refused (Istio's validation), or undefined. `{**}` must be the last segment. */
export function pathTemplateProblem(pattern: string): string | undefined {
  if (!pattern.includes('{')) return undefined;
  if (!pattern.startsWith('/')) return `path template "${pattern}" must start with /`;
  const segments = pattern.split('/').slice(1);
  for (const [i, segment] of segments.entries()) {
    if (segment.includes('{') && segment !== '{*}' && segment !== '{**}') return `path template "${pattern}": a segment is either {*}, {**} or literal`;
    if (segment === '{**}' && i !== segments.length - 1) return `path template "${pattern}": {**} must be the last segment`;
  }
  if (pattern.replace(/\{\*\*?\}/g, '').includes('*')) return `path template "${pattern}" mixes * with {*}/{**}`;
  return undefined;
}

/** Paths: string match, plus `{*}` (exactly one non-empty segment) and `{**}` (one or more remaining characters, any segments). */
export function pathMatch(pattern: string, value: string): boolean {
  return compilePath(pattern)(value);
}

export function compilePath(pattern: string): Matcher {
  if (!pattern.includes('{*}') && !pattern.includes('{**}')) return compileString(pattern);
  // literal segments only (checked by pathTemplateProblem), so this regex is linear: no nested quantifiers
  const source = pattern
    .split('/')
    .map((segment) => (segment === '{**}' ? '.+' : segment === '{*}' ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  const regex = new RegExp(`^${source}$`);
  return (v) => regex.test(v);
}

/** An IPv4/IPv6 address or CIDR, compiled into a BlockList; undefined when it does not parse. */
export function compileCidr(cidr: string): Matcher | undefined {
  const [range, bitsText, extra] = cidr.split('/');
  const family = net.isIP(range);
  if (family === 0 || extra !== undefined) return undefined;
  const list = new net.BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bitsText === undefined) list.addAddress(range, type);
  else {
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > (family === 4 ? 32 : 128)) return undefined;
    list.addSubnet(range, Number(bitsText), type);
  }
  return (ip) => {
    const f = net.isIP(ip);
    return f !== 0 && f === family && list.check(ip, type);
  };
}

/** IPv4/IPv6 CIDR or a single address. */
export function inCidr(ip: string, cidr: string): boolean {
  return compileCidr(cidr)?.(ip) ?? false;
}

/** Any of the patterns matches the value. */
export function anyOf(matchers: Matcher[]): Matcher {
  if (matchers.length === 1) return matchers[0];
  return (v) => {
    for (const m of matchers) if (m(v)) return true;
    return false;
  };
}
