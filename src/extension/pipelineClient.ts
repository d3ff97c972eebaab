import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { GenerateRequest } from '../pipeline/run.js';
import type { ConvertRequest } from '../pipeline/convert.js';
import type { ModelRequest } from '../pipeline/generate.js';
import type { Progress } from '../pipeline/progress.js';
import type { OutputFormat } from '../pipeline/writers/outputFormats.js';
import { plannedOutputPaths } from '../pipeline/writers/outputs.js';
import { newWriteTag, sweepTemporaryFiles } from '../pipeline/writers/safeWrite.js';
import type { HostToWorker, JobFailure, JobKind, Jobs, WorkerToHost } from '../worker/protocol.js';

/** How long a cancelled job may take to stop on its own before its process is killed. */
const CANCEL_GRACE_MS = 1500;
/** Lines of the process's own output kept to explain a crash (native code prints its last words there). */
const LAST_OUTPUT_LINES = 20;

/** The pipeline process died under a job: native code crashed, the system killed it, or it ran out of memory. */
export interface EngineCrash {
  readonly kind: 'crashed';
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What the process last wrote to stderr, for the log. */
  readonly lastOutput: readonly string[];
}

export type Failure = JobFailure | EngineCrash;
export type Outcome<T> = { readonly ok: true; readonly result: T } | { readonly ok: false; readonly failure: Failure };

export interface Cancellation {
  onCancel(listener: () => void): void;
}

/** The process as tests and the log see it. */
export interface EngineState {
  /** The running process's id; absent until the first job, and after it stopped. */
  readonly pid?: number;
  /** Processes started so far (the first job starts one; each crash means the next job starts another). */
  readonly starts: number;
  /** Times the process died without being asked to. */
  readonly crashes: number;
  readonly runningJobs: number;
}

interface PendingJob {
  readonly settle: (outcome: Outcome<unknown>) => void;
  readonly onProgress: (progress: Progress) => void;
  /** Removes what a killed job may have left (temporary output files); runs once its process is dead. */
  readonly cleanUp: () => Promise<void>;
}

export interface PipelineClientOptions {
  /** Extra environment for the process (tests). */
  readonly env?: Readonly<Record<string, string>>;
  /** More environment, asked each time the process starts (which ONNX Runtime to load may change). */
  readonly environment?: () => Readonly<Record<string, string>>;
  readonly cancelGraceMs?: number;
}

/**
 * Runs pipeline jobs in one long-lived child process, started on the first job with the editor's own
 * runtime (Electron as Node, as VS Code's language clients start their servers). Native code runs
 * there, never in the extension host: ONNX Runtime in a worker thread under Electron crashes at random
 * (onnxruntime #20084), and a native abort in a thread takes the whole extension host with it.
 *
 * A cancel asks the process to stop between steps; an inference call cannot be interrupted, so if it
 * does not answer in time the process is killed. Either way, and after a crash, the job's temporary
 * files are swept once the process is dead, and the next job starts a fresh process.
 */
export class PipelineClient {
  private child: ChildProcess | undefined;
  private nextJobId = 1;
  private readonly jobs = new Map<number, PendingJob>();
  private starts = 0;
  private crashes = 0;
  private lastOutput: string[] = [];

  constructor(
    private readonly workerScript: string,
    private readonly log: (line: string) => void,
    private readonly options: PipelineClientOptions = {},
  ) {}

  /** One generation: the process prepares the model (a no-op when ready), opens it and runs. */
  generate(request: GenerateRequest, model: ModelRequest, onProgress: (progress: Progress) => void, cancel: Cancellation): Promise<Outcome<Jobs['generate']['result']>> {
    const tagged: GenerateRequest = { ...request, tag: request.tag ?? this.nextTag() };
    return this.run('generate', { request: tagged, model }, onProgress, cancel, () => sweepJob(tagged.imagePath, tagged.formats, tagged.outDir, tagged.tag));
  }

  /** Downloads, verifies and converts a model as needed; resolves to the ONNX folder. */
  prepare(model: ModelRequest, onProgress: (progress: Progress) => void, cancel: Cancellation): Promise<Outcome<Jobs['prepare']['result']>> {
    return this.run('prepare', { model }, onProgress, cancel, async () => undefined);
  }

  /** Converts a mesh file to the requested formats; no model is involved. */
  convert(request: ConvertRequest, onProgress: (progress: Progress) => void, cancel: Cancellation): Promise<Outcome<Jobs['convert']['result']>> {
    const tagged: ConvertRequest = { ...request, tag: request.tag ?? this.nextTag() };
    return this.run('convert', { request: tagged }, onProgress, cancel, () => sweepJob(tagged.meshPath, tagged.formats, tagged.outDir, tagged.tag));
  }

  installCuda(input: Jobs['installCuda']['input'], onProgress: (progress: Progress) => void, cancel: Cancellation): Promise<Outcome<Jobs['installCuda']['result']>> {
    return this.run('installCuda', input, onProgress, cancel, async () => undefined);
  }

