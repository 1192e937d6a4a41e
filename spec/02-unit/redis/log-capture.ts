import fs from 'node:fs';
import { rootLogger } from '../../../shared/observability/log';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/**
 * Captures the suite's pino output (JSON lines written synchronously to fd 2) instead of printing it, at level info
 * even though tests run silent. Loggers created before the call keep their level: call it before opening
 * connections. Returns the captured lines and a restore function.
 */
export function captureLogs(): { lines: LogLine[]; restore: () => void } {
  const lines: LogLine[] = [];
  const level = rootLogger.level;
  rootLogger.level = 'info';
  const original = fs.writeSync;
  const spy = jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd !== 2) return (original as (...args: unknown[]) => number)(fd, data, ...rest);
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    for (const line of text.split('\n')) {
      if (line.trim()) lines.push(JSON.parse(line) as LogLine);
    }
    return Buffer.byteLength(text);
  }) as typeof fs.writeSync);
  return {
    lines,
    restore: () => {
      spy.mockRestore();
      rootLogger.level = level;
    },
  };
}
