import { ReplyError } from 'ioredis';

/** Why Redis could not serve a call. Stable strings: callers and dashboards may switch on them. */
export type UnavailableReason = 'circuit_open' | 'timeout' | 'connection' | 'server_busy';

/**
 * The one error a plugin needs to catch to apply its fail-open / fail-closed policy: Redis did not answer
 * (breaker open, timeout, no connection, server loading/busy). Script and argument errors are not wrapped: they are
 * the caller's bugs and surface as ioredis' ReplyError.
 */
export class RedisUnavailableError extends Error {
  readonly code: string;

  constructor(
    readonly reason: UnavailableReason,
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(`redis ${target} unavailable: ${reason}`, options);
    this.code = `KONG_PLUGINS_REDIS_${reason.toUpperCase()}`;
  }

  override get name(): string {
    return 'RedisUnavailableError';
  }
}

// Replies that say the server cannot serve right now, as opposed to "your command is wrong".
const UNAVAILABLE_REPLIES = [
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'READONLY',
  'NOREPLICAS',
  'NOAUTH',
  'WRONGPASS',
];

export type Failure =
  | { kind: 'caller'; error: unknown }
  | { kind: 'unavailable'; reason: Exclude<UnavailableReason, 'circuit_open'>; error: unknown };

export function isReplyError(err: unknown): err is Error {
  return err instanceof ReplyError;
}

export function classifyFailure(err: unknown): Failure {
  if (err instanceof RedisUnavailableError) {
    return { kind: 'unavailable', reason: err.reason === 'circuit_open' ? 'connection' : err.reason, error: err };
  }
  if (isReplyError(err)) {
    const prefix = err.message.split(' ', 1)[0];
    return UNAVAILABLE_REPLIES.includes(prefix)
      ? { kind: 'unavailable', reason: 'server_busy', error: err }
      : { kind: 'caller', error: err };
  }
  if (err instanceof Error && err.message === 'Command timed out') {
    return { kind: 'unavailable', reason: 'timeout', error: err };
  }
  return { kind: 'unavailable', reason: 'connection', error: err };
}
