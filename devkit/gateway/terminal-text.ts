/* eslint-disable no-control-regex */
const UP = '\x1b[1A';
const CSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/**
 * Plain text from a plugin server's terminal output. kong-pdk's stock server colours its log lines and redraws
 * each one several times (`text\n` ESC[1A ESC[K `\n` ESC[1A `more text`), which turns into noise once it is
 * copied into the gateway's own stderr or a file. This renders the redraws (cursor up = the next text replaces
 * the line above) and drops the colour codes. Output of our server (pino JSON, no escapes) passes unchanged.
 *
 * A complete line can still be replaced by what comes next, so the last one is held back until more output arrives,
 * or until `idle()` is called twice with nothing new in between (the forwarder's timer).
 */
export class TerminalText {
  private held: string[] = [];
  private partial = '';
  private quiet = false;

  push(text: string): string {
    if (text === '') return '';
    this.quiet = false;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (let part of parts) {
      while (part.startsWith(UP)) {
        this.held.pop();
        part = part.slice(UP.length);
      }
      this.held.push(part.replace(CSI, ''));
    }
    // only the newest complete line can still be redrawn: the next part starting with ESC[1A replaces it
    const ready = this.held.slice(0, -1);
    this.held = this.held.slice(-1);
    return ready.map((line) => `${line}\n`).join('');
  }

  /** Nothing new since the last call: what is held is final. */
  idle(): string {
    if (!this.quiet) {
      this.quiet = true;
      return '';
    }
    return this.end(false);
  }

  /** Everything left (the process ended or the gateway stops). */
  end(withPartial = true): string {
    const lines = this.held.map((line) => `${line}\n`).join('');
    this.held = [];
    if (!withPartial) return lines;
    const rest = this.partial.replace(CSI, '');
    this.partial = '';
    return lines + rest;
  }
}
