/**
 * The contract between the extension host and its pipeline process. Messages travel over the child
 * process's IPC channel with Node's "advanced" serialization (the structured clone algorithm), so
 * typed arrays cross as binary, not as JSON arrays of numbers.
 */
import type { GenerateRequest } from '../pipeline/run.js';
import type { ConvertRequest } from '../pipeline/convert.js';
import type { ModelRequest } from '../pipeline/generate.js';
import type { JobFailure } from '../pipeline/failure.js';
import type { MeshFileFormat } from '../pipeline/readers/formats.js';
import type { MeshMetrics } from '../pipeline/mesh/metrics.js';
import type { ProcessingReport } from '../pipeline/mesh/process.js';
import type { Progress, Stage } from '../pipeline/progress.js';
import type { SegmentationNetwork } from '../pipeline/image/segmentation.js';
import type { PreviewMesh } from '../shared/protocol.js';

export type { JobFailure } from '../pipeline/failure.js';

/** What each kind of job takes, and what it resolves to. */
export interface Jobs {
  /** One generation: prepares the model (download, check, conversion; a no-op when ready), opens it and runs. */
  readonly generate: { readonly input: { readonly request: GenerateRequest; readonly model: ModelRequest }; readonly result: GenerateJobResult };
  /** Gets a model ready without generating; resolves to the ONNX folder. */
  readonly prepare: { readonly input: { readonly model: ModelRequest }; readonly result: { readonly dir: string } };
  readonly convert: { readonly input: { readonly request: ConvertRequest }; readonly result: ConvertJobResult };
  /**
   * Fetches ONNX Runtime's CUDA provider into onnxruntime-node's folder, or into a private copy of it
   * under runtimeStorage when that folder is read-only.
   */
  readonly installCuda: { readonly input: { readonly cacheDir: string; readonly runtimeStorage?: string }; readonly result: CudaJobResult };
}
export type JobKind = keyof Jobs;

export type HostToWorker =
  | { readonly type: 'job'; readonly jobId: number; readonly kind: JobKind; readonly input: Jobs[JobKind]['input'] }
  | { readonly type: 'cancel'; readonly jobId: number };

export type WorkerToHost =
  | { readonly type: 'progress'; readonly jobId: number; readonly progress: Progress }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'done'; readonly jobId: number; readonly result: Jobs[JobKind]['result'] }
  | { readonly type: 'failed'; readonly jobId: number; readonly failure: JobFailure };

export interface GenerateJobResult {
  readonly files: string[];
  readonly preview: PreviewMesh;
  readonly metrics: MeshMetrics;
  readonly provider: string;
  readonly modelKind: string;
  readonly timingsMs: Partial<Record<Stage, number>>;
  readonly processing: ProcessingReport;
  readonly input: NetworkInputReport;
}

/** What TripoSR was shown. */
export interface NetworkInputReport {
  /** The 512² image the encoder took, as PNG bytes. */
  readonly png: Uint8Array;
  /** The network that removed the background; absent when the image was used as it is. */
  readonly backgroundRemovedWith?: SegmentationNetwork;
  /** Share of the source image the object covers. */
  readonly objectShare: number;
}

export interface ConvertJobResult {
  readonly files: string[];
  readonly preview: PreviewMesh;
  readonly metrics: MeshMetrics;
  readonly sourceFormat: MeshFileFormat;
  readonly notes: string[];
  readonly timingsMs: Partial<Record<Stage, number>>;
}

export type CudaJobResult =
  /** This platform has no CUDA provider to install; the reason says what it has instead. */
  | { readonly installed: false; readonly reason: string }
  | {
      readonly installed: true;
      readonly version: string;
      readonly binDir: string;
      readonly alreadyInstalled: boolean;
      /** What else the machine needs (driver, CUDA, cuDNN), as text for the log. */
      readonly requirements: string;
      /** Libraries the provider still cannot find. */
      readonly missing: readonly string[];
      /** The private copy of onnxruntime-node it went into, when the bundled one's folder was read-only. */
      readonly privateRuntime?: string;
    };
