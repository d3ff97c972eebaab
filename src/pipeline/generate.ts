/**
 * One generation as one job: check what can fail without the network, get the model ready (a no-op
 * when it is), open it (or reuse the one already open) and run. The extension's worker process and
 * the CLI both run generations through here, so they prepare, load and fail the same way.
 */
import { generateFromImage, preflight, type GenerateRequest, type GenerateResult } from './run.js';
import { prepareModel, type ModelSpec, type PrecisionSetting } from './network/modelSource.js';
import type { OpenModels } from './network/openModels.js';
import type { ProgressSink } from './progress.js';

/** Which network to run, and where: plain data, so a front end can send it to a worker. */
export interface ModelRequest {
  readonly spec: ModelSpec;
  /** Precision of a converted encoder. */
  readonly precision: PrecisionSetting;
  readonly executionProviders: readonly string[] | 'auto';
}

export interface GenerationJob {
  readonly request: GenerateRequest;
  readonly model: ModelRequest;
}

export interface GenerationContext {
  /** Where open networks are kept: for the life of a worker, or of one CLI run. */
  readonly models: OpenModels;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressSink;
  readonly log?: (line: string) => void;
}

export async function runGeneration(job: GenerationJob, context: GenerationContext): Promise<GenerateResult> {
  const { signal, onProgress, log } = context;
  // Before a download of 1.7 GB or a conversion of minutes: the image is readable, the outputs writable.
  await preflight(job.request);
  const dir = await prepareModel(job.model.spec, {
    precision: job.model.precision,
    executionProviders: job.model.executionProviders,
    signal,
    onProgress,
    log,
  });
  onProgress?.({ stage: 'model', fraction: 0, message: 'Loading the model' });
  const model = await context.models.triposr(dir, job.model.executionProviders);
  return generateFromImage(job.request, {
    model,
    loadSegmenter: context.models.segmenters([model.provider]),
    preflightDone: true,
    signal,
    onProgress,
    log,
  });
}

