import { errorFields, type Logger } from '../observability/log';

/**
 * Turns ioredis' event stream into one log line per state change. While Redis is down ioredis emits an error on
 * every reconnect attempt; only the first one is worth a line, and the recovery is the next.
 */
export class ConnectionStateLog {
  private state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting';

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  up(): void {
    if (this.state === 'up' || this.state === 'closed') return;
    this.log.info({ recovered: this.state === 'down' }, `${this.what} ready`);
    this.state = 'up';
  }

  down(err?: unknown): void {
    if (this.state === 'down' || this.state === 'closed') return;
    const fields = err === undefined ? {} : errorFields(err);
    this.log.warn(fields, this.state === 'up' ? `${this.what} lost` : `${this.what} unreachable`);
    this.state = 'down';
  }

  /** Deliberate close: the events that follow are expected and not logged. */
  closed(): void {
    if (this.state === 'closed') return;
    this.log.info(`${this.what} closed`);
    this.state = 'closed';
  }
}
