/**
 * The worker thread that runs the pipeline for the extension host: image decoding, inference, surface
 * extraction and writing never block the host. Loaded models stay open between jobs.
 */
import { parentPort } from 'node:worker_threads';
import { generateFromImage, preflight } from '../pipeline/run.js';
import { convertMeshFile } from '../pipeline/convert.js';
import type { Mesh } from '../pipeline/mesh/mesh.js';
import { loadModel, type LoadedModel } from '../pipeline/network/session.js';
import { prepareModel } from '../pipeline/network/modelSource.js';
import { UserError } from '../pipeline/errors.js';
import { CancelledError, type Progress } from '../pipeline/progress.js';
import type { HostToWorker, JobFailure, MeshBuffers, ModelChoice, WorkerToHost } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('pipelineWorker must run in a worker thread.');

const post = (message: WorkerToHost, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

let cachedModel: { key: string; model: LoadedModel } | undefined;
const running = new Map<number, AbortController>();

async function modelFor(choice: ModelChoice): Promise<LoadedModel> {
  const key = JSON.stringify([choice.dir, choice.executionProviders]);
  if (cachedModel?.key === key) return cachedModel.model;
  if (cachedModel) await cachedModel.model.dispose();
  cachedModel = undefined;
  const model = await loadModel(choice.dir, {
    executionProviders: choice.executionProviders,
    log: (line) => post({ type: 'log', line }),
  });
  cachedModel = { key, model };
  return model;
}

function describeFailure(err: unknown): JobFailure {
  if (err instanceof CancelledError) return { kind: 'cancelled' };
  if (err instanceof UserError) return { kind: 'user', message: err.message, hint: err.hint, code: err.code };
  if (err instanceof Error) return { kind: 'bug', message: err.message, stack: err.stack };
  return { kind: 'bug', message: String(err) };
}

/**
 * Runs one job: cancellable through its id while it runs, and any failure reported as the job's
 * outcome rather than thrown, so the worker lives on for the next job.
 */
async function job(jobId: number, work: (signal: AbortSignal, onProgress: (progress: Progress) => void) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  running.set(jobId, abort);
  try {
    await work(abort.signal, (progress) => post({ type: 'progress', jobId, progress }));
  } catch (err) {
    post({ type: 'failed', jobId, failure: describeFailure(err) });
  } finally {
    running.delete(jobId);
  }
}

function prepare(message: Extract<HostToWorker, { type: 'prepare' }>): Promise<void> {
  return job(message.jobId, async (signal, onProgress) => {
    if (message.check) await preflight(message.check);
    const dir = await prepareModel(message.model.spec, {
      precision: message.model.precision,
      executionProviders: message.model.executionProviders,
      signal,
      onProgress,
      log: (line) => post({ type: 'log', line }),
    });
    post({ type: 'prepared', jobId: message.jobId, dir });
  });
}

function run(message: Extract<HostToWorker, { type: 'run' }>): Promise<void> {
  return job(message.jobId, async (signal, onProgress) => {
    onProgress({ stage: 'model', fraction: 0, message: 'Loading the model' });
    const model = await modelFor(message.model);
    const result = await generateFromImage(message.request, { model, signal, onProgress });
    const preview = previewBuffers(result.preview);
    post(
      {
        type: 'done',
        jobId: message.jobId,
        result: {
          files: result.files,
          preview,
          metrics: result.metrics,
          provider: result.provider,
          modelKind: result.modelKind,
          timingsMs: result.timingsMs,
          processing: result.processing,
        },
      },
      transferList(preview),
    );
  });
}

function convert(message: Extract<HostToWorker, { type: 'convert' }>): Promise<void> {
  return job(message.jobId, async (signal, onProgress) => {
    const result = await convertMeshFile(message.request, { signal, onProgress });
    const preview = previewBuffers(result.preview);
    post(
      {
        type: 'converted',
        jobId: message.jobId,
        result: {
          files: result.files,
          preview,
          metrics: result.metrics,
          sourceFormat: result.sourceFormat,
          notes: result.notes,
          timingsMs: result.timingsMs,
        },
      },
      transferList(preview),
    );
  });
}

/** The preview mesh with every attribute present (the webview draws grey where there is no colour). */
function previewBuffers(mesh: Mesh): MeshBuffers {
  return {
    positions: mesh.positions,
    normals: mesh.normals ?? new Float32Array(mesh.positions.length),
    colors: mesh.colors ?? new Float32Array(mesh.positions.length).fill(0.8),
    indices: mesh.indices,
  };
}

/** A buffer listed twice makes postMessage throw, and meshes may share one. */
function transferList(buffers: MeshBuffers): ArrayBuffer[] {
  return [...new Set([buffers.positions.buffer, buffers.normals.buffer, buffers.colors.buffer, buffers.indices.buffer])].filter(
    (b): b is ArrayBuffer => b instanceof ArrayBuffer,
  );
}

port.on('message', (message: HostToWorker) => {
  switch (message.type) {
    case 'prepare':
      void prepare(message);
      break;
    case 'run':
      void run(message);
      break;
    case 'convert':
      void convert(message);
      break;
    case 'cancel':
      running.get(message.jobId)?.abort();
      break;
  }
});
