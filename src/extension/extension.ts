import * as vscode from 'vscode';
import * as path from 'node:path';
import { PipelineClient, workerScriptPath } from './pipelineClient.js';
import { downloadModelCommand, generateCommand } from './generateCommand.js';
import { PreviewPanel } from './previewPanel.js';
import { installCudaCommand } from './cudaCommand.js';
import { convertMeshCommand, type ConvertCommandOptions } from './convertCommand.js';
import { isOutputFormat } from '../pipeline/writers/outputFormats.js';
import { ONNXRUNTIME_PACKAGE_ENV, installedPrivateRuntime } from '../pipeline/network/runtimeLocation.js';

let client: PipelineClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Image to 3D', { log: true });
  context.subscriptions.push(log);
  // The pipeline process (and with it onnxruntime and sharp) starts on the first job, so activation stays instant.
  const getClient = (): PipelineClient =>
    (client ??= new PipelineClient(workerScriptPath(path.join(context.extensionPath, 'dist')), (line) => log.info(line), {
      environment: () => onnxRuntimeEnvironment(context.globalStorageUri.fsPath),
    }));
  const ctx = { extensionUri: context.extensionUri, globalStoragePath: context.globalStorageUri.fsPath, client: getClient, log };
  context.subscriptions.push(
    vscode.commands.registerCommand('imageTo3d.generate', (clicked?: vscode.Uri, selected?: vscode.Uri[]) =>
      generateCommand(ctx, clicked instanceof vscode.Uri ? clicked : undefined, Array.isArray(selected) ? selected : undefined),
    ),
    vscode.commands.registerCommand('imageTo3d.convertMesh', (clicked?: vscode.Uri, selected?: vscode.Uri[], options?: unknown) =>
      convertMeshCommand(
        ctx,
        clicked instanceof vscode.Uri ? clicked : undefined,
        Array.isArray(selected) ? selected : undefined,
        convertOptions(options),
      ),
    ),
    vscode.commands.registerCommand('imageTo3d.downloadModel', () => downloadModelCommand(ctx)),
    vscode.commands.registerCommand('imageTo3d.installCudaProvider', () => installCudaCommand(ctx)),
    vscode.commands.registerCommand('imageTo3d._previewState', () => PreviewPanel.latestState()),
    // For the end-to-end tests: the pipeline process's id and history, without starting it.
    vscode.commands.registerCommand('imageTo3d._engineState', () => client?.state() ?? { starts: 0, crashes: 0, runningJobs: 0 }),
    { dispose: () => void client?.dispose() },
  );
}

/** Options other callers may pass as the third argument; anything malformed is ignored. */
function convertOptions(value: unknown): ConvertCommandOptions {
  if (typeof value !== 'object' || value === null || !('formats' in value) || !Array.isArray(value.formats)) return {};
  const formats = value.formats.filter(isOutputFormat);
  return formats.length > 0 ? { formats } : {};
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}

/**
 * The pipeline process loads the private copy of ONNX Runtime when "Install CUDA Support" had to put
 * the provider there (the extension's folder was read-only), and the bundled one otherwise.
 */
function onnxRuntimeEnvironment(globalStoragePath: string): Record<string, string> {
  const copy = installedPrivateRuntime(globalStoragePath);
  return copy ? { [ONNXRUNTIME_PACKAGE_ENV]: copy } : {};
}
