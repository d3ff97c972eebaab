import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError, type Hint } from '../errors.js';
import { recoverWrite } from '../files/abandonedWrites.js';
import { syncFile } from '../files/durable.js';
import { isSameFile } from '../files/fileIdentity.js';
import { errorCode, WriteJournal, type UndoOutcome } from '../files/writeJournal.js';
import { assertTag, backupName, journalName, temporaryPath } from '../files/writeNames.js';
import { holdWriteTag, newWriteTag } from '../files/writeTag.js';
import { throwIfAborted } from '../progress.js';

export { temporaryPath } from '../files/writeNames.js';
export { newWriteTag } from '../files/writeTag.js';

/**
 * All-or-nothing writing of a run's output files, into one folder:
 *
 *  1. Each file's content goes to a hidden temporary beside its final name (so every later move is a
 *     rename or link within one file system) and is flushed. Cancelling up to here leaves nothing.
 *  2. Every final name is checked: a folder in the way, or the run's own source, stops the write.
 *  3. A journal is started; from now on each change to a final name is recorded before it is made.
 *  4. 'overwrite' only: each existing file is renamed aside to a backup name.
 *  5. Each temporary gets its final name as a second name (a hard link, which never replaces anything).
 *  6. Commit: the journal is removed. Then the backups and temporaries are removed.
 *
 * A failure before the commit undoes the journal (new names away, earlier files back from their
 * backups), so the folder is as it was. A process killed at any step leaves names a later run
 * recognises by their tag (whose pid is dead) and puts right: see files/abandonedWrites.ts and
 * files/sweepAbandonedWrites.ts.
 */

export type ExistingFilePolicy = 'fail' | 'suffix' | 'overwrite';

export interface PendingFile {
  readonly path: string;
  readonly data: Uint8Array | string;
}

/** Points in the commit a test can stop at, to see that a crash there is recovered. */
export type WriteStep =
  | { readonly step: 'temporaries-written' }
  | { readonly step: 'moved-aside'; readonly file: string }
  | { readonly step: 'placed'; readonly file: string }
  /** The journal is gone; backups and temporaries are not yet. */
  | { readonly step: 'committed' };

export interface WriteOptions {
  readonly existing: ExistingFilePolicy;
  /** Cancels the write up to the moment the first final name changes. */
  readonly signal?: AbortSignal;
  /**
   * Marks this call's hidden files so they can be found if the writer dies; newWriteTag() when left
   * out. Only a newWriteTag tag lets a later run sweep them on its own; any other leaves that to
   * whoever chose it (sweepTemporaryFiles).
   */
  readonly tag?: string;
  /**
   * Files no policy may replace, however a target reaches them (another spelling, a symlinked folder, a
   * hard link): the run's source. A target that is one of them is refused.
   */
  readonly sourceFiles?: readonly string[];
  /** Called as the write passes each step of its commit; a test seam for crashes and races. */
  readonly onStep?: (step: WriteStep) => void | Promise<void>;
}

/** Highest " (n)" tried before giving up on finding a free set of names. */
const MAX_SUFFIX = 9999;

const CHOOSE_ANOTHER_FOLDER: Hint = [{ action: 'choose-output-folder' }, '.'];

/** Errors from link() that mean "this file system cannot hard-link", not "the name is taken". */
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EMLINK', 'EINVAL', 'EISDIR']);

type StepHook = WriteOptions['onStep'];

export async function writeFilesSafely(files: readonly PendingFile[], options: WriteOptions): Promise<string[]> {
  if (files.length === 0) return [];
  const tag = options.tag ?? newWriteTag();
  assertTag(tag);
  const resolved = files.map((f) => path.resolve(f.path));
  if (new Set(resolved).size !== files.length) throw new RangeError('The same output path is listed twice.');
  // One folder: the journal and the commit point are per folder.
  if (new Set(resolved.map((p) => path.dirname(p))).size !== 1) throw new RangeError('The files of one write must share a folder.');
  const release = holdWriteTag(tag);
  try {
    return await writeTagged(files, tag, options);
  } finally {
    release();
  }
}

