/**
 * The `kong` object handed to plugin phases: property paths become RPC method names, exactly as kong-pdk builds
 * them (so third-party kong-pdk plugins behave the same under this server), including its camelCase conversion,
 * which only splits a lower-case letter followed by an upper-case one: `getIP` becomes `get_iP`.
 */
export type PdkCall = (method: string, args: unknown[]) => Promise<unknown>;

const CAMEL_BOUNDARY = /[a-z][A-Z]/g;
const convertedNames = new Map<string, string>();

export function wireName(property: string): string {
  let name = convertedNames.get(property);
  if (name === undefined) {
    name = property.replace(CAMEL_BOUNDARY, (pair) => (pair[0] + '_' + pair[1]).toLowerCase());
    if (convertedNames.size < 10_000) convertedNames.set(property, name);
  }
  return name;
}

export class PDKError extends Error {
  override get name(): string {
    return 'PDKError';
  }
}

interface BridgeTarget {
  (...args: unknown[]): Promise<unknown>;
  path: string;
  call: PdkCall;
}

const bridgeHandler: ProxyHandler<BridgeTarget> = {
  get(target, property) {
    // Symbols (inspection) and `then` (awaiting a namespace) must not become RPCs: kong-pdk sends "kong.x.then".
    if (typeof property === 'symbol' || property === 'then') return undefined;
    return newBridge(childPath(target.path, property), target.call);
  },
};

/**
 * Method names are built once per distinct path and reused: the same string object every time, so the encoder's
 * per-method cache finds it without re-hashing a freshly concatenated string.
 */
const childPaths = new Map<string, Map<string, string>>();
const MAX_CACHED_PATHS = 10_000;
let cachedPaths = 0;

function childPath(parent: string, property: string): string {
  const children = childPaths.get(parent);
  const cached = children?.get(property);
  if (cached !== undefined) return cached;
  const path = `${parent}.${wireName(property)}`;
  if (cachedPaths < MAX_CACHED_PATHS) {
    cachedPaths++;
    if (children) children.set(property, path);
    else childPaths.set(parent, new Map([[property, path]]));
  }
  return path;
}

function newBridge(path: string, call: PdkCall): unknown {
  const target = function bridgeCall(...args: unknown[]) {
    return call(path, args);
  } as BridgeTarget;
  target.path = path;
  target.call = call;
  return new Proxy(target, bridgeHandler);
}

export function createKongObject(call: PdkCall): any {
  return newBridge('kong', call);
}
