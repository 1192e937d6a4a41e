import type { KongEmulator } from '../emulator/kong';
import type { Logger } from '../../shared/observability/log';

const LEVELS: Record<string, 'error' | 'warn' | 'info' | 'debug'> = {
  alert: 'error', crit: 'error', err: 'error', warn: 'warn', notice: 'info', info: 'info', debug: 'debug',
};

/**
 * Makes what plugins say visible in the dev loop, and keeps a long-running gateway's memory flat: moves the
 * emulator's kong.log.* lines and phase errors into the gateway log (clearing them), and copies new plugin-server
 * output (their pino JSON) to `serverOutput` when given.
 */
export function startLogForwarder(kong: KongEmulator, log: Logger, serverOutput?: (text: string) => void, intervalMs = 250): () => void {
  const offsets = new Map<object, number>();
  const flush = () => {
    for (const line of kong.env.logLines.splice(0)) log[LEVELS[line.level] ?? 'info']({ plugin: line.plugin, source: 'kong.log' }, line.message);
    for (const error of kong.errors.splice(0)) log.error({ source: 'emulator' }, error);
    if (!serverOutput) return;
    for (const server of kong.servers) {
      let offset = offsets.get(server) ?? 0;
      if (offset > server.stderr.length) offset = 0; // the process's buffer was trimmed
      if (server.stderr.length > offset) serverOutput(server.stderr.slice(offset));
      offsets.set(server, server.stderr.length);
    }
  };
  flush(); // start-up output first, before the banner
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    flush();
  };
}
