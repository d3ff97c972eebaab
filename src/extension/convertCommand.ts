import * as vscode from 'vscode';
import * as path from 'node:path';
import type { ConvertRequest } from '../pipeline/convert.js';
import { MESH_FILE_EXTENSIONS, meshFormatOfPath } from '../pipeline/readers/formats.js';
import { OUTPUT_FORMAT_IDS, OUTPUT_FORMATS, type OutputFormat } from '../pipeline/writers/outputFormats.js';
import type { ConvertJobResult } from '../worker/protocol.js';
import { announce, askAboutExistingFiles, enqueue, initialPolicy, pickWorkspaceFile, progressReporter, reportFailure, stageWeights } from './commandSupport.js';
import type { CommandContext } from './commandSupport.js';
import { readSettings } from './settings.js';
import { PreviewPanel } from './previewPanel.js';
import { previewMetrics, type PreviewInfo } from '../shared/protocol.js';

/** What the command resolves to (undefined when nothing was converted): tests and other extensions read it. */
export interface ConvertCommandResult {
  readonly files: string[];
  readonly metrics: { readonly vertices: number; readonly faces: number; readonly watertight: boolean };
}

/** Lets a caller (a test, another extension) skip the format picker. */
export interface ConvertCommandOptions {
  readonly formats?: readonly OutputFormat[];
}

/** Reading dominates small files, writing STEP large ones. */
const CONVERT_WEIGHTS = stageWeights({ read: 0.3, write: 0.7 });

/** Entry for the command: from the Explorer (clicked and selected resources) or the palette (none). */
export async function convertMeshCommand(
  ctx: CommandContext,
  clicked?: vscode.Uri,
  selected?: readonly vscode.Uri[],
  options: ConvertCommandOptions = {},
): Promise<ConvertCommandResult | undefined> {
  const targets = selected && selected.length > 0 ? selected : clicked ? [clicked] : await pickMesh();
  if (!targets || targets.length === 0) return undefined;
  let last: ConvertCommandResult | undefined;
  for (const target of targets) {
    if (target.scheme !== 'file') {
      void vscode.window.showErrorMessage(`Image to 3D converts files on this machine; ${target.toString()} is not one.`);
      continue;
    }
    const format = meshFormatOfPath(target.fsPath);
    if (!format) {
      void vscode.window.showErrorMessage(
        `${path.basename(target.fsPath)} is not a mesh file Image to 3D reads. Choose a ${MESH_FILE_EXTENSIONS.join(', ')} file.`,
      );
      continue;
    }
    const formats = options.formats ?? (await pickFormats(target.fsPath, format));
    if (!formats || formats.length === 0) return last;
    last = (await enqueue(() => convertOne(ctx, target.fsPath, formats, undefined))) ?? last;
  }
  return last;
}

function pickMesh(): Promise<vscode.Uri[] | undefined> {
  return pickWorkspaceFile({
    title: 'Convert Mesh to CAD Formats',
    placeHolder: 'Choose a mesh file in the workspace',
    openLabel: 'Convert',
    filterName: 'Meshes',
    extensions: MESH_FILE_EXTENSIONS,
  });
}

/** Every format but the source's own, those in imageTo3d.conversionFormats ticked. */
async function pickFormats(meshPath: string, sourceFormat: string): Promise<OutputFormat[] | undefined> {
  const preferred = readSettings(vscode.Uri.file(meshPath)).conversionFormats;
  const items = OUTPUT_FORMAT_IDS.filter((f) => f !== sourceFormat).map((format) => ({
    label: format.toUpperCase(),
    description: OUTPUT_FORMATS[format].label,
    picked: preferred.includes(format),
    format,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Convert ${path.basename(meshPath)}`,
    placeHolder: 'Formats to write next to it',
    canPickMany: true,
  });
  return picked?.map((item) => item.format);
}

async function convertOne(
  ctx: CommandContext,
  meshPath: string,
  formats: readonly OutputFormat[],
  outDir: string | undefined,
): Promise<ConvertCommandResult | undefined> {
  const settings = readSettings(vscode.Uri.file(meshPath));
  let request: ConvertRequest = {
    meshPath,
    outDir,
    formats,
    up: settings.meshUpAxis,
    units: settings.meshUnits,
    dxfEntity: settings.dxfEntity,
    cadTolerance: settings.cadTolerance,
    targetTriangles: settings.targetTriangles,
    existing: initialPolicy(settings.existingFiles),
  };
  const name = path.basename(meshPath);
  ctx.log.info(`Converting ${meshPath} to ${formats.join(', ')}.`);
  for (;;) {
    const started = Date.now();
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Image to 3D: converting ${name}`, cancellable: true },
      (progress, token) =>
        ctx.client().convert(request, progressReporter(progress, CONVERT_WEIGHTS), {
          onCancel: (listener) => token.onCancellationRequested(listener),
        }),
    );
    if (outcome.ok) return showResult(ctx, name, outcome.result, (Date.now() - started) / 1000);
    // The process stops before reading when a file is in the way; ask, and convert again with the answer.
    const existing = await askAboutExistingFiles(settings.existingFiles, outcome.failure);
    if (existing && 'backedOut' in existing) return undefined;
    if (existing) {
      request = { ...request, existing: existing.policy };
      continue;
    }
    reportFailure(ctx, outcome.failure, name, () => offerOtherFolder(ctx, meshPath, formats));
    return undefined;
  }
}

function showResult(ctx: CommandContext, name: string, result: ConvertJobResult, seconds: number): ConvertCommandResult {
  ctx.log.info(
    `Wrote ${result.files.join(', ')} (${result.metrics.faces} faces; ` +
      `${Object.entries(result.timingsMs).map(([stage, ms]) => `${stage} ${Math.round(ms ?? 0)} ms`).join(', ')}). ${result.notes.join('. ')}`,
  );
  PreviewPanel.show(ctx.extensionUri, result.preview, previewInfo(name, result, seconds), (line) => ctx.log.info(line));
  announce(result.files);
  return {
    files: result.files,
    metrics: { vertices: result.metrics.vertices, faces: result.metrics.faces, watertight: result.metrics.watertight },
  };
}

function previewInfo(title: string, result: ConvertJobResult, seconds: number): PreviewInfo {
  const [readAs, ...notes] = result.notes;
  return {
    title,
    details: [['Source', readAs ?? `${result.sourceFormat.toUpperCase()} file`]],
    files: result.files.map((f) => path.basename(f)),
    seconds,
    notes,
    metrics: previewMetrics(result.metrics),
  };
}

async function offerOtherFolder(ctx: CommandContext, meshPath: string, formats: readonly OutputFormat[]): Promise<void> {
  const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Write Here' });
  if (!folder?.[0]) return;
  await enqueue(() => convertOne(ctx, meshPath, formats, folder[0].fsPath));
}
