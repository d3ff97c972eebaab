import * as vscode from 'vscode';
import * as path from 'node:path';
import { installCudaProvider, describeCudaInstallProgress, notApplicableReason } from '../pipeline/network/cudaProvider/install.js';
import { UserError } from '../pipeline/errors.js';
import { CancelledError } from '../pipeline/progress.js';
import type { PipelineClient } from './pipelineClient.js';

/**
 * "Install CUDA Support": onnxruntime-node's npm package ships no CUDA provider for Linux (its install
 * script fetches it at npm time, which a packaged extension never runs), so fetch it now, on request.
 * The running worker has already probed CUDA and failed, so it is restarted to probe again.
 */
export async function installCudaCommand(ctx: {
  readonly globalStoragePath: string;
  readonly client: () => PipelineClient;
  readonly log: vscode.LogOutputChannel;
}): Promise<boolean> {
  const notApplicable = notApplicableReason();
  if (notApplicable) {
    void vscode.window.showInformationMessage(notApplicable);
    return false;
  }
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Image to 3D: installing CUDA support', cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let done = 0;
        return installCudaProvider({
          cacheDir: path.join(ctx.globalStoragePath, 'cuda-provider'),
          signal: abort.signal,
          onProgress: (p) => {
            const { fraction, message } = describeCudaInstallProgress(p);
            const now = (fraction ?? 0) * 100;
            progress.report({ message, increment: Math.max(0, now - done) });
            done = Math.max(done, now);
          },
        });
      },
    );
    await ctx.client().dispose();
    ctx.log.info(`CUDA provider ${result.version} ${result.alreadyInstalled ? 'was already' : 'is now'} installed in ${result.binDir}.\n${result.requirements.text}`);
    const missing = result.requirements.unresolved ?? [];
    const summary = missing.length > 0 ? `Still missing on this machine: ${missing.join(', ')}.` : 'Set imageTo3d.executionProviders to auto or cuda to use it.';
    void vscode.window
      .showInformationMessage(`CUDA support is installed. ${summary}`, 'Show Details')
      .then((choice) => choice && ctx.log.show());
    return true;
  } catch (err) {
    if (err instanceof CancelledError) {
      void vscode.window.showInformationMessage('Cancelled; the CUDA provider was not installed (the download resumes next time).');
    } else if (err instanceof UserError) {
      void vscode.window.showErrorMessage(`${err.message} ${err.hint}`);
    } else {
      ctx.log.error(`Installing the CUDA provider failed: ${(err as Error).stack ?? String(err)}`);
      void vscode.window.showErrorMessage(`Installing CUDA support failed unexpectedly: ${(err as Error).message}`);
    }
    return false;
  }
}
