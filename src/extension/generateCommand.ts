import * as vscode from 'vscode';
import * as path from 'node:path';
import type { GenerateRequest } from '../pipeline/run.js';
import type { ModelRequest } from '../pipeline/generate.js';
import type { Stage } from '../pipeline/progress.js';
import type { SegmentationNetwork } from '../pipeline/image/segmentation.js';
import type { SegmentationModelSpec } from '../pipeline/network/segmentationSource.js';
import { segmentationManifest } from '../pipeline/network/segmentationManifest.js';
import { IMAGE_EXTENSIONS } from '../pipeline/image/imageFormats.js';
import type { GenerateJobResult } from '../worker/protocol.js';
import {
  announce,
  askAboutExistingFiles,
  enqueue,
  initialPolicy,
  pickWorkspaceFile,
  progressReporter,
  reportFailure,
  stageWeights,
  type CommandContext,
} from './commandSupport.js';
import { readSettings, type Settings } from './settings.js';
import { resolveModel, standinDir, type StoragePaths } from './modelLocation.js';
import type { Failure, Outcome } from './pipelineClient.js';
import { PreviewPanel } from './previewPanel.js';
import { previewMetrics, type PreviewInfo } from '../shared/protocol.js';

/** What the command resolves to (undefined when nothing was generated): tests and other extensions read it. */
export interface GenerateCommandResult {
  readonly files: string[];
  readonly provider: string;
  /** The model that ran: 'triposr', 'standin', or what a custom pair's model.json says. */
  readonly model: string;
  readonly metrics: { readonly vertices: number; readonly faces: number; readonly watertight: boolean };
  /** The network that removed the background (absent: the image was used as it is), and the object's share of the image. */
  readonly background: { readonly removedWith?: SegmentationNetwork; readonly objectShare: number };
}

/** Share of a generation each stage takes, for one progress bar across stages. */
const STAGE_WEIGHTS: Record<Stage, number> = {
  download: 0,
  convert: 0,
  model: 0.05,
  image: 0.02,
  background: 0.05,
  encode: 0.13,
  surface: 0.55,
  read: 0,
  mesh: 0.08,
  colour: 0.04,
  write: 0.08,
};
/** A run that first downloads the background network: the download takes most of the bar. */
const BACKGROUND_DOWNLOAD_WEIGHTS = withShare(STAGE_WEIGHTS, 'background', 0.6);
/** A run that first downloads TripoSR (1.7 GB) and converts it: those take most of the bar. */
const MODEL_DOWNLOAD_WEIGHTS = withShare(withShare(STAGE_WEIGHTS, 'convert', 0.1), 'download', 0.7);
/** A run on the user's own checkpoint: its first use converts it (minutes); later runs pass through. */
const CHECKPOINT_WEIGHTS = withShare(STAGE_WEIGHTS, 'convert', 0.3);
/** Getting a model ready: downloading dominates, then the one-off conversion. */
const PREPARE_WEIGHTS = stageWeights({ download: 0.8, model: 0.05, convert: 0.15 });

function storagePaths(ctx: CommandContext): StoragePaths {
  return { extensionPath: ctx.extensionUri.fsPath, globalStoragePath: ctx.globalStoragePath };
}

export function isImagePath(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).slice(1).toLowerCase());
}

/** Entry for the command: from the Explorer (clicked and selected resources) or the palette (none). */
export async function generateCommand(
  ctx: CommandContext,
  clicked?: vscode.Uri,
  selected?: readonly vscode.Uri[],
): Promise<GenerateCommandResult | undefined> {
  const targets = selected && selected.length > 0 ? selected : clicked ? [clicked] : await pickImage();
  if (!targets || targets.length === 0) return undefined;
  let last: GenerateCommandResult | undefined;
  for (const target of targets) {
    if (target.scheme !== 'file') {
      void vscode.window.showErrorMessage(`Image to 3D works on files on this machine; ${target.toString()} is not one.`);
      continue;
    }
    if (!isImagePath(target.fsPath)) {
      void vscode.window.showErrorMessage(
        `${path.basename(target.fsPath)} is not an image Image to 3D reads. Choose a ${IMAGE_EXTENSIONS.join(', ')} file.`,
      );
      continue;
    }
    last = (await enqueue(() => generateOne(ctx, target.fsPath, undefined))) ?? last;
  }
  return last;
}

