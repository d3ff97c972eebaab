/**
 * The worker thread that runs the pipeline for the extension host: image decoding, inference, surface
 * extraction and writing never block the host. Loaded models stay open between jobs.
 */
import { stat } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { generateFromImage, preflight, type SegmenterLoader } from '../pipeline/run.js';
import { loadSegmenter, type Segmenter } from '../pipeline/image/background.js';
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
let cachedSegmenter: { key: string; segmenter: Segmenter } | undefined;
const running = new Map<number, AbortController>();
const log = (line: string): void => post({ type: 'log', line });

async function modelFor(choice: ModelChoice): Promise<LoadedModel> {
  const key = JSON.stringify([choice.dir, choice.executionProviders]);
  if (cachedModel?.key === key) return cachedModel.model;
  if (cachedModel) await cachedModel.model.dispose();
  cachedModel = undefined;
  const model = await loadModel(choice.dir, {
    executionProviders: choice.executionProviders,
    log,
  });
  cachedModel = { key, model };
  return model;
}

/**
 * Opens the background-removal network on the providers given, or hands back the one already open for
 * the same file, network and providers, as modelFor does for TripoSR: opening u2net costs about as much
 * as running it. The file's size and time are part of the key, so a file replaced in place is reopened.
 */
function segmenterLoader(executionProviders: readonly string[]): SegmenterLoader {
  return async (file, network) => {
    const info = await stat(file).catch(() => undefined);
    const key = JSON.stringify([file, network, executionProviders, info?.size, info?.mtimeMs]);
    if (cachedSegmenter?.key === key) return cachedSegmenter.segmenter;
    if (cachedSegmenter) await cachedSegmenter.segmenter.dispose();
    cachedSegmenter = undefined;
    const segmenter = await loadSegmenter(file, network, { executionProviders, log });
    cachedSegmenter = { key, segmenter };
    return segmenter;
  };
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
      log,
    });
    post({ type: 'prepared', jobId: message.jobId, dir });
  });
}

function run(message: Extract<HostToWorker, { type: 'run' }>): Promise<void> {
  return job(message.jobId, async (signal, onProgress) => {
    onProgress({ stage: 'model', fraction: 0, message: 'Loading the model' });
    const model = await modelFor(message.model);
    // The segmenter runs where TripoSR started: that provider is known to work on this machine.
    const segmenters = segmenterLoader([model.provider]);
    const result = await generateFromImage(message.request, { model, loadSegmenter: segmenters, log, signal, onProgress });
    const preview = previewBuffers(result.preview);
    const inputPng = ownedBytes(result.input.png);
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
          input: {
            png: inputPng,
            backgroundRemovedWith: result.input.backgroundRemovedWith,
            objectShare: result.input.objectShare,
          },
        },
      },
      transferList(preview, inputPng.buffer),
    );
  });
}

/**
 * Bytes that own their whole buffer, so moving it takes nothing else along: a view into a larger
 * buffer (a pool, a slice) is copied out first. Node copies, rather than moves, a buffer it cannot
 * transfer (sharp's output lives in memory allocated outside V8), so listing one is always safe.
 */
function ownedBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
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
function transferList(buffers: MeshBuffers, ...others: ArrayBufferLike[]): ArrayBuffer[] {
  return [...new Set([buffers.positions.buffer, buffers.normals.buffer, buffers.colors.buffer, buffers.indices.buffer, ...others])].filter(
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
