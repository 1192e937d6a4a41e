import type { KongEmulator } from '../emulator/kong';
import type { Logger } from '../../shared/observability/log';
import { TerminalText } from './terminal-text';

const LEVELS: Record<string, 'error' | 'warn' | 'info' | 'debug'> = {
  alert: 'error', crit: 'error', err: 'error', warn: 'warn', notice: 'info', info: 'info', debug: 'debug',
};

/**
 * Makes what plugins say visible in the dev loop, and keeps a long-running gateway's memory flat: moves the
 * emulator's kong.log.* lines and phase errors into the gateway log (clearing them), and copies new plugin-server
 * output to `serverOutput` when given: our server's pino JSON as it is, the stock server's coloured, redrawn lines
 * as plain text (TerminalText).
 */
export function startLogForwarder(kong: KongEmulator, log: Logger, serverOutput?: (text: string) => void, intervalMs = 250): () => void {
  const offsets = new Map<object, number>();
  const texts = new Map<object, TerminalText>();
  const flush = (final = false) => {
    for (const line of kong.env.logLines.splice(0)) log[LEVELS[line.level] ?? 'info']({ plugin: line.plugin, source: 'kong.log' }, line.message);
    for (const error of kong.errors.splice(0)) log.error({ source: 'emulator' }, error);
    if (!serverOutput) return;
    for (const server of kong.servers) {
      let offset = offsets.get(server) ?? 0;
      if (offset > server.stderr.length) offset = 0; // the process's buffer was trimmed
      let text = texts.get(server);
      if (!text) texts.set(server, (text = new TerminalText()));
      const plain = server.stderr.length > offset ? text.push(server.stderr.slice(offset)) : text.idle();
      offsets.set(server, server.stderr.length);
      const out = final ? plain + text.end() : plain;
      if (out) serverOutput(out);
    }
  };
  flush(); // start-up output first, before the banner
  const timer = setInterval(() => flush(), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    flush(true);
  };
}