function pickImage(): Promise<vscode.Uri[] | undefined> {
  return pickWorkspaceFile({
    title: 'Generate 3D Model',
    placeHolder: 'Choose an image in the workspace',
    openLabel: 'Generate 3D Model',
    filterName: 'Images',
    extensions: IMAGE_EXTENSIONS,
  });
}

async function generateOne(ctx: CommandContext, imagePath: string, outDir: string | undefined): Promise<GenerateCommandResult | undefined> {
  const settings = readSettings(vscode.Uri.file(imagePath));
  if (settings.outputFormats.length === 0) {
    void vscode.window.showErrorMessage('No output formats are selected. Choose at least one in the setting imageTo3d.outputFormats.');
    return undefined;
  }
  const name = path.basename(imagePath);
  let location = resolveModel(settings, storagePaths(ctx));
  let request: GenerateRequest = {
    imagePath,
    outDir,
    formats: settings.outputFormats,
    resolution: settings.resolution,
    threshold: settings.threshold,
    sampling: settings.sampling,
    smoothingIterations: settings.smoothingIterations,
    floaterFraction: settings.floaterFraction,
    targetTriangles: settings.targetTriangles,
    longestSideMm: settings.longestSideMm,
    cadTolerance: settings.cadTolerance,
    dxfEntity: settings.dxfEntity,
    background: { mode: settings.background, model: backgroundModel(ctx, settings) },
    foregroundRatio: settings.foregroundRatio,
    saveInput: settings.saveNetworkInput,
    existing: initialPolicy(settings.existingFiles),
  };

  // One job does everything; it stops early on what only the user can decide (a file in the way, a
  // download), and goes again with the answer. Each question can come up once: its answer removes it.
  for (;;) {
    ctx.log.info(`Generating from ${imagePath} (${describeModel(location.request)}${location.builtIn ? ', built-in stand-in' : ''}).`);
    const started = Date.now();
    const outcome = await runWithProgress(ctx, request, location.request, name, weightsFor(request, location.request));
    if (outcome.ok) return showResult(ctx, name, outcome.result, location.builtIn, (Date.now() - started) / 1000);
    const failure = outcome.failure;

    const existing = await askAboutExistingFiles(settings.existingFiles, failure);
    if (existing) {
      if ('backedOut' in existing) return undefined;
      request = { ...request, existing: existing.policy };
      continue;
    }
    const spec = location.request.spec;
    if (isMissing(failure, 'model-missing') && spec.kind === 'managed' && !spec.allowDownload) {
      const answer = await askForTriposr();
      if (!answer) {
        ctx.log.info(`Did not generate from ${imagePath}: TripoSR was not downloaded.`);
        return undefined;
      }
      location =
        answer === 'download'
          ? { ...location, request: { ...location.request, spec: { ...spec, allowDownload: true } } }
          : { request: { ...location.request, spec: { kind: 'onnx', dir: standinDir(ctx.extensionUri.fsPath) } }, builtIn: true };
      continue;
    }
    const background = request.background;
    if (isMissing(failure, 'background-model-missing') && background?.model.kind === 'managed' && !background.model.allowDownload) {
      const answer = await askForBackgroundNetwork(background.model);
      if (!answer) {
        ctx.log.info(`Did not generate from ${imagePath}: the ${background.model.network} background network was not downloaded.`);
        return undefined;
      }
      request =
        answer === 'download'
          ? { ...request, background: { ...background, model: { ...background.model, allowDownload: true } } }
          : { ...request, background: { ...background, mode: 'keep' } };
      ctx.log.info(answer === 'download' ? `Downloading the ${background.model.network} background network.` : `Keeping the background of ${name} for this run.`);
      continue;
    }
    reportFailure(ctx, failure, name, () => offerOtherFolder(ctx, imagePath));
    return undefined;
  }
}