async function writeTagged(files: readonly PendingFile[], tag: string, options: WriteOptions): Promise<string[]> {
  const dir = path.dirname(files[0]!.path);
  const finals = files.map((f) => f.path);
  throwIfAborted(options.signal);
  // Other writers' leftovers are the caller's to sweep first (sweepAbandonedWrites; the pipeline's
  // runs do). A journal with our own tag can only be an earlier attempt's (a host retrying with one tag).
  if (await exists(path.join(dir, journalName(tag)))) await recoverWrite(dir, tag).catch(() => undefined);
  await refuseSources(finals, options.sourceFiles ?? []);
  if (options.existing !== 'suffix') await refuseFolders(finals);

  const temps = finals.map((f) => temporaryPath(f, tag));
  /** Temporaries this call created and that still exist. */
  const liveTemps = new Set<string>();
  const journal = new WriteJournal(dir, tag);
  let written: string[];
  try {
    for (let i = 0; i < files.length; i++) {
      await writeTemporary(temps[i]!, files[i]!.data, liveTemps);
      throwIfAborted(options.signal);
    }
    await options.onStep?.({ step: 'temporaries-written' });
    // Last point at which cancelling leaves nothing behind; from here the moves run to the end.
    throwIfAborted(options.signal);

    switch (options.existing) {
      case 'fail':
        written = await commitNoClobber(finals, temps, journal, options.onStep);
        break;
      case 'suffix':
        written = await commitWithSuffix(finals, temps, journal, options.onStep);
        break;
      case 'overwrite':
        written = await commitOverwrite(finals, temps, journal, options.onStep);
        break;
    }
  } catch (error) {
    const undo = await journal.rollBack([...liveTemps]).catch((): UndoOutcome => ({ complete: false, unrestored: [], keptBeside: [] }));
    throw withEarlierFiles(systemErrorAsUserError(error, dir), undo);
  }
  // Committed: nothing from here may undo the write.
  await options.onStep?.({ step: 'committed' });
  await clearAway(journal, [...liveTemps]);
  return written;
}

/** Removes tag `tag`'s leftovers from `dir`, its writer being gone: undone if they were not committed. */
export async function sweepTemporaryFiles(dir: string, tag: string): Promise<number> {
  assertTag(tag);
  return recoverWrite(dir, tag);
}

/** After the commit: the earlier files and the temporaries' names are no longer needed. */
async function clearAway(journal: WriteJournal, temps: readonly string[]): Promise<void> {
  // Every final is complete and named; anything that will not go is left for a later sweep, which
  // knows a committed write's backups from the absence of its journal.
  for (const entry of journal.entries) if (entry.op === 'aside') await removeQuietly(path.join(journal.dir, entry.backup));
  for (const temp of temps) await removeQuietly(temp);
}

async function writeTemporary(temp: string, data: Uint8Array | string, liveTemps: Set<string>): Promise<void> {
  const dir = path.dirname(temp);
  try {
    let handle: fsp.FileHandle;
    try {
      // Exclusive creation never follows a planted symlink. A leftover with this exact name can only
      // be an earlier attempt's temporary with the same tag, so it is replaced.
      handle = await fsp.open(temp, 'wx');
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      await fsp.unlink(temp);
      handle = await fsp.open(temp, 'wx');
    }
    liveTemps.add(temp);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw folderError(error, dir) ?? error;
  }
}

/** 'fail': every final name is checked before any is created, and each is created without replacing. */
async function commitNoClobber(finals: readonly string[], temps: readonly string[], journal: WriteJournal, onStep: StepHook): Promise<string[]> {
  const taken: string[] = [];
  for (const final of finals) if (await exists(final)) taken.push(final);
  if (taken.length > 0) throw outputExists(taken);
  for (let i = 0; i < finals.length; i++) {
    try {
      await placeNoClobber(journal, temps[i]!, finals[i]!);
    } catch (error) {
      // Another process took the name between the check and the move.
      if (errorCode(error) === 'EEXIST') throw outputExists([finals[i]!]);
      throw commitError(error, finals[i]!) ?? error;
    }
    await onStep?.({ step: 'placed', file: finals[i]! });
  }
  await journal.commit();
  return [...finals];
}

/**
 * 'suffix': the whole set moves to the first " (n)" for which every name is free, so the GLB, DXF and
 * STEP of one run keep matching names. A name taken in a race moves the set on to the next n.
 */
async function commitWithSuffix(planned: readonly string[], temps: readonly string[], journal: WriteJournal, onStep: StepHook): Promise<string[]> {
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const finals = planned.map((f) => (n === 1 ? f : withSuffix(f, n)));
    let free = true;
    for (const candidate of finals) {
      if (await exists(candidate)) {
        free = false;
        break;
      }
    }
    if (!free) continue;
    const placedThisRound: string[] = [];
    let lostRace = false;
    for (let i = 0; i < finals.length; i++) {
      try {
        await placeNoClobber(journal, temps[i]!, finals[i]!);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw commitError(error, finals[i]!) ?? error;
        lostRace = true;
        break;
      }
      placedThisRound.push(finals[i]!);
      await onStep?.({ step: 'placed', file: finals[i]! });
    }
    if (lostRace) {
      // Only just placed, so still ours; the journal keeps them listed, and a later undo checks that a
      // name still holds our file before it takes anything away.
      for (const placed of placedThisRound) await removeQuietly(placed);
      continue;
    }
    await journal.commit();
    return finals;
  }
  throw outputExists(planned.map((f) => withSuffix(f, MAX_SUFFIX)));
}

