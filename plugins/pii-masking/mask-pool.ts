import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BodyDecision, BodyJob, BlockReason, SkipReason } from './body-masking';
import type { MaskingConfig } from './compile';
import type { BodyFormat } from './content-types';
import { MaskReport } from './value-masker';

/**
 * Large bodies are masked off the plugin server's event loop, in a small pool of worker threads, so no event waits
 * behind another's body; each job has a time budget, and a worker over budget is terminated (its CPU-bound scan
 * cannot be interrupted otherwise) and replaced: the caller gets 'timeout' and blocks the response.
 */
export interface WorkerJob {
  id: number;
  configId: string;
  config: MaskingConfig;
  tokenKey: Uint8Array;
  body: Uint8Array;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  status: number;
}

export interface DecisionMessage {
  action: BodyDecision['action'];
  counts: Array<[string, number]>;
  blocked: string[];
  skipped?: SkipReason;
  reason?: BlockReason;
  body?: Uint8Array;
  dropEncoding?: boolean;
  format?: BodyFormat;
}

export interface WorkerReply {
  id: number;
  decision?: DecisionMessage;
  error?: string;
}

export function decisionToMessage(decision: BodyDecision): DecisionMessage {
  const base = { action: decision.action, counts: [...decision.report.counts], blocked: [...decision.report.blocked], skipped: decision.skipped };
  if (decision.action === 'block') return { ...base, reason: decision.reason };
  if (decision.action === 'replace') {
    const body = new Uint8Array(decision.body.byteLength);
    body.set(decision.body);
    return { ...base, body, dropEncoding: decision.dropEncoding, format: decision.format };
  }
  return base;
}

export function messageToDecision(message: DecisionMessage): BodyDecision {
  const report = new MaskReport();
  for (const [type, count] of message.counts) report.counts.set(type, count);
  for (const type of message.blocked) report.blocked.add(type);
  if (message.action === 'block') return { action: 'block', report, reason: message.reason!, skipped: message.skipped };
  if (message.action === 'replace') {
    const body = Buffer.from(message.body!.buffer, message.body!.byteOffset, message.body!.byteLength);
    return { action: 'replace', report, body, dropEncoding: message.dropEncoding!, format: message.format!, skipped: message.skipped };
  }
  return { action: 'pass', report, skipped: message.skipped };
}

interface Pending {
  job: WorkerJob;
  budgetMs: number;
  resolve: (decision: BodyDecision | 'timeout') => void;
  reject: (err: Error) => void;
}

/** Inputs are staged in multiples of this (a 64 KB body takes 1 MB, a 7.5 MB one 8 MB). */
const STAGING_STEP = 1024 * 1024;

class Slot {
  worker: Worker;
  current: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
  /**
   * The body goes to the worker through memory both threads share, kept for the slot's next job: copying 7.5 MB into
   * a fresh buffer (to transfer it) took the event loop 3 ms, mostly page faults; into warm shared memory 0.3 ms.
   * One job at a time per slot, and a worker past its budget gets a new staging area with its replacement.
   */
  private staging: SharedArrayBuffer | undefined;

  constructor(private readonly pool: MaskPool) {
    this.worker = this.spawn();
  }

  spawn(): Worker {
    const worker = new Worker(this.pool.file);
    worker.unref();
    // only the current worker's answer to the current job counts: a terminated worker's late reply is dropped
    worker.on('message', (reply: WorkerReply) => {
      if (this.worker === worker && this.current && reply.id === this.current.job.id) this.done(reply);
    });
    worker.on('error', (err) => {
      if (this.worker !== worker) return;
      this.worker = this.spawn();
      this.fail(err);
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return; // terminated on purpose (time budget) and already replaced
      this.worker = this.spawn();
      if (this.current) this.fail(new Error('pii-masking worker exited'));
    });
    return worker;
  }

  start(pending: Pending): void {
    this.current = pending;
    this.timer = setTimeout(() => this.timeout(), pending.budgetMs);
    const job = pending.job;
    this.worker.postMessage({ ...job, body: this.stage(job.body) });
  }

