/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms`, whichever comes first. The timer is cleared as soon
 * as `work` settles, and a late rejection of `work` is absorbed here, so neither a timer nor an unhandled rejection
 * outlives the call.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
