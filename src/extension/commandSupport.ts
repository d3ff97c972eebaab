import * as vscode from 'vscode';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import type { Progress, Stage } from '../pipeline/progress.js';
import type { ExistingFilePolicy } from '../pipeline/writers/safeWrite.js';
import type { JobFailure } from '../worker/protocol.js';
import type { PipelineClient } from './pipelineClient.js';

/** What the commands share: where the extension lives, its worker, its log. */
export interface CommandContext {
  readonly extensionUri: vscode.Uri;
  readonly globalStoragePath: string;
  readonly client: () => PipelineClient;
  readonly log: vscode.LogOutputChannel;
}

/** Where each stage sits on a progress bar; a record, so a new stage cannot be left out of it. */
const STAGE_RANK: Record<Stage, number> = {
  download: 0,
  model: 1,
  convert: 2,
  image: 3,
  background: 4,
  encode: 5,
  surface: 6,
  read: 7,
  mesh: 8,
  colour: 9,
  write: 10,
};
const STAGES = Object.keys(STAGE_RANK) as Stage[];

/** Turns stage progress into the increments VS Code's progress bar takes (it only moves forward). */
export function progressReporter(
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  weights: Record<Stage, number>,
): (p: Progress) => void {
  let done = 0;
  return (p) => {
    const before = STAGES.filter((s) => STAGE_RANK[s] < STAGE_RANK[p.stage]).reduce((sum, s) => sum + weights[s], 0);
    const overall = (before + weights[p.stage] * p.fraction) * 100;
    progress.report({ message: p.message, increment: Math.max(0, overall - done) });
    done = Math.max(done, overall);
  };
}

let queue: Promise<unknown> = Promise.resolve();

/** One job at a time: two networks, or a network and a conversion, on the same cores each run at half speed. */
export function enqueue<T>(job: () => Promise<T>): Promise<T> {
  const next = queue.then(job);
  queue = next.catch(() => undefined);
  return next;
}

/** Turns the existingFiles setting into a policy, asking when it says to and a file is in the way; undefined: the user backed out. */
export async function existingPolicy(
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

export function announce(files: readonly string[]): void {
  const reveal = 'Reveal in Explorer';
  void vscode.window
    .showInformationMessage(`Wrote ${files.map((f) => path.basename(f)).join(', ')}.`, reveal)
    .then((choice) => {
      if (choice === reveal && files[0]) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(files[0]));
    });
}

/** Says what went wrong in words the user can act on; a cancel is not an error. */
export function reportFailure(ctx: CommandContext, failure: JobFailure, subject: string, chooseFolder?: () => Promise<void>): void {
  switch (failure.kind) {
    case 'cancelled':
      ctx.log.info(`Cancelled ${subject}; nothing was written.`);
      void vscode.window.showInformationMessage(`Cancelled ${subject}. Nothing was written.`);
      return;
    case 'user': {
      ctx.log.warn(`${failure.message} ${failure.hint}`);
      const text = `${failure.message} ${failure.hint}`;
      if (failure.code === 'output-not-writable' && chooseFolder) {
        const choose = 'Choose Folder…';
        void vscode.window.showErrorMessage(text, choose).then((answer) => (answer === choose ? chooseFolder() : undefined));
      } else if (failure.code === 'model-missing') {
        const download = 'Download Model';
        void vscode.window
          .showErrorMessage(text, download)
          .then((answer) => (answer === download ? vscode.commands.executeCommand('imageTo3d.downloadModel') : undefined));
      } else {
        void vscode.window.showErrorMessage(text);
      }
      return;
    }
    case 'bug':
      ctx.log.error(`Unexpected failure on ${subject}: ${failure.stack ?? failure.message}`);
      void vscode.window
        .showErrorMessage(`Image to 3D failed unexpectedly: ${failure.message}`, 'Show Log')
        .then((choice) => choice && ctx.log.show());
      return;
  }
}

/** What a command's file picker offers and says. */
export interface FilePickerOptions {
  readonly title: string;
  readonly placeHolder: string;
  readonly openLabel: string;
  /** Shown in the open dialog's file-type list. */
  readonly filterName: string;
  /** Lower-case extensions without the dot. */
  readonly extensions: readonly string[];
}

/**
 * The files a command should run on when the palette gave it none: a quick pick of the workspace's
 * files with those extensions (any letter case), or an open dialog when the workspace has none.
 */
export async function pickWorkspaceFile(options: FilePickerOptions): Promise<vscode.Uri[] | undefined> {
  const glob = `**/*.{${options.extensions.map((ext) => [...ext].map((c) => `[${c}${c.toUpperCase()}]`).join('')).join(',')}}`;
  const found = await vscode.workspace.findFiles(glob, '**/node_modules/**', 2000);
  if (found.length === 0) {
    return vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: options.openLabel,
      filters: { [options.filterName]: [...options.extensions] },
    });
  }
  const items = found
    .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri }))
    .sort((a, b) => a.description.localeCompare(b.description));
  const picked = await vscode.window.showQuickPick(items, {
    title: options.title,
    placeHolder: options.placeHolder,
    matchOnDescription: true,
  });
  return picked ? [picked.uri] : undefined;
}
