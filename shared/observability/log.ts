import pino from 'pino';

/**
 * The suite's one logger factory. JSON on stderr, always: the plugin server's stdout belongs to Kong,
 * which parses it (the --dump-all-plugins schema dump).
 */
const level = process.env.KONG_PLUGINS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';

export const rootLogger = pino(
  {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ fd: 2, sync: true }),
);

export type Logger = pino.Logger;

export function childLogger(bindings: Record<string, unknown>): Logger {
  return rootLogger.child(bindings);
}

export function errorFields(err: unknown): Record<string, unknown> {
  // not `err`: pino's err serializer would replace the type with the constructor name of this plain object
  if (err instanceof Error) return { error: { type: err.name, message: err.message, stack: err.stack } };
  return { error: { message: String(err) } };
}