  /** Stops the process (jobs still running end as cancelled); the next job starts a fresh one. */
  async restart(): Promise<void> {
    await this.stop({ kind: 'cancelled' });
  }

  state(): EngineState {
    return { pid: this.child?.pid, starts: this.starts, crashes: this.crashes, runningJobs: this.jobs.size };
  }

  async dispose(): Promise<void> {
    await this.stop({ kind: 'cancelled' });
  }

  /** A tag with this (the host's) pid: the process it lends the job to dies with the host, and sweeps of other runs judge by it. */
  private nextTag(): string {
    return newWriteTag();
  }

  private run<K extends JobKind>(
    kind: K,
    input: Jobs[K]['input'],
    onProgress: (progress: Progress) => void,
    cancel: Cancellation,
    cleanUp: () => Promise<void>,
  ): Promise<Outcome<Jobs[K]['result']>> {
    const jobId = this.nextJobId++;
    const outcome = new Promise<Outcome<Jobs[K]['result']>>((resolve) =>
      this.jobs.set(jobId, { settle: (o) => resolve(o as Outcome<Jobs[K]['result']>), onProgress, cleanUp }),
    );
    let child: ChildProcess;
    try {
      child = this.ensureChild();
    } catch (err) {
      this.settle(jobId, { ok: false, failure: { kind: 'bug', message: `The pipeline process could not be started: ${(err as Error).message}` } });
      return outcome;
    }
    this.send(child, { type: 'job', jobId, kind, input });
    cancel.onCancel(() => {
      if (!this.jobs.has(jobId)) return;
      this.send(child, { type: 'cancel', jobId });
      setTimeout(() => {
        if (this.jobs.has(jobId) && this.child === child) {
          this.log(`Job ${jobId} did not stop within ${this.options.cancelGraceMs ?? CANCEL_GRACE_MS} ms; stopping the pipeline process.`);
          void this.stop({ kind: 'cancelled' });
        }
      }, this.options.cancelGraceMs ?? CANCEL_GRACE_MS);
    });
    return outcome;
  }

  private send(child: ChildProcess, message: HostToWorker): void {
    // A channel that closed under us means the process is gone: its exit handler fails the jobs.
    child.send(message, (err) => err && this.log(`Could not reach the pipeline process: ${err.message}`));
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(this.workerScript, [], {
      // In VS Code's desktop build process.execPath is Electron; this makes it behave as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...this.options.environment?.(), ...this.options.env },
      // The extension host's own flags (an inspector port, for one) must not carry over.
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    this.starts += 1;
    this.lastOutput = [];
    this.log(`Started the pipeline process (pid ${child.pid ?? 'unknown'}).`);
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.output(text, false));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.output(text, true));
    child.on('message', (message: WorkerToHost) => this.onMessage(message));
    child.on('error', (err) => {
      this.log(`Pipeline process error: ${err.message}`);
      // A process that never started emits no exit event.
      if (child.pid === undefined && this.child === child) {
        this.child = undefined;
        void this.failAll({ kind: 'bug', message: `The pipeline process could not be started: ${err.message}` });
      }
    });
    child.on('exit', (exitCode, signal) => {
      // stop() has already let go of a process it ended, and settles its jobs itself.
      if (this.child !== child) return;
      this.child = undefined;
      this.crashes += 1;
      const how = signal ? `killed by ${signal}` : `exit code ${exitCode}`;
      this.log(`The pipeline process stopped unexpectedly (${how}); the next job starts a new one.`);
      void this.failAll({ kind: 'crashed', exitCode, signal, lastOutput: [...this.lastOutput] });
    });
    return child;
  }

  private output(text: string, isError: boolean): void {
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '') continue;
      this.log(`[pipeline process] ${line}`);
      if (isError) this.lastOutput = [...this.lastOutput, line].slice(-LAST_OUTPUT_LINES);
    }
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

  private settle(jobId: number, outcome: Outcome<unknown>): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.jobs.delete(jobId);
    job.settle(outcome);
  }

  /** Ends every pending job (its process is dead): each cleans up before it settles. */
  private async failAll(failure: Failure): Promise<void> {
    const pending = [...this.jobs.values()];
    this.jobs.clear();
    await Promise.all(pending.map((job) => job.cleanUp().catch(() => undefined).finally(() => job.settle({ ok: false, failure }))));
  }

  /** Kills the process and waits until it is gone, then settles its jobs: nothing writes after the sweep. */
  private async stop(failure: Failure): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    await this.failAll(failure);
  }
}

async function sweepJob(sourcePath: string, formats: readonly OutputFormat[], outDir: string | undefined, tag: string | undefined): Promise<void> {
  if (!tag || formats.length === 0) return;
  const dir = path.dirname(plannedOutputPaths(sourcePath, formats, outDir)[0]);
  await sweepTemporaryFiles(dir, tag).catch(() => 0);
}

export function workerScriptPath(extensionDist: string): string {
  return path.join(extensionDist, 'worker.js');
}
