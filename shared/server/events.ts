import { encode, encodeCallReply, encodeDataReply } from './codec';
import { PDKError } from './pdk-bridge';

/** Where the answer to one Kong request goes: the connection it came on and its msgid. */
export interface ReplyTarget {
  readonly socket: { write(data: Uint8Array): boolean; readonly destroyed: boolean };
  readonly msgid: number;
}

export function sendResult(reply: ReplyTarget, result: unknown): void {
  if (!reply.socket.destroyed) reply.socket.write(encode([1, reply.msgid, undefined, result]));
}

export function sendError(reply: ReplyTarget, message: string): void {
  if (!reply.socket.destroyed) reply.socket.write(encode([1, reply.msgid, message, undefined]));
}

/** PDK calls after which Kong never sends another Step for the event (it ends the request). */
export const TERMINAL_METHODS = new Set(['kong.response.exit', 'kong.response.error']);

interface QueuedCall {
  method: string;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export interface EventTable {
  awaitingStep(event: PhaseEvent): void;
  settled(event: PhaseEvent): void;
}

const RET = 'ret';

/**
 * One phase run of one instance: a small state machine between the plugin's PDK calls and Kong's Steps.
 * Kong allows one outstanding call per event; calls a plugin makes concurrently are queued and sent in order.
 * The event sits in the server's table only while it waits for a Step, and leaves it when the handler ends,
 * when it sends exit/error (Kong sends no further Step) or when it is abandoned; nothing is kept after that.
 */
export class PhaseEvent {
  private reply: ReplyTarget | undefined;
  private outstanding: QueuedCall | undefined;
  private readonly queue: QueuedCall[] = [];
  private handlerDone = false;
  private finalCall: { Method: string; Args: unknown[] } | undefined;
  ended = false;
  /** Last time Kong sent something for this event (HandleEvent, Step): the sweeper's clock. */
  touchedAt: number;

  constructor(
    readonly id: number,
    private readonly table: EventTable,
    reply: ReplyTarget,
    /** Who runs it, for logs: "<plugin>.<phase>". */
    readonly owner = '',
    now = Date.now(),
  ) {
    this.reply = reply;
    this.touchedAt = now;
  }

  /** True while the plugin's handler runs with Kong's request unanswered (no PDK call out, not finished). */
  get handlerRunning(): boolean {
    return !this.ended && this.reply !== undefined && this.outstanding === undefined && !this.handlerDone;
  }

  /** The PdkCall given to the `kong` object. */
  readonly call = (method: string, args: unknown[]): Promise<unknown> => {
    if (this.ended) {
      return Promise.reject(new PDKError(`PDK method ${method} called after the request ended (exit, error or abandoned)`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ method, args, resolve, reject });
      this.pump();
    });
  };

  /** Kong answered the outstanding call (Step and its variants). */
  step(reply: ReplyTarget, data: unknown): void {
    this.reply = reply;
    this.touchedAt = Date.now();
    const answered = this.outstanding;
    this.outstanding = undefined;
    this.pump();
    answered?.resolve(data);
  }

  /** StepError (Kong 3.x never sends it): the outstanding call rejects, as in kong-pdk. */
  stepError(reply: ReplyTarget, message: string): void {
    this.reply = reply;
    const answered = this.outstanding;
    this.outstanding = undefined;
    this.pump();
    answered?.reject(new PDKError(`PDK method ${answered.method} failed: ${message}`));
  }

  /** The phase handler returned (or threw, after which `finalCall` may carry a fail-closed response). */
  handlerFinished(finalCall?: { Method: string; Args: unknown[] }): void {
    this.handlerDone = true;
    this.finalCall = finalCall;
    this.pump();
  }

  /** Kong will never Step this event again; release the plugin's pending calls with an error. */
  abandon(reason: string): void {
    this.end();
    const err = new PDKError(reason);
    const pending = this.outstanding ? [this.outstanding, ...this.queue] : [...this.queue];
    this.outstanding = undefined;
    this.queue.length = 0;
    for (const call of pending) call.reject(err);
  }

  private pump(): void {
    const reply = this.reply;
    if (!reply || this.outstanding || this.ended) return;
    const next = this.queue.shift();
    if (next) {
      this.reply = undefined;
      if (!reply.socket.destroyed) reply.socket.write(encodeCallReply(reply.msgid, this.id, next.method, next.args));
      if (TERMINAL_METHODS.has(next.method)) {
        // kong-pdk resolves exit/error at once; code after it keeps running, but Kong sends no further Step.
        this.end();
        next.resolve(undefined);
        const rest = this.queue.splice(0);
        const err = new PDKError(`PDK call after ${next.method}: the request has already ended`);
        for (const call of rest) call.reject(err);
        return;
      }
      this.outstanding = next;
      this.touchedAt = Date.now();
      this.table.awaitingStep(this);
      return;
    }
    if (this.handlerDone) {
      this.reply = undefined;
      const data = this.finalCall ?? RET;
      if (!reply.socket.destroyed) reply.socket.write(encodeDataReply(reply.msgid, this.id, data));
      this.end();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.table.settled(this);
  }
}