function isMissing(failure: Failure, code: 'model-missing' | 'background-model-missing'): boolean {
  return failure.kind === 'user' && failure.code === code;
}

function describeModel(model: ModelRequest): string {
  switch (model.spec.kind) {
    case 'onnx':
      return `the ONNX pair in ${model.spec.dir}`;
    case 'checkpoint':
      return `the checkpoint ${model.spec.checkpointPath}`;
    case 'managed':
      return `TripoSR from ${model.spec.storeDir}`;
  }
}

/** Where the bar's length goes: to the downloads and conversions this run will do, when it does them. */
function weightsFor(request: GenerateRequest, model: ModelRequest): Record<Stage, number> {
  if (model.spec.kind === 'managed' && model.spec.allowDownload) return MODEL_DOWNLOAD_WEIGHTS;
  if (model.spec.kind === 'checkpoint') return CHECKPOINT_WEIGHTS;
  const background = request.background?.model;
  if (background?.kind === 'managed' && background.allowDownload) return BACKGROUND_DOWNLOAD_WEIGHTS;
  return STAGE_WEIGHTS;
}

function showResult(ctx: CommandContext, name: string, result: GenerateJobResult, builtIn: boolean, seconds: number): GenerateCommandResult {
  ctx.log.info(
    `Wrote ${result.files.join(', ')} (${result.metrics.faces} faces, ${result.provider}, ` +
      `${Object.entries(result.timingsMs).map(([stage, ms]) => `${stage} ${Math.round(ms ?? 0)} ms`).join(', ')}).`,
  );
  ctx.log.info(`Background: ${backgroundSummary(result)}.`);
  PreviewPanel.show(ctx.extensionUri, result.preview, previewInfo(name, result, builtIn, seconds), (line) => ctx.log.info(line), result.input.png);
  announce(result.files);
  return {
    files: result.files,
    provider: result.provider,
    model: result.modelKind,
    metrics: { vertices: result.metrics.vertices, faces: result.metrics.faces, watertight: result.metrics.watertight },
    background: { removedWith: result.input.backgroundRemovedWith, objectShare: result.input.objectShare },
  };
}

/** The settings' background network: the user's own file when one is set, else rembg's, downloaded after asking. */
function backgroundModel(ctx: CommandContext, settings: Settings): SegmentationModelSpec {
  const network = settings.backgroundNetwork;
  if (settings.backgroundModelPath) return { kind: 'file', file: settings.backgroundModelPath, network };
  return { kind: 'managed', storeDir: ctx.globalStoragePath, network, allowDownload: false, urlOverrides: settings.downloadUrls };
}

