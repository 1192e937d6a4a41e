import type { KongEmulator } from '../../devkit/emulator/kong';
import type { ClientRequest } from '../../devkit/emulator/request-context';

/**
 * `concurrency` lanes send `request` through the emulator until `durationMs` has passed or `maxRequests` have
 * started: requests, events/s, PDK calls per request and the last status. Every emulator bench drives this way.
 */
export async function driveEmulator(kong: KongEmulator, request: ClientRequest, durationMs: number, concurrency: number, maxRequests = 100_000) {
  let started = 0;
  let done = 0;
  let calls = 0;
  let status = 0;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + durationMs;
  const lane = async () => {
    while (Date.now() < deadline && started < maxRequests) {
      started++;
      const handled = await kong.handle(request);
      await handled.logged;
      calls += handled.context.pdkCalls;
      status = handled.response.status;
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { requests: done, eventsPerSecond: done / (Number(process.hrtime.bigint() - t0) / 1e9), pdkCalls: calls / Math.max(done, 1), status };
}
