/**
 * The pipeline process the extension host forks: image decoding, inference, surface extraction and
 * writing run here, never in the editor's own process. ONNX Runtime and sharp are native code; a C++
 * exception or an out-of-memory there ends this process only, and the host restarts it. Networks stay
 * open between jobs (OpenModels), so a second generation does not load TripoSR again.
 */
import { runGeneration } from '../pipeline/generate.js';
import { prepareModel } from '../pipeline/network/modelSource.js';
import { OpenModels } from '../pipeline/network/openModels.js';
import { convertMeshFile } from '../pipeline/convert.js';
import { installCudaProvider, describeCudaInstallProgress, notApplicableReason } from '../pipeline/network/cudaProvider/install.js';
import { toFailure } from '../pipeline/failure.js';
import type { Progress } from '../pipeline/progress.js';
import type { Mesh } from '../pipeline/mesh/mesh.js';
import type { PreviewMesh } from '../shared/protocol.js';
import type { HostToWorker, JobKind, Jobs, WorkerToHost } from './protocol.js';

const send = process.send?.bind(process);
if (!send) throw new Error('pipelineWorker must run as a child process with an IPC channel (child_process.fork).');
const post = (message: WorkerToHost): void => void send(message);
const log = (line: string): void => post({ type: 'log', line });

const models = new OpenModels(log);
const running = new Map<number, AbortController>();

type JobContext = { readonly signal: AbortSignal; readonly onProgress: (progress: Progress) => void };
type Handlers = { readonly [K in JobKind]: (input: Jobs[K]['input'], context: JobContext) => Promise<Jobs[K]['result']> };

const handlers: Handlers = {
  async generate({ request, model }, { signal, onProgress }) {
    const result = await runGeneration({ request, model }, { models, signal, onProgress, log });
    return {
      files: result.files,
      preview: previewMesh(result.preview),
      metrics: result.metrics,
      provider: result.provider,
      modelKind: result.modelKind,
      timingsMs: result.timingsMs,
      processing: result.processing,
      input: { png: result.input.png, backgroundRemovedWith: result.input.backgroundRemovedWith, objectShare: result.input.objectShare },
    };
  },

  async prepare({ model }, { signal, onProgress }) {
    const dir = await prepareModel(model.spec, { precision: model.precision, executionProviders: model.executionProviders, signal, onProgress, log });
    return { dir };
  },

  async convert({ request }, { signal, onProgress }) {
    const result = await convertMeshFile(request, { signal, onProgress });
    return {
      files: result.files,
      preview: previewMesh(result.preview),
      metrics: result.metrics,
      sourceFormat: result.sourceFormat,
      notes: result.notes,
      timingsMs: result.timingsMs,
    };
  },

  async installCuda({ cacheDir, runtimeStorage }, { signal, onProgress }) {
    const reason = notApplicableReason();
    if (reason !== undefined) return { installed: false, reason };
    const result = await installCudaProvider({
      cacheDir,
      privateRuntimeStorage: runtimeStorage,
      signal,
      onProgress: (p) => {
        const { fraction, message } = describeCudaInstallProgress(p);
        onProgress({ stage: 'download', fraction: fraction ?? 0, message });
      },
    });
    return {
      installed: true,
      version: result.version,
      binDir: result.binDir,
      alreadyInstalled: result.alreadyInstalled,
      requirements: result.requirements.text,
      missing: result.requirements.unresolved ?? [],
      ...(result.privateRuntime ? { privateRuntime: result.privateRuntime } : {}),
    };
  },
};

/** The preview mesh with every attribute present (the webview draws grey where there is no colour). */
function previewMesh(mesh: Mesh): PreviewMesh {
  return {
    positions: mesh.positions,
    normals: mesh.normals ?? new Float32Array(mesh.positions.length),
    colors: mesh.colors ?? new Float32Array(mesh.positions.length).fill(0.8),
    indices: mesh.indices,
  };
}

/** Runs one job, cancellable through its id; a failure is the job's outcome, and the process lives on. */
async function runJob<K extends JobKind>(jobId: number, kind: K, input: Jobs[K]['input']): Promise<void> {
  const abort = new AbortController();
  running.set(jobId, abort);
  try {
    const handler = handlers[kind] as (input: Jobs[K]['input'], context: JobContext) => Promise<Jobs[K]['result']>;
    const result = await handler(input, { signal: abort.signal, onProgress: (progress) => post({ type: 'progress', jobId, progress }) });
    post({ type: 'done', jobId, result });
  } catch (err) {
    post({ type: 'failed', jobId, failure: toFailure(err) });
  } finally {
    running.delete(jobId);
  }
}

process.on('message', (message: HostToWorker) => {
  if (message.type === 'cancel') running.get(message.jobId)?.abort();
  else void runJob(message.jobId, message.kind, message.input);
});

// The host went away (closed, crashed, reloaded): nothing is left to report to, so stop at once
// rather than linger holding a GPU and gigabytes of weights.
process.on('disconnect', () => {
  for (const abort of running.values()) abort.abort();
  void models.dispose().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
