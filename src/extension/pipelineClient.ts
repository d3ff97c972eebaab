import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import type { GenerateRequest } from '../pipeline/run.js';
import type { Progress } from '../pipeline/progress.js';
import { sweepTemporaryFiles } from '../pipeline/writers/safeWrite.js';
import { plannedOutputPaths } from '../pipeline/writers/outputs.js';
import type { HostToWorker, JobFailure, JobResult, ModelChoice, WorkerToHost } from '../worker/protocol.js';

/** How long a cancelled job may take to stop on its own before its worker is terminated. */
const CANCEL_GRACE_MS = 1500;

export type JobOutcome = { readonly ok: true; readonly result: JobResult } | { readonly ok: false; readonly failure: JobFailure };

interface PendingJob {
  readonly resolve: (outcome: JobOutcome) => void;
  readonly onProgress: (progress: Progress) => void;
  readonly request: GenerateRequest;
}

/**
 * Runs pipeline jobs in one long-lived worker thread (models stay loaded between jobs). A cancel asks
 * the worker to stop between steps; an inference call cannot be interrupted, so if the worker does not
 * answer in time it is terminated and the job's temporary files are swept.
 */
export class PipelineClient {
  private worker: Worker | undefined;
  private nextJobId = 1;
  private readonly jobs = new Map<number, PendingJob>();

  constructor(
    private readonly workerScript: string,
    private readonly log: (line: string) => void,
  ) {}

  run(
    request: GenerateRequest,
    model: ModelChoice,
    onProgress: (progress: Progress) => void,
    cancel: { onCancel(listener: () => void): void },
  ): Promise<JobOutcome> {
    const jobId = this.nextJobId++;
    const tagged: GenerateRequest = { ...request, tag: request.tag ?? `job${process.pid}x${jobId}` };
    const worker = this.ensureWorker();
    const outcome = new Promise<JobOutcome>((resolve) => this.jobs.set(jobId, { resolve, onProgress, request: tagged }));
    this.send(worker, { type: 'run', jobId, request: tagged, model });
    cancel.onCancel(() => {
      if (!this.jobs.has(jobId)) return;
      this.send(worker, { type: 'cancel', jobId });
      setTimeout(() => {
        if (this.jobs.has(jobId)) {
          this.log(`Job ${jobId} did not stop within ${CANCEL_GRACE_MS} ms; terminating its worker.`);
          void this.terminate();
        }
      }, CANCEL_GRACE_MS);
    });
    return outcome;
  }

  async dispose(): Promise<void> {
    await this.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerScript);
    worker.on('message', (message: WorkerToHost) => this.onMessage(message));
    worker.on('error', (err) => {
      this.log(`Worker error: ${err.stack ?? err.message}`);
      this.failAll({ kind: 'bug', message: err.message, stack: err.stack });
    });
    worker.on('exit', (code) => {
      // Our own terminate() has already settled its jobs; an exit we did not ask for is a crash.
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll({ kind: 'bug', message: `The pipeline worker stopped unexpectedly (exit code ${code}).` });
    });
    this.worker = worker;
    return worker;
  }

  private send(worker: Worker, message: HostToWorker): void {
    worker.postMessage(message);
  }

  private onMessage(message: WorkerToHost): void {
    switch (message.type) {
      case 'log':
        this.log(message.line);
        return;
      case 'progress':
        this.jobs.get(message.jobId)?.onProgress(message.progress);
        return;
      case 'done':
        this.settle(message.jobId, { ok: true, result: message.result });
        return;
      case 'failed':
        this.settle(message.jobId, { ok: false, failure: message.failure });
        return;
    }
  }

  private settle(jobId: number, outcome: JobOutcome): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.jobs.delete(jobId);
    job.resolve(outcome);
  }

  /** Ends every job still pending (the worker is gone): their temporaries are swept first. */
  private failAll(failure: JobFailure): void {
    const pending = [...this.jobs.entries()];
    this.jobs.clear();
    for (const [, job] of pending) {
      void sweepJob(job.request).finally(() => job.resolve({ ok: false, failure }));
    }
  }

  private async terminate(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll({ kind: 'cancelled' });
  }
}

async function sweepJob(request: GenerateRequest): Promise<void> {
  if (!request.tag) return;
  const dir = path.dirname(plannedOutputPaths(request.imagePath, request.formats, request.outDir)[0]);
  await sweepTemporaryFiles(dir, request.tag).catch(() => 0);
}

export function workerScriptPath(extensionDist: string): string {
  return path.join(extensionDist, 'worker.js');
}
