import fs from 'node:fs';

/**
 * Kong parses the query command's stdout as JSON, and the serving process's stdout is Kong's too. Anything a
 * plugin or library prints (console.log at load time, kong-js-pdk#82) is moved to stderr; only `writeKongStdout`
 * reaches fd 1.
 */
let installed = false;

export function guardStdout(): void {
  if (installed) return;
  installed = true;
  const toStderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) =>
    toStderr(chunk as string, encoding as BufferEncoding, callback as () => void)) as typeof process.stdout.write;
}

export function writeKongStdout(data: string | Uint8Array): void {
  let offset = 0;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(1, bytes, offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}
