import * as vscode from 'vscode';
import * as path from 'node:path';
import { progressReporter, reportFailure, stageWeights, type CommandContext } from './commandSupport.js';
import { privateRuntimeStorage } from '../pipeline/network/runtimeLocation.js';

/** The install reports one stage, download (with its checking and unpacking), over the whole bar. */
const INSTALL_WEIGHTS = stageWeights({ download: 1 });

/**
 * "Install CUDA Support": onnxruntime-node's npm package ships no CUDA provider for Linux (its install
 * script fetches it at npm time, which a packaged extension never runs), so fetch it now, on request.
 * The download and install run in the pipeline process like any job; that process has already probed
 * CUDA and failed, so it is restarted afterwards to probe again. When the extension's folder is
 * read-only, the provider goes into a private copy of ONNX Runtime in the global storage
 * (privateRuntime.ts), and the restarted process loads that copy (extension.ts names it).
 */
export async function installCudaCommand(ctx: CommandContext): Promise<boolean> {
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Image to 3D: installing CUDA support', cancellable: true },
    (progress, token) =>
      ctx.client().installCuda({ cacheDir: path.join(ctx.globalStoragePath, 'cuda-provider'), runtimeStorage: privateRuntimeStorage(ctx.globalStoragePath) }, progressReporter(progress, INSTALL_WEIGHTS), {
        onCancel: (listener) => token.onCancellationRequested(listener),
      }),
  );
  if (!outcome.ok) {
    if (outcome.failure.kind === 'cancelled') {
      void vscode.window.showInformationMessage('Cancelled; the CUDA provider was not installed (the download resumes next time).');
    } else {
      reportFailure(ctx, outcome.failure, 'installing CUDA support');
    }
    return false;
  }
  const result = outcome.result;
  if (!result.installed) {
    void vscode.window.showInformationMessage(result.reason);
    return false;
  }
  await ctx.client().restart();
  ctx.log.info(
    `CUDA provider ${result.version} ${result.alreadyInstalled ? 'was already' : 'is now'} installed in ${result.binDir}` +
      `${result.privateRuntime ? ` (the extension's own folder is read-only, so ONNX Runtime now loads from this copy in its storage)` : ''}.\n${result.requirements}`,
  );
  const summary =
    result.missing.length > 0 ? `Still missing on this machine: ${result.missing.join(', ')}.` : 'Set imageTo3d.executionProviders to auto or cuda to use it.';
  void vscode.window.showInformationMessage(`CUDA support is installed. ${summary}`, 'Show Details').then((choice) => choice && ctx.log.show());
  return true;
}
