import { onShutdown } from '../lifecycle';
import { closeConnection, openConnection, type SharedConnection } from './connection';
import { RedisHandle } from './handle';
import { connectionKey, handleKey, resolveTarget, type RedisTarget } from './target';

/**
 * Process-wide: one ioredis client per distinct connection identity, one handle (breaker) per distinct target
 * including its breaker settings. Plugin instances built from equal configs therefore share both.
 */
const connections = new Map<string, SharedConnection>();
const handles = new Map<string, RedisHandle>();
// Kong hands each plugin instance its own config object: repeated calls with it skip resolving and hashing.
let byConfigObject = new WeakMap<RedisTarget, RedisHandle>();
let unregisterShutdown: (() => void) | undefined;

/** Call from a plugin's constructor, not per request: it resolves the config and may open a connection. */
export function getRedis(target: RedisTarget): RedisHandle {
  const known = byConfigObject.get(target);
  if (known) return known;
  const resolved = resolveTarget(target);
  const hKey = handleKey(resolved);
  const existing = handles.get(hKey);
  if (existing) {
    byConfigObject.set(target, existing);
    return existing;
  }

  const cKey = connectionKey(resolved);
  let connection = connections.get(cKey);
  if (!connection) {
    connection = openConnection(cKey, resolved);
    connections.set(cKey, connection);
    unregisterShutdown ??= onShutdown(closeAllRedis);
  }
  const handle = new RedisHandle(connection, resolved);
  handles.set(hKey, handle);
  byConfigObject.set(target, handle);
  return handle;
}

/** Closes every connection. Handles obtained earlier then fail with RedisUnavailableError; get new ones. */
export async function closeAllRedis(): Promise<void> {
  const closing = [...connections.values()];
  connections.clear();
  handles.clear();
  byConfigObject = new WeakMap();
  unregisterShutdown?.();
  unregisterShutdown = undefined;
  await Promise.all(closing.map(closeConnection));
}

/** Number of open ioredis clients, for tests and diagnostics. */
export function openConnectionCount(): number {
  return connections.size;
}