  private stage(body: Uint8Array): Uint8Array {
    if (!this.staging || this.staging.byteLength < body.byteLength) this.staging = new SharedArrayBuffer(Math.ceil(body.byteLength / STAGING_STEP) * STAGING_STEP);
    const view = new Uint8Array(this.staging, 0, body.byteLength);
    view.set(body);
    return view;
  }

  private finish(): Pending | undefined {
    const pending = this.current;
    this.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return pending;
  }

  private done(reply: WorkerReply): void {
    const pending = this.finish();
    if (pending) {
      if (reply.decision) pending.resolve(messageToDecision(reply.decision));
      else pending.reject(new Error(`pii-masking worker: ${reply.error ?? 'no decision'}`));
    }
    this.pool.next(this);
  }

  private fail(err: Error): void {
    const pending = this.finish();
    pending?.reject(err);
    this.pool.next(this);
  }

  private timeout(): void {
    const pending = this.finish();
    const stuck = this.worker;
    this.staging = undefined; // the stuck worker may still read it while it is terminated
    this.worker = this.spawn();
    void stuck.terminate();
    pending?.resolve('timeout');
    this.pool.next(this);
  }
}

export class MaskPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  /** Jobs dispatched to a worker (for tests and the bench). */
  dispatched = 0;
  timeouts = 0;

  constructor(
    readonly file: string,
    private readonly size: number,
  ) {}

  /** Masks `job` in a worker within `budgetMs` of CPU time on a worker (queueing not counted). */
  run(configId: string, config: MaskingConfig, tokenKey: Buffer, job: BodyJob, budgetMs: number): Promise<BodyDecision | 'timeout'> {
    // the body is copied when a worker takes the job (Slot.stage); a plugin server's decoded bytes are not reused
    const body = job.body;
    const message: WorkerJob = {
      id: this.nextId++,
      configId,
      config,
      tokenKey: new Uint8Array(tokenKey),
      body,
      contentType: job.contentType,
      contentEncoding: job.contentEncoding,
      status: job.status,
    };
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        job: message,
        budgetMs,
        resolve: (d) => {
          if (d === 'timeout') this.timeouts++;
          resolve(d);
        },
        reject,
      };
      if (this.slots.length < this.size) {
        const slot = new Slot(this);
        this.slots.push(slot);
        this.dispatch(slot, pending);
        return;
      }
      const idle = this.slots.find((s) => !s.current);
      if (idle) this.dispatch(idle, pending);
      else this.queue.push(pending);
    });
  }

  next(slot: Slot): void {
    const pending = this.queue.shift();
    if (pending) this.dispatch(slot, pending);
  }

  private dispatch(slot: Slot, pending: Pending): void {
    this.dispatched++;
    slot.start(pending);
  }

  async close(): Promise<void> {
    for (const slot of this.slots) await slot.worker.terminate();
    this.slots.length = 0;
  }
}

let shared: MaskPool | null | undefined;

/** The worker file next to this module when it is built JavaScript; undefined when running from TypeScript sources. */
export function workerFile(): string | undefined {
  const file = path.join(__dirname, 'mask-worker.js');
  return fs.existsSync(file) ? file : undefined;
}

/** The process-wide pool (one per plugin server), or undefined when no built worker exists (then bodies mask inline). */
export function sharedPool(): MaskPool | undefined {
  if (shared === undefined) {
    const file = workerFile();
    // PII_MASKING_WORKERS: pool size (0: mask every body inline); default: CPUs - 1, 1 to 4
    const configured = process.env.PII_MASKING_WORKERS;
    const size = configured !== undefined && /^\d+$/.test(configured) ? Number(configured) : Math.max(1, Math.min(4, (os.availableParallelism?.() ?? os.cpus().length) - 1));
    shared = file && size > 0 ? new MaskPool(file, size) : null;
  }
  return shared ?? undefined;
}
