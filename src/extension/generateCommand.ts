import * as vscode from 'vscode';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import type { GenerateRequest } from '../pipeline/run.js';
import type { Stage } from '../pipeline/progress.js';
import { plannedOutputPaths } from '../pipeline/writers/outputs.js';
import type { ExistingFilePolicy } from '../pipeline/writers/safeWrite.js';
import { IMAGE_EXTENSIONS } from '../pipeline/image/decode.js';
import type { JobResult } from '../worker/protocol.js';
import type { PipelineClient } from './pipelineClient.js';
import { readSettings } from './settings.js';
import { resolveModel } from './modelLocation.js';
import { PreviewPanel } from './previewPanel.js';
import type { PreviewInfo } from '../shared/protocol.js';

/** What the command resolves to (undefined when nothing was generated): tests and other extensions read it. */
export interface GenerateCommandResult {
  readonly files: string[];
  readonly provider: string;
  readonly metrics: { readonly vertices: number; readonly faces: number; readonly watertight: boolean };
}

export interface CommandContext {
  readonly extensionUri: vscode.Uri;
  readonly client: () => PipelineClient;
  readonly log: vscode.LogOutputChannel;
}

/** Share of the whole run each stage takes, for one progress bar across stages. */
const STAGE_WEIGHTS: Record<Stage, number> = {
  model: 0.05,
  image: 0.02,
  encode: 0.13,
  surface: 0.6,
  mesh: 0.08,
  colour: 0.04,
  write: 0.08,
};
const STAGE_ORDER: readonly Stage[] = ['model', 'image', 'encode', 'surface', 'mesh', 'colour', 'write'];

const IMAGE_GLOB = `**/*.{${IMAGE_EXTENSIONS.map((ext) => [...ext].map((c) => `[${c}${c.toUpperCase()}]`).join('')).join(',')}}`;

let queue: Promise<unknown> = Promise.resolve();

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
    // One job at a time: two networks on the same cores would each run at half speed.
    const job = queue.then(() => generateOne(ctx, target.fsPath, undefined));
    queue = job.catch(() => undefined);
    last = (await job) ?? last;
  }
  return last;
}

async function pickImage(): Promise<vscode.Uri[] | undefined> {
  const found = await vscode.workspace.findFiles(IMAGE_GLOB, '**/node_modules/**', 2000);
  if (found.length === 0) {
    const chosen = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Generate 3D Model',
      filters: { Images: [...IMAGE_EXTENSIONS] },
    });
    return chosen;
  }
  const items = found
    .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri }))
    .sort((a, b) => a.description.localeCompare(b.description));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Generate 3D Model',
    placeHolder: 'Choose an image in the workspace',
    matchOnDescription: true,
  });
  return picked ? [picked.uri] : undefined;
}

async function existingPolicy(
  setting: 'ask' | 'suffix' | 'overwrite',
  planned: readonly string[],
): Promise<ExistingFilePolicy | undefined> {
  if (setting !== 'ask') return setting;
  const present: string[] = [];
  for (const file of planned) {
    if (await fs.lstat(file).then(() => true, () => false)) present.push(path.basename(file));
  }
  if (present.length === 0) return 'fail';
  const replace = 'Replace';
  const keep = 'Keep Both';
  const answer = await vscode.window.showWarningMessage(
    `${present.join(', ')} already ${present.length === 1 ? 'exists' : 'exist'}.`,
    { modal: true, detail: 'Replace the existing files, or keep them and write numbered copies beside them?' },
    replace,
    keep,
  );
  return answer === replace ? 'overwrite' : answer === keep ? 'suffix' : undefined;
}

