import type { GenerateRequest } from '../pipeline/run.js';
import type { ConvertRequest } from '../pipeline/convert.js';
import type { MeshFileFormat } from '../pipeline/readers/formats.js';
import type { MeshMetrics } from '../pipeline/mesh/metrics.js';
import type { ProcessingReport } from '../pipeline/mesh/process.js';
import type { Progress, Stage } from '../pipeline/progress.js';
import type { UserErrorCode } from '../pipeline/errors.js';
import type { ModelSpec, PrecisionSetting } from '../pipeline/network/modelSource.js';
import type { SegmentationNetwork } from '../pipeline/image/segmentation.js';

/** A prepared model: the ONNX folder to run, and where. */
export interface ModelChoice {
  readonly dir: string;
  readonly executionProviders: readonly string[] | 'auto';
}

/** A model to get ready (download, verify, convert) before it can run. */
export interface ModelRequest {
  readonly spec: ModelSpec;
  readonly precision: PrecisionSetting;
  readonly executionProviders: readonly string[] | 'auto';
}

export type HostToWorker =
  /** `check`: a generation about to follow, whose inputs are checked before any download starts. */
  | { readonly type: 'prepare'; readonly jobId: number; readonly model: ModelRequest; readonly check?: GenerateRequest }
  | { readonly type: 'run'; readonly jobId: number; readonly request: GenerateRequest; readonly model: ModelChoice }
  | { readonly type: 'convert'; readonly jobId: number; readonly request: ConvertRequest }
  | { readonly type: 'cancel'; readonly jobId: number };

/** The preview mesh as raw buffers, moved (not copied) across the thread boundary. */
export interface MeshBuffers {
  readonly positions: Float32Array;
  readonly normals: Float32Array;
  readonly colors: Float32Array;
  readonly indices: Uint32Array;
}

export interface JobResult {
  readonly files: string[];
  readonly preview: MeshBuffers;
  readonly metrics: MeshMetrics;
  readonly provider: string;
  readonly modelKind: string;
  readonly timingsMs: Partial<Record<Stage, number>>;
  readonly processing: ProcessingReport;
  readonly input: NetworkInputReport;
}

/** What TripoSR was shown. */
export interface NetworkInputReport {
  /** The 512² image the encoder took, as PNG bytes, moved (not copied) across the thread boundary. */
  readonly png: Uint8Array;
  /** The network that removed the background; absent when the image was used as it is. */
  readonly backgroundRemovedWith?: SegmentationNetwork;
  /** Share of the source image the object covers. */
  readonly objectShare: number;
}

export interface ConvertJobResult {
  readonly files: string[];
  readonly preview: MeshBuffers;
  readonly metrics: MeshMetrics;
  readonly sourceFormat: MeshFileFormat;
  readonly notes: string[];
  readonly timingsMs: Partial<Record<Stage, number>>;
}

export type JobFailure =
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'user'; readonly message: string; readonly hint: string; readonly code: UserErrorCode }
  | { readonly kind: 'bug'; readonly message: string; readonly stack?: string };

export type WorkerToHost =
  | { readonly type: 'progress'; readonly jobId: number; readonly progress: Progress }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'prepared'; readonly jobId: number; readonly dir: string }
  | { readonly type: 'done'; readonly jobId: number; readonly result: JobResult }
  | { readonly type: 'converted'; readonly jobId: number; readonly result: ConvertJobResult }
  | { readonly type: 'failed'; readonly jobId: number; readonly failure: JobFailure };
