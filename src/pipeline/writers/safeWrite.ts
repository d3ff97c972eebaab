import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError, type Hint } from '../errors.js';
import { syncDirectory, syncFile } from '../files/durable.js';
import { throwIfAborted } from '../progress.js';

/**
 * All-or-nothing writing of a run's output files. Every file goes to a temporary name in its final
 * folder first (so the final move is a same-file-system rename or link, never a copy across devices),
 * and no final name appears until every temporary is complete and on disk. A crash or cancellation
 * therefore leaves either the full set or only temporaries, which carry a tag the host can sweep.
 */

export type ExistingFilePolicy = 'fail' | 'suffix' | 'overwrite';

export interface PendingFile {
  readonly path: string;
  readonly data: Uint8Array | string;
}

export interface WriteOptions {
  readonly existing: ExistingFilePolicy;
  /** Cancels the write up to the moment the first final name is created. */
  readonly signal?: AbortSignal;
  /** Marks this call's temporaries so a host can sweep them if the writer dies; random when left out. */
  readonly tag?: string;
}

const TEMP_SUFFIX = '.i3d-tmp';
const TAG_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Highest " (n)" tried before giving up on finding a free set of names. */
const MAX_SUFFIX = 9999;

const CHOOSE_ANOTHER_FOLDER: Hint = [{ action: 'choose-output-folder' }, '.'];

/** Errors from link() that mean "this file system cannot hard-link", not "the name is taken". */
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EMLINK', 'EINVAL', 'EISDIR']);

