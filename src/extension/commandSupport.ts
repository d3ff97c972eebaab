import * as vscode from 'vscode';
import * as path from 'node:path';
import type { Progress, Stage } from '../pipeline/progress.js';
import type { ExistingFilePolicy } from '../pipeline/writers/safeWrite.js';
import type { Failure, PipelineClient } from './pipelineClient.js';
import type { Settings } from './settingsTable.js';
import { hintText } from '../pipeline/hint.js';
import { EXTENSION_HINT_WORDS } from './hintWords.js';

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

/** Weights for a job that runs only some stages: the others take none of the bar. */
export function stageWeights(shares: Partial<Record<Stage, number>>): Record<Stage, number> {
  return Object.fromEntries(STAGES.map((stage) => [stage, shares[stage] ?? 0])) as Record<Stage, number>;
}

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

/**
 * The policy a job starts with: "ask" starts as "fail", so the pipeline process stops before any work
 * when a file is in the way and names every one (details.existingFiles); askAboutExistingFiles then
 * puts the question and the job is sent again with the answer.
 */
export function initialPolicy(setting: ExistingFilesSetting): ExistingFilePolicy {
  return setting === 'ask' ? 'fail' : setting;
}

export type ExistingFilesSetting = Settings['existingFiles'];

/**
 * When a job failed because outputs exist and the setting says to ask: Replace or Keep Both, as a
 * policy for the job's second try. Undefined: the failure is another one, or the user backed out.
 */
export async function askAboutExistingFiles(
  setting: ExistingFilesSetting,
  failure: Failure,
): Promise<{ readonly policy: ExistingFilePolicy } | { readonly backedOut: true } | undefined> {
  if (setting !== 'ask' || failure.kind !== 'user' || failure.code !== 'output-exists') return undefined;
  const present = (failure.details.existingFiles ?? []).map((file) => path.basename(file));
  const replace = 'Replace';
  const keep = 'Keep Both';
  const answer = await vscode.window.showWarningMessage(
    present.length > 0 ? `${present.join(', ')} already ${present.length === 1 ? 'exists' : 'exist'}.` : failure.message,
    { modal: true, detail: 'Replace the existing files, or keep them and write numbered copies beside them?' },
    replace,
    keep,
  );
  if (answer === replace) return { policy: 'overwrite' };
  if (answer === keep) return { policy: 'suffix' };
  return { backedOut: true };
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
export function reportFailure(ctx: CommandContext, failure: Failure, subject: string, chooseFolder?: () => Promise<void>): void {
  switch (failure.kind) {
    case 'cancelled':
      ctx.log.info(`Cancelled ${subject}; nothing was written.`);
      void vscode.window.showInformationMessage(`Cancelled ${subject}. Nothing was written.`);
      return;
    case 'user': {
      const text = `${failure.message} ${hintText(failure.hint, EXTENSION_HINT_WORDS)}`;
      ctx.log.warn(text);
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
    case 'crashed': {
      const how = failure.signal ? `it was killed (${failure.signal})` : `it exited with code ${failure.exitCode}`;
      // SIGKILL that we did not send is most often the system's out-of-memory killer.
      const memory = failure.signal === 'SIGKILL' ? ' The system may have run out of memory: a lower imageTo3d.resolution needs less.' : '';
      ctx.log.error(`The pipeline process stopped while working on ${subject}: ${how}.${failure.lastOutput.length > 0 ? `\n${failure.lastOutput.join('\n')}` : ''}`);
      void vscode.window
        .showErrorMessage(
          `Image to 3D stopped unexpectedly while working on ${subject} (${how}). Nothing was written; the next run starts it again.${memory}`,
          'Show Log',
        )
        .then((choice) => choice && ctx.log.show());
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
