import { promises as fs, constants as fsConstants, type Stats } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { fileErrorReason } from '../files/fileErrors.js';
import { sweepAbandonedWrites } from '../files/sweepAbandonedWrites.js';
import { isSameFile } from '../files/fileIdentity.js';
import { probeName } from '../files/writeNames.js';
import { holdWriteTag, newWriteTag } from '../files/writeTag.js';
import { CancelledError } from '../progress.js';
import { plannedRunPaths } from './outputs.js';
import type { OutputFormat } from './outputFormats.js';
import { folderInTheWay, sourceInTheWay, type ExistingFilePolicy } from './safeWrite.js';
import { makeFolders } from '../files/makeFolders.js';

/** Where a run's files go: next to their source unless `outDir` says otherwise. */
export interface OutputTarget {
  /** The image or mesh the outputs are named after. */
  readonly sourcePath: string;
  readonly outDir?: string;
  readonly formats: readonly OutputFormat[];
  /** The input images (`<name>.input.png`, `<name>.mask.png`) are written too. */
  readonly saveInput?: boolean;
  readonly existing: ExistingFilePolicy;
  /** Marks the probe file as this job's, like its temporaries. */
  readonly tag?: string;
}

/**
 * Fails fast, before minutes of work, on what would stop the write at the end: an output that is the
 * source itself, a folder where an output should go, an output that exists under the "fail" policy, or
 * a folder we cannot create files in. The write re-checks all of them. What killed runs left in the
 * folder is put right first, so the checks see the user's files where they belong.
 */
export async function checkOutputsBeforeRun(request: OutputTarget): Promise<void> {
  const paths = plannedRunPaths(request.sourcePath, request.formats, request.outDir, request.saveInput);
  const dir = path.dirname(paths[0]);
  await sweepAbandonedWrites(dir).catch((err: unknown) => {
    // Best effort: a folder we cannot tidy is one the probe below reports on.
    if (err instanceof CancelledError) throw err;
  });
  for (const file of paths) if (await isSameFile(file, request.sourcePath)) throw sourceInTheWay(file, request.sourcePath);
  if (request.existing !== 'suffix') {
    const folders: string[] = [];
    for (const file of paths) if ((await lstatOrUndefined(file))?.isDirectory()) folders.push(file);
    if (folders.length > 0) throw folderInTheWay(folders);
  }
  if (request.existing === 'fail') {
    // All of them, not the first: a front end that asks "replace or keep both?" asks once for the set.
    const existing: string[] = [];
    for (const file of paths) if (await lstatOrUndefined(file)) existing.push(file);
    if (existing.length > 0) {
      const one = existing.length === 1;
      throw new UserError(
        `${existing.join(', ')} already ${one ? 'exists' : 'exist'} and would be overwritten.`,
        [`Move or rename ${one ? 'it' : 'them'}, or choose suffix or overwrite for existing files with `, { option: 'existing' }, '.'],
        'output-exists',
        { existingFiles: existing },
      );
    }
  }
  await probeFolder(dir, request.tag ?? newWriteTag(), request.outDir !== undefined);
}

/** Creates and removes a file named like a temporary, so a probe cut short is swept like one. */
async function probeFolder(dir: string, tag: string, create: boolean): Promise<void> {
  const probe = path.join(dir, probeName(tag));
  const release = holdWriteTag(tag);
  try {
    // An explicit output folder is created on demand, as `mkdir -p` would.
    if (create) await makeFolders(dir);
    const handle = await fs.open(probe, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY);
    await handle.close();
    await fs.unlink(probe);
  } catch (err) {
    const reason = fileErrorReason(err) ?? (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UserError(
      `Cannot create files in the folder ${dir}: ${reason}.`,
      [{ action: 'choose-output-folder' }, '.'],
      'output-not-writable',
    );
  } finally {
    release();
  }
}

async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(file);
  } catch {
    return undefined;
  }
}
