import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { isReplyError } from './errors';

export type RedisClient = Redis | Cluster;
export type RedisArg = string | number | Buffer;

/**
 * A Lua script run with EVALSHA. Build it once (module load or plugin constructor), never per request: the SHA1 is
 * computed here, once.
 */
export class RedisScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    if (!Number.isInteger(numberOfKeys) || numberOfKeys < 0) {
      throw new TypeError(`redis script ${name}: numberOfKeys must be a non-negative integer`);
    }
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Throws a TypeError on a wrong key count: a caller bug, caught before any network call. */
  checkKeys(keys: readonly RedisArg[]): void {
    if (keys.length !== this.numberOfKeys) {
      throw new TypeError(`redis script ${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    }
  }

  /**
   * EVALSHA, and EVAL when the server answers NOSCRIPT (after a restart, failover or SCRIPT FLUSH). EVAL also caches
   * the script, so the next EVALSHA hits. In a cluster both commands route by the first key, so the fallback reaches
   * the very node that lacked the script.
   */
  async run(client: RedisClient, keys: readonly RedisArg[], args: readonly RedisArg[]): Promise<unknown> {
    this.checkKeys(keys);
    try {
      return await client.call('evalsha', this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (err) {
      if (!isReplyError(err) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.call('eval', this.lua, this.numberOfKeys, ...keys, ...args);
    }
  }
}