async function generateOne(ctx: CommandContext, imagePath: string, outDir: string | undefined): Promise<GenerateCommandResult | undefined> {
  const settings = readSettings(vscode.Uri.file(imagePath));
  if (settings.outputFormats.length === 0) {
    void vscode.window.showErrorMessage('No output formats are selected. Choose at least one in the setting imageTo3d.outputFormats.');
    return undefined;
  }
  const model = resolveModel(settings, ctx.extensionUri.fsPath);
  const existing = await existingPolicy(settings.existingFiles, plannedOutputPaths(imagePath, settings.outputFormats, outDir));
  if (!existing) return undefined;
  const request: GenerateRequest = {
    imagePath,
    outDir,
    formats: settings.outputFormats,
    resolution: settings.resolution,
    threshold: settings.threshold,
    longestSideMm: settings.longestSideMm,
    existing,
  };
  const name = path.basename(imagePath);
  ctx.log.info(`Generating from ${imagePath} with the model in ${model.dir}${model.builtIn ? ' (built-in stand-in)' : ''}.`);
  const started = Date.now();
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Image to 3D: ${name}`, cancellable: true },
    (progress, token) => {
      let done = 0;
      return ctx.client().run(
        request,
        { dir: model.dir, executionProviders: settings.executionProviders },
        (p) => {
          const before = STAGE_ORDER.slice(0, STAGE_ORDER.indexOf(p.stage)).reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0);
          const overall = (before + STAGE_WEIGHTS[p.stage] * p.fraction) * 100;
          progress.report({ message: p.message, increment: Math.max(0, overall - done) });
          done = Math.max(done, overall);
        },
        { onCancel: (listener) => token.onCancellationRequested(listener) },
      );
    },
  );

  if (!outcome.ok) {
    const failure = outcome.failure;
    switch (failure.kind) {
      case 'cancelled':
        ctx.log.info(`Cancelled ${name}; nothing was written.`);
        void vscode.window.showInformationMessage(`Cancelled ${name}. Nothing was written.`);
        return undefined;
      case 'user':
        ctx.log.warn(`${failure.message} ${failure.hint}`);
        if (failure.code === 'output-not-writable') {
          void offerOtherFolder(ctx, imagePath, `${failure.message} ${failure.hint}`);
        } else {
          void vscode.window.showErrorMessage(`${failure.message} ${failure.hint}`);
        }
        return undefined;
      case 'bug':
        ctx.log.error(`Unexpected failure on ${imagePath}: ${failure.stack ?? failure.message}`);
        void vscode.window
          .showErrorMessage(`Image to 3D failed unexpectedly: ${failure.message}`, 'Show Log')
          .then((choice) => choice && ctx.log.show());
        return undefined;
    }
  }

  const result = outcome.result;
  ctx.log.info(
    `Wrote ${result.files.join(', ')} (${result.metrics.faces} faces, ${result.provider}, ` +
      `${Object.entries(result.timingsMs).map(([stage, ms]) => `${stage} ${Math.round(ms ?? 0)} ms`).join(', ')}).`,
  );
  PreviewPanel.show(ctx.extensionUri, result.preview, previewInfo(name, result, model.builtIn, (Date.now() - started) / 1000), (line) =>
    ctx.log.info(line),
  );
  announce(result.files);
  return {
    files: result.files,
    provider: result.provider,
    metrics: { vertices: result.metrics.vertices, faces: result.metrics.faces, watertight: result.metrics.watertight },
  };
}

function previewInfo(title: string, result: JobResult, builtIn: boolean, seconds: number): PreviewInfo {
  const m = result.metrics;
  return {
    title,
    provider: result.provider,
    modelKind: builtIn ? 'built-in stand-in (demonstration)' : result.modelKind,
    files: result.files.map((f) => path.basename(f)),
    seconds,
    metrics: {
      vertices: m.vertices,
      faces: m.faces,
      components: m.components,
      watertight: m.watertight,
      volumeMm3: m.volume,
      areaMm2: m.area,
      sizeMm: [m.bbox.max[0] - m.bbox.min[0], m.bbox.max[1] - m.bbox.min[1], m.bbox.max[2] - m.bbox.min[2]],
    },
  };
}

function announce(files: readonly string[]): void {
  const reveal = 'Reveal in Explorer';
  void vscode.window
    .showInformationMessage(`Wrote ${files.map((f) => path.basename(f)).join(', ')}.`, reveal)
    .then((choice) => {
      if (choice === reveal && files[0]) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(files[0]));
    });
}

async function offerOtherFolder(ctx: CommandContext, imagePath: string, message: string): Promise<void> {
  const choose = 'Choose Folder…';
  const answer = await vscode.window.showErrorMessage(message, choose);
  if (answer !== choose) return;
  const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Write Here' });
  if (!folder?.[0]) return;
  const job = queue.then(() => generateOne(ctx, imagePath, folder[0].fsPath));
  queue = job.catch(() => undefined);
  await job;
}