function runWithProgress(
  ctx: CommandContext,
  request: GenerateRequest,
  model: ModelRequest,
  name: string,
  weights: Record<Stage, number>,
): Thenable<Outcome<GenerateJobResult>> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Image to 3D: ${name}`, cancellable: true },
    (progress, token) =>
      ctx.client().generate(request, model, progressReporter(progress, weights), {
        onCancel: (listener) => token.onCancellationRequested(listener),
      }),
  );
}

/** `weights` with `stage` given `share` of the bar and the other stages scaled to fill the rest. */
function withShare(weights: Record<Stage, number>, stage: Stage, share: number): Record<Stage, number> {
  const rest = 1 - weights[stage];
  const scaled = { ...weights };
  for (const s of Object.keys(scaled) as Stage[]) scaled[s] = s === stage ? share : (weights[s] * (1 - share)) / rest;
  return scaled;
}

/** Asks before downloading a background network; undefined: the user cancelled the generation. */
async function askForBackgroundNetwork(spec: Extract<SegmentationModelSpec, { kind: 'managed' }>): Promise<'download' | 'keep' | undefined> {
  const download = 'Download';
  const keep = 'Keep the Background This Time';
  const answer = await vscode.window.showInformationMessage(
    `Removing the background of this image needs the ${spec.network} network, which is not on this machine yet.`,
    {
      modal: true,
      detail:
        `${segmentationManifest(spec.network).description}\n\nDownload it once from rembg's releases into the extension's storage? It is checked before each use, and an interrupted download resumes. ` +
        'Or keep the background for this run: the whole picture, background included, is what TripoSR reconstructs. ' +
        'A network file you already have can be set in imageTo3d.backgroundModelPath.',
    },
    download,
    keep,
  );
  return answer === download ? 'download' : answer === keep ? 'keep' : undefined;
}

/** One line on what happened to the background, for the preview and the log. */
function backgroundSummary(result: GenerateJobResult): string {
  const { backgroundRemovedWith, objectShare } = result.input;
  if (backgroundRemovedWith) return `removed with ${backgroundRemovedWith} (object ${Math.round(100 * objectShare)}% of the image)`;
  // Without removal the object is what the image's alpha marks: all of an opaque image.
  return objectShare >= 1 ? 'kept (the whole image is the object)' : "kept (the image's own transparency)";
}

function previewInfo(title: string, result: GenerateJobResult, builtIn: boolean, seconds: number): PreviewInfo {
  return {
    title,
    details: [
      ['Model', builtIn ? 'built-in stand-in (demonstration)' : result.modelKind],
      ['Ran on', result.provider],
      ['Background', backgroundSummary(result)],
    ],
    files: result.files.map((f) => path.basename(f)),
    seconds,
    notes: processingNotes(result),
    metrics: previewMetrics(result.metrics),
  };
}

function processingNotes(result: GenerateJobResult): string[] {
  const p = result.processing;
  return [
    p.removedComponents > 0 ? `Removed ${p.removedComponents} loose piece${p.removedComponents === 1 ? '' : 's'}` : '',
    p.closedHoles > 0 ? `Closed ${p.closedHoles} small hole${p.closedHoles === 1 ? '' : 's'}` : '',
    p.decimatedFrom !== undefined ? `Simplified from ${p.decimatedFrom.toLocaleString('en')} triangles` : '',
  ].filter(Boolean);
}

async function offerOtherFolder(ctx: CommandContext, imagePath: string): Promise<void> {
  const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Write Here' });
  if (!folder?.[0]) return;
  await enqueue(() => generateOne(ctx, imagePath, folder[0].fsPath));
}

/** Asks before downloading TripoSR's weights (1.7 GB), offering the demonstration model instead; undefined: cancelled. */
async function askForTriposr(): Promise<'download' | 'demo' | undefined> {
  const download = 'Download';
  const demo = 'Use Demonstration Model';
  const answer = await vscode.window.showInformationMessage(
    "TripoSR's weights are not on this machine yet.",
    {
      modal: true,
      detail:
        "Download them once from Hugging Face (about 1.7 GB, MIT licence) into the extension's storage? An interrupted download resumes. " +
        'They are checked and converted to ONNX on this machine. The demonstration model needs no download but only makes a simple shape.',
    },
    download,
    demo,
  );
  return answer === download ? 'download' : answer === demo ? 'demo' : undefined;
}

/** The "Download Model" command: fetch, verify and convert TripoSR now rather than at first use. */
export async function downloadModelCommand(ctx: CommandContext): Promise<string | undefined> {
  const settings = readSettings();
  if (settings.model === 'standin' || settings.modelPath) {
    void vscode.window.showInformationMessage(
      settings.model === 'standin'
        ? 'The demonstration model is selected (imageTo3d.model); it needs no download.'
        : `imageTo3d.modelPath points at ${settings.modelPath}; clear it to use the downloaded TripoSR.`,
    );
    return undefined;
  }
  const location = resolveModel(settings, storagePaths(ctx), true);
  const started = Date.now();
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Image to 3D: getting TripoSR ready', cancellable: true },
    (progress, token) =>
      ctx.client().prepare(location.request, progressReporter(progress, PREPARE_WEIGHTS), {
        onCancel: (listener) => token.onCancellationRequested(listener),
      }),
  );
  if (!outcome.ok) {
    reportFailure(ctx, outcome.failure, 'the model download');
    return undefined;
  }
  ctx.log.info(`TripoSR is ready in ${outcome.result.dir} (${((Date.now() - started) / 1000).toFixed(1)} s).`);
  void vscode.window.showInformationMessage('TripoSR is downloaded, verified and ready.');
  return outcome.result.dir;
}