/**
 * 'overwrite': every existing file is moved aside before any new one is named, and stays aside until
 * the commit, so a failure anywhere puts every one of them back.
 */
async function commitOverwrite(finals: readonly string[], temps: readonly string[], journal: WriteJournal, onStep: StepHook): Promise<string[]> {
  // Checked again just before anything moves: a folder may have appeared while the files were encoded.
  await refuseFolders(finals);
  for (const final of finals) {
    // Nothing there: nothing to keep. One that appears from now on makes the placing below fail.
    if (!(await exists(final))) continue;
    const name = path.basename(final);
    const backup = path.join(path.dirname(final), backupName(name, journal.tag));
    await journal.record({ op: 'aside', name, backup: path.basename(backup) });
    try {
      await fsp.rename(final, backup);
    } catch (error) {
      // Gone since the look just now: nothing to keep.
      if (errorCode(error) === 'ENOENT') continue;
      throw commitError(error, final) ?? error;
    }
    // A folder renamed aside in a race: the undo renames it back.
    if ((await fsp.lstat(backup)).isDirectory()) throw folderInTheWay([final]);
    await onStep?.({ step: 'moved-aside', file: final });
  }
  for (let i = 0; i < finals.length; i++) {
    try {
      await placeNoClobber(journal, temps[i]!, finals[i]!);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') throw createdMeanwhile(finals[i]!);
      throw commitError(error, finals[i]!) ?? error;
    }
    await onStep?.({ step: 'placed', file: finals[i]! });
  }
  await journal.commit();
  return [...finals];
}

/**
 * Gives `temp`'s content the name `final` only if `final` does not exist, recording it first. A hard
 * link does that atomically and keeps the temporary as the proof of which file is ours; where the file
 * system has no hard links, an exclusive copy does it non-atomically but still without replacing
 * anything. Leaves nothing at `final` if it fails, unless `final` was taken.
 */
async function placeNoClobber(journal: WriteJournal, temp: string, final: string): Promise<void> {
  const entry = { name: path.basename(final), temp: path.basename(temp) };
  await journal.record({ op: 'link', ...entry });
  try {
    await fsp.link(temp, final);
    return;
  } catch (error) {
    if (!LINK_UNSUPPORTED.has(errorCode(error) ?? '')) throw error;
  }
  await journal.record({ op: 'copy', ...entry });
  try {
    await fsp.copyFile(temp, final, fsConstants.COPYFILE_EXCL);
    await syncFile(final);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') await removeQuietly(final);
    throw error;
  }
}

/** A target that is the run's own source is refused under every policy. */
async function refuseSources(finals: readonly string[], sources: readonly string[]): Promise<void> {
  for (const final of finals) {
    for (const source of sources) {
      if (await isSameFile(final, source)) throw sourceInTheWay(final, source);
    }
  }
}

/** A folder at a final name cannot be replaced by a file, and renaming it aside would hide it. */
async function refuseFolders(finals: readonly string[]): Promise<void> {
  const folders: string[] = [];
  for (const final of finals) if (await isFolder(final)) folders.push(final);
  if (folders.length > 0) throw folderInTheWay(folders);
}

function withSuffix(filePath: string, n: number): string {
  const ext = path.extname(filePath);
  return `${filePath.slice(0, filePath.length - ext.length)} (${n})${ext}`;
}

