import * as vscode from 'vscode';
import * as path from 'node:path';
import { PipelineClient, workerScriptPath } from './pipelineClient.js';
import { downloadModelCommand, generateCommand } from './generateCommand.js';
import { PreviewPanel } from './previewPanel.js';
import { installCudaCommand } from './cudaCommand.js';

let client: PipelineClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Image to 3D', { log: true });
  context.subscriptions.push(log);
  // The worker (and with it onnxruntime and sharp) starts on the first job, so activation stays instant.
  const getClient = (): PipelineClient =>
    (client ??= new PipelineClient(workerScriptPath(path.join(context.extensionPath, 'dist')), (line) => log.info(line)));
  const ctx = { extensionUri: context.extensionUri, globalStoragePath: context.globalStorageUri.fsPath, client: getClient, log };
  context.subscriptions.push(
    vscode.commands.registerCommand('imageTo3d.generate', (clicked?: vscode.Uri, selected?: vscode.Uri[]) =>
      generateCommand(ctx, clicked instanceof vscode.Uri ? clicked : undefined, Array.isArray(selected) ? selected : undefined),
    ),
    vscode.commands.registerCommand('imageTo3d.downloadModel', () => downloadModelCommand(ctx)),
    vscode.commands.registerCommand('imageTo3d.installCudaProvider', () => installCudaCommand(ctx)),
    vscode.commands.registerCommand('imageTo3d._previewState', () => PreviewPanel.latestState()),
    { dispose: () => void client?.dispose() },
  );
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
