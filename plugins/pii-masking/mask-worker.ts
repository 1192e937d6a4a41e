import { parentPort } from 'node:worker_threads';
import { maskBody } from './body-masking';
import { compileMasking, type CompiledMasking } from './compile';
import { decisionToMessage, type WorkerJob, type WorkerReply } from './mask-pool';

/**
 * A masking worker thread: compiles each config it is sent once (bounded cache), masks one body at a time with the
 * same maskBody the plugin runs inline, and answers with the decision (the body transferred, not copied).
 */
const compiled = new Map<string, CompiledMasking>();

parentPort?.on('message', (job: WorkerJob) => {
  void run(job).then((reply) => parentPort!.postMessage(reply, reply.decision?.body ? [reply.decision.body.buffer as ArrayBuffer] : []));
});

async function run(job: WorkerJob): Promise<WorkerReply> {
  try {
    let masking = compiled.get(job.configId);
    if (!masking) {
      if (compiled.size >= 32) compiled.clear();
      masking = compileMasking(job.config, undefined, Buffer.from(job.tokenKey));
      compiled.set(job.configId, masking);
    }
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
    const decision = await maskBody({ body, contentType: job.contentType, contentEncoding: job.contentEncoding, status: job.status }, masking);
    return { id: job.id, decision: decisionToMessage(decision) };
  } catch (err) {
    return { id: job.id, error: (err as Error).message };
  }
}