async function exists(filePath: string): Promise<boolean> {
  try {
    // lstat: a dangling symlink still occupies the name.
    await fsp.lstat(filePath);
    return true;
  } catch (error) {
    // ENOTDIR: the folder is not one; writing the temporaries reports that.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

async function isFolder(filePath: string): Promise<boolean> {
  try {
    return (await fsp.lstat(filePath)).isDirectory();
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

async function removeQuietly(filePath: string): Promise<void> {
  try {
    await fsp.unlink(filePath);
  } catch {
    // Already gone, or cannot be removed: nothing better to do during cleanup.
  }
}

function outputExists(paths: readonly string[]): UserError {
  const names = paths.map((p) => `"${p}"`).join(', ');
  const one = paths.length === 1;
  return new UserError(
    `${names} already ${one ? 'exists' : 'exist'}.`,
    [`Move or delete the existing ${one ? 'file' : 'files'}, or choose suffix or overwrite for existing files with `, { option: 'existing' }, '.'],
    'output-exists',
    { existingFiles: paths },
  );
}

/** Shared with the check before a run, so both say the same. */
export function folderInTheWay(paths: readonly string[]): UserError {
  const names = paths.map((p) => `"${p}"`).join(', ');
  const one = paths.length === 1;
  return new UserError(
    `${names} ${one ? 'is a folder' : 'are folders'}, so ${one ? 'it' : 'they'} cannot be replaced by the output ${one ? 'file' : 'files'}; nothing was written.`,
    [`Move or rename the ${one ? 'folder' : 'folders'}, choose suffix for existing files with `, { option: 'existing' }, ', or ', ...CHOOSE_ANOTHER_FOLDER],
    'output-not-writable',
  );
}

/** Shared with the check before a run, so both say the same. */
export function sourceInTheWay(target: string, source: string): UserError {
  return new UserError(
    `Writing "${target}" would replace the source file "${source}" itself; nothing was written.`,
    ['Choose other output formats, or ', ...CHOOSE_ANOTHER_FOLDER],
    'invalid-option',
  );
}

function createdMeanwhile(final: string): UserError {
  return new UserError(
    `"${final}" was created by another program while this run was writing it; nothing was changed.`,
    ['Try again, or ', ...CHOOSE_ANOTHER_FOLDER],
    'output-not-writable',
  );
}

/** A failure whose undo could not give every earlier file back its name: the user must know where it is. */
function withEarlierFiles(error: unknown, undo: UndoOutcome): unknown {
  if (undo.unrestored.length === 0 && undo.keptBeside.length === 0) return error;
  const sentences = [error instanceof Error ? error.message : String(error)];
  for (const { name, keptAs } of undo.keptBeside) {
    sentences.push(`Another program wrote "${name}" meanwhile, so the earlier file is kept beside it as "${keptAs}".`);
  }
  if (undo.unrestored.length > 0) {
    const one = undo.unrestored.length === 1;
    sentences.push(
      `The earlier ${one ? 'file is' : 'files are'} kept as ${undo.unrestored.map((b) => `"${b}"`).join(', ')}; the next run into this folder puts ${one ? 'it' : 'them'} back.`,
    );
  }
  return new UserError(sentences.join(' '), 'Close any program that has the files open, then run again.', 'output-not-writable');
}

/**
 * A system error that escaped the steps' own mapping (the journal's, say) is still about the folder,
 * not a bug: it reaches the user as such, and the write has been undone by then.
 */
function systemErrorAsUserError(error: unknown, dir: string): unknown {
  const code = errorCode(error);
  if (error instanceof UserError || code === undefined) return error;
  return folderError(error, dir) ?? new UserError(`Cannot write to the folder "${dir}" (${code}); nothing was changed.`, CHOOSE_ANOTHER_FOLDER, 'output-not-writable');
}

/** Maps a failure to create or fill a temporary in `dir` to what the user can act on. */
function folderError(error: unknown, dir: string): UserError | undefined {
  switch (errorCode(error)) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new UserError(`Cannot write to the folder "${dir}": it is read-only or not writable.`, CHOOSE_ANOTHER_FOLDER, 'output-not-writable');
    case 'ENOENT':
      return new UserError(`The output folder "${dir}" does not exist.`, CHOOSE_ANOTHER_FOLDER, 'output-not-writable');
    case 'ENOTDIR':
      return new UserError(`The output folder "${dir}" is not a folder.`, CHOOSE_ANOTHER_FOLDER, 'output-not-writable');
    case 'ENOSPC':
    case 'EDQUOT':
      return new UserError(`Not enough disk space to write to the folder "${dir}".`, CHOOSE_ANOTHER_FOLDER, 'output-not-writable');
    default:
      return undefined;
  }
}

/**
 * Maps a failure to move an earlier file aside or to name a new one. Whatever the cause, the write is
 * undone before this reaches the user, so every system error here is reported as the file it hit.
 */
function commitError(error: unknown, final: string): UserError | undefined {
  const code = errorCode(error);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EBUSY':
      return new UserError(
        `Cannot write "${final}": the file or its folder is read-only, or the file is open in another program; nothing was changed.`,
        ['Close any program that has the file open. ', ...CHOOSE_ANOTHER_FOLDER],
        'output-not-writable',
      );
    case 'EISDIR':
    case 'ENOTEMPTY':
      return folderInTheWay([final]);
    case undefined:
      return undefined;
    default:
      return (
        folderError(error, path.dirname(final)) ??
        new UserError(`Cannot write "${final}" (${code}); nothing was changed.`, CHOOSE_ANOTHER_FOLDER, 'output-not-writable')
      );
  }
}