/** Where a final path's temporary lives: a hidden name in the same folder, carrying the tag. */
export function temporaryPath(finalPath: string, tag: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${tag}${TEMP_SUFFIX}`);
}

export async function writeFilesSafely(files: readonly PendingFile[], options: WriteOptions): Promise<string[]> {
  const tag = options.tag ?? randomBytes(6).toString('hex');
  if (!TAG_PATTERN.test(tag)) throw new RangeError(`Invalid temporary-file tag: ${JSON.stringify(tag)}.`);
  const resolved = new Set(files.map((f) => path.resolve(f.path)));
  if (resolved.size !== files.length) throw new RangeError('The same output path is listed twice.');

  const temps = files.map((f) => temporaryPath(f.path, tag));
  /** Temporaries this call created and that still exist. */
  const liveTemps = new Set<string>();
  /** Final files that did not exist before this call and that it created. */
  const created: string[] = [];

  try {
    throwIfAborted(options.signal);
    for (let i = 0; i < files.length; i++) {
      await writeTemporary(temps[i]!, files[i]!.data, liveTemps);
      throwIfAborted(options.signal);
    }
    // Last point at which cancelling leaves nothing behind; from here the moves run to the end.
    throwIfAborted(options.signal);

    let finals: string[];
    switch (options.existing) {
      case 'fail':
        finals = await commitNoClobber(files, temps, liveTemps, created);
        break;
      case 'suffix':
        finals = await commitWithSuffix(files, temps, liveTemps, created);
        break;
      case 'overwrite':
        finals = await commitOverwrite(files, temps, liveTemps, created);
        break;
    }
    // The files themselves were fsync'ed; this makes their new names durable too where possible.
    for (const dir of new Set(finals.map((f) => path.dirname(f)))) await syncDirectory(dir);
    return finals;
  } catch (error) {
    await Promise.all([...liveTemps, ...created].map(removeQuietly));
    throw error;
  }
}

/** Removes this tag's temporaries from `dir`; returns how many were removed. */
export async function sweepTemporaryFiles(dir: string, tag: string): Promise<number> {
  if (!TAG_PATTERN.test(tag)) throw new RangeError(`Invalid temporary-file tag: ${JSON.stringify(tag)}.`);
  const ending = `.${tag}${TEMP_SUFFIX}`;
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return 0;
    throw error;
  }
  let removed = 0;
  for (const entry of entries) {
    // Only regular files: temporaries are created as such, so a link or folder with a matching name
    // is not ours to delete.
    if (!entry.isFile() || !entry.name.startsWith('.') || !entry.name.endsWith(ending)) continue;
    if (entry.name.length <= ending.length + 1) continue;
    try {
      await fsp.unlink(path.join(dir, entry.name));
      removed++;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }
  return removed;
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
async function commitNoClobber(
  files: readonly PendingFile[],
  temps: readonly string[],
  liveTemps: Set<string>,
  created: string[],
): Promise<string[]> {
  const taken: string[] = [];
  for (const file of files) if (await exists(file.path)) taken.push(file.path);
  if (taken.length > 0) throw outputExists(taken);
  const finals = files.map((f) => f.path);
  for (let i = 0; i < finals.length; i++) {
    try {
      await placeNoClobber(temps[i]!, finals[i]!);
    } catch (error) {
      // Another process took the name between the check and the move.
      if (errorCode(error) === 'EEXIST') throw outputExists([finals[i]!]);
      throw commitError(error, finals[i]!) ?? error;
    }
    created.push(finals[i]!);
  }
  await dropTemporaries(temps, liveTemps);
  return finals;
}

/**
 * 'suffix': the whole set moves to the first " (n)" for which every name is free, so the GLB, DXF and
 * STEP of one run keep matching names. A name taken in a race moves the set on to the next n.
 */
async function commitWithSuffix(
  files: readonly PendingFile[],
  temps: readonly string[],
  liveTemps: Set<string>,
  created: string[],
): Promise<string[]> {
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const finals = files.map((f) => (n === 1 ? f.path : withSuffix(f.path, n)));
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
        await placeNoClobber(temps[i]!, finals[i]!);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw commitError(error, finals[i]!) ?? error;
        lostRace = true;
        break;
      }
      placedThisRound.push(finals[i]!);
      created.push(finals[i]!);
    }
    if (lostRace) {
      for (const placed of placedThisRound) {
        await removeQuietly(placed);
        created.splice(created.indexOf(placed), 1);
      }
      continue;
    }
    await dropTemporaries(temps, liveTemps);
    return finals;
  }
  throw outputExists(files.map((f) => withSuffix(f.path, MAX_SUFFIX)));
}

/** 'overwrite': an atomic rename over whatever is there. */
async function commitOverwrite(
  files: readonly PendingFile[],
  temps: readonly string[],
  liveTemps: Set<string>,
  created: string[],
): Promise<string[]> {
  const finals = files.map((f) => f.path);
  const existed = await Promise.all(finals.map(exists));
  for (let i = 0; i < finals.length; i++) {
    try {
      await fsp.rename(temps[i]!, finals[i]!);
    } catch (error) {
      throw commitError(error, finals[i]!) ?? error;
    }
    liveTemps.delete(temps[i]!);
    // A replaced file is not "created": its old content is gone either way, and deleting the new one
    // on a later failure would only lose more.
    if (!existed[i]) created.push(finals[i]!);
  }
  return finals;
}

/**
 * Gives `temp`'s content the name `final` only if `final` does not exist. A hard link does that
 * atomically; where the file system has no hard links, an exclusive copy does it non-atomically but
 * still without replacing anything. Leaves nothing at `final` if it fails, unless `final` was taken.
 */
async function placeNoClobber(temp: string, final: string): Promise<void> {
  try {
    await fsp.link(temp, final);
    return;
  } catch (error) {
    if (!LINK_UNSUPPORTED.has(errorCode(error) ?? '')) throw error;
  }
  try {
    await fsp.copyFile(temp, final, fsConstants.COPYFILE_EXCL);
    await syncFile(final);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') await removeQuietly(final);
    throw error;
  }
}

/** After a link-based commit the temporaries are second names of the finals; drop them. */
async function dropTemporaries(temps: readonly string[], liveTemps: Set<string>): Promise<void> {
  for (const temp of temps) {
    // Every final is complete at this point, so a temporary that will not go is left for the sweep
    // rather than failing the run.
    await removeQuietly(temp);
    liveTemps.delete(temp);
  }
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
    if (errorCode(error) === 'ENOENT') return false;
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

/** Maps a failure to give a complete temporary its final name. */
function commitError(error: unknown, final: string): UserError | undefined {
  switch (errorCode(error)) {
    case 'EACCES':
    case 'EPERM':
    case 'EBUSY':
      return new UserError(
        `Cannot write "${final}": the file or its folder is read-only, or the file is open in another program.`,
        ['Close any program that has the file open. ', ...CHOOSE_ANOTHER_FOLDER],
        'output-not-writable',
      );
    default:
      return folderError(error, path.dirname(final));
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
