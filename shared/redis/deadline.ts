/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms`, whichever comes first. The timer is cleared as soon
 * as `work` settles, and a late rejection of `work` is absorbed here, so neither a timer nor an unhandled rejection
 * outlives the call.
 *
 * A deadline never declares a timeout for a reply that is already in the socket. Node runs expired timers before it
 * polls sockets (libuv: timers, then poll, then check), so when the event loop was busy past the deadline (a loaded
 * box, a long synchronous stretch) the timer fires first although the reply arrived long ago and only waits to be
 * read. So the timer does not reject itself: it lets one poll phase run (setImmediate callbacks run right after it)
 * and rejects only if `work` is still pending then. A timely deadline costs one extra loop turn (microseconds); a
 * late one no longer turns an answered command into a "timeout" whose outcome the caller would guess at.
 * `onLate` hears how a call that did miss its deadline ended (a quota script's late reply still says what Redis
 * counted).
 * The timer is armed on the next tick, at the end of the issuing turn: a deadline bounds the wait for Redis, never
 * the caller's own synchronous work after it issued the command (ioredis queues a command issued before the
 * connection is ready and writes it later; a stall of the issuing turn must not eat the wait).
 */
/** How a call that missed its deadline ended after all: the caller's answer is gone, the outcome is not. */
export type LateOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error, onLate?: (outcome: LateOutcome<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let immediate: NodeJS.Immediate | undefined;
    let timer: NodeJS.Timeout | undefined;
    process.nextTick(() => {
      if (settled) return;
      timer = setTimeout(() => {
        // the poll phase of this loop turn reads whatever arrived; the check phase then decides
        immediate = setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(onTimeout());
        });
        // not unref'd: an unref'd immediate lets the poll phase block until other I/O, delaying the timeout itself
      }, ms);
      timer.unref();
    });
    work.then(
      (value) => {
        if (settled) return onLate?.({ ok: true, value });
        settled = true;
        if (timer) clearTimeout(timer);
        if (immediate) clearImmediate(immediate);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return onLate?.({ ok: false, error: err });
        settled = true;
        if (timer) clearTimeout(timer);
        if (immediate) clearImmediate(immediate);
        reject(err);
      },
    );
  });
}
