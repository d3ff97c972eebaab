import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import type { GenerateRequest } from '../pipeline/run.js';
import type { ConvertRequest } from '../pipeline/convert.js';
import type { Progress } from '../pipeline/progress.js';
import { sweepTemporaryFiles } from '../pipeline/writers/safeWrite.js';
import { plannedOutputPaths } from '../pipeline/writers/outputs.js';
import type { ConvertJobResult, HostToWorker, JobFailure, JobResult, ModelChoice, ModelRequest, WorkerToHost } from '../worker/protocol.js';

/** How long a cancelled job may take to stop on its own before its worker is terminated. */
const CANCEL_GRACE_MS = 1500;

export type Outcome<T> = { readonly ok: true; readonly result: T } | { readonly ok: false; readonly failure: JobFailure };
export type JobOutcome = Outcome<JobResult>;

export interface Cancellation {
  onCancel(listener: () => void): void;
}

interface PendingJob {
  readonly settle: (outcome: Outcome<unknown>) => void;
  readonly onProgress: (progress: Progress) => void;
  /** Removes what a killed job may have left (temporary output files). */
  readonly cleanUp: () => Promise<void>;
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

  /** Downloads, verifies and converts a model as needed; resolves to the ONNX folder to run. */
  prepare(
    model: ModelRequest,
    onProgress: (progress: Progress) => void,
    cancel: Cancellation,
    check?: GenerateRequest,
  ): Promise<Outcome<string>> {
    return this.start((jobId) => ({ type: 'prepare', jobId, model, check }), onProgress, cancel, async () => undefined);
  }

  run(request: GenerateRequest, model: ModelChoice, onProgress: (progress: Progress) => void, cancel: Cancellation): Promise<JobOutcome> {
    const tagged: GenerateRequest = { ...request, tag: request.tag ?? `job${process.pid}x${this.nextJobId}` };
    return this.start((jobId) => ({ type: 'run', jobId, request: tagged, model }), onProgress, cancel, () => sweepJob(tagged));
  }

  /** Converts a mesh file to the requested formats; no model is involved. */
  convert(request: ConvertRequest, onProgress: (progress: Progress) => void, cancel: Cancellation): Promise<Outcome<ConvertJobResult>> {
    const tagged: ConvertRequest = { ...request, tag: request.tag ?? `job${process.pid}x${this.nextJobId}` };
    return this.start((jobId) => ({ type: 'convert', jobId, request: tagged }), onProgress, cancel, () =>
      sweepOutputs(tagged.meshPath, tagged.formats, tagged.outDir, tagged.tag),
    );
  }

  async dispose(): Promise<void> {
    await this.terminate();
  }

  private start<T>(
    message: (jobId: number) => HostToWorker,
    onProgress: (progress: Progress) => void,
    cancel: Cancellation,
    cleanUp: () => Promise<void>,
  ): Promise<Outcome<T>> {
    const jobId = this.nextJobId++;
    const worker = this.ensureWorker();
    const outcome = new Promise<Outcome<T>>((resolve) =>
      this.jobs.set(jobId, { settle: (o) => resolve(o as Outcome<T>), onProgress, cleanUp }),
    );
    worker.postMessage(message(jobId));
    cancel.onCancel(() => {
      if (!this.jobs.has(jobId)) return;
      worker.postMessage({ type: 'cancel', jobId } satisfies HostToWorker);
      setTimeout(() => {
        if (this.jobs.has(jobId)) {
          this.log(`Job ${jobId} did not stop within ${CANCEL_GRACE_MS} ms; terminating its worker.`);
          void this.terminate();
        }
      }, CANCEL_GRACE_MS);
    });
    return outcome;
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

  private onMessage(message: WorkerToHost): void {
    switch (message.type) {
      case 'log':
        this.log(message.line);
        return;
      case 'progress':
        this.jobs.get(message.jobId)?.onProgress(message.progress);
        return;
      case 'prepared':
        this.settle(message.jobId, { ok: true, result: message.dir });
        return;
      case 'done':
      case 'converted':
        this.settle(message.jobId, { ok: true, result: message.result });
        return;
      case 'failed':
        this.settle(message.jobId, { ok: false, failure: message.failure });
        return;
    }
  }

  private settle(jobId: number, outcome: Outcome<unknown>): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.jobs.delete(jobId);
    job.settle(outcome);
  }

  /** Ends every job still pending (the worker is gone): each cleans up before it settles. */
  private failAll(failure: JobFailure): void {
    const pending = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of pending) {
      void job
        .cleanUp()
        .catch(() => undefined)
        .finally(() => job.settle({ ok: false, failure }));
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
  await sweepOutputs(request.imagePath, request.formats, request.outDir, request.tag);
}

async function sweepOutputs(sourcePath: string, formats: GenerateRequest['formats'], outDir: string | undefined, tag: string | undefined): Promise<void> {
  if (!tag || formats.length === 0) return;
  const dir = path.dirname(plannedOutputPaths(sourcePath, formats, outDir)[0]);
  await sweepTemporaryFiles(dir, tag).catch(() => 0);
}

export function workerScriptPath(extensionDist: string): string {
  return path.join(extensionDist, 'worker.js');
}
