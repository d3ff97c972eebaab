import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { errorCode, readJournal, undoEntries } from './writeJournal.js';
import { parseLeftoverName, type Leftover } from './writeNames.js';

/**
 * Putting right what a write that died left in its folder (see writeNames.ts for the names and
 * safeWrite.ts for the protocol). Two cases, told apart by the journal:
 *
 *  - journal present: the set was not committed. Every change it records is undone, newest first:
 *    placed files taken away (only where the name still holds our file), earlier files renamed back
 *    from their backups (or, where another program has taken the name since, kept beside it as
 *    "<name> (earlier).<ext>"), then temporaries and journal are removed. If any step fails,
 *    everything stays for the next attempt; each step can be repeated, so a recovery cut short is
 *    simply run again.
 *  - no journal: the write either never reached its first final name (only temporaries) or had
 *    committed (the new files are in place, backups and temporaries still around). Temporaries go; a
 *    backup goes only when its final name holds a file, and is renamed back otherwise, so an earlier
 *    file is never lost whatever the state.
 */

/**
 * Recovers the write tagged `tag` in `dir`, whose writer must be gone (the caller knows: it killed it,
 * or isWriteAbandoned said so). Returns how many temporaries were removed.
 */
export async function recoverWrite(dir: string, tag: string): Promise<number> {
  const journal = await readJournal(dir, tag);
  if (journal !== undefined) {
    const undone = await undoEntries(dir, journal);
    if (!undone.complete) return 0;
  }
  const leftovers = (await leftoversIn(dir)).filter(({ leftover }) => leftover.tag === tag);
  let settled = true;
  for (const { entry, leftover } of leftovers) {
    if (leftover.kind !== 'backup') continue;
    settled = (await settleBackup(dir, entry.name, leftover.finalName, journal === undefined)) && settled;
  }
  // A backup left standing keeps the journal too, or the next sweep would take it for a committed
  // write's and remove it.
  if (!settled) return 0;
  let removed = 0;
  for (const { entry, leftover } of leftovers) {
    if (leftover.kind !== 'temporary' || !entry.isFile()) continue;
    if (await removeIfPresent(path.join(dir, entry.name))) removed++;
  }
  for (const { entry, leftover } of leftovers) {
    if (leftover.kind === 'journal' && entry.isFile()) await removeIfPresent(path.join(dir, entry.name));
  }
  return removed;
}

/**
 * The backup `backupEntry` of `finalName` once the journal's changes are undone: true when it is gone.
 * Only a committed write's backup is ever deleted, and only with a file at its final name; one the
 * journal did not account for is kept.
 */
async function settleBackup(dir: string, backupEntry: string, finalName: string, committed: boolean): Promise<boolean> {
  const backup = path.join(dir, backupEntry);
  const final = path.join(dir, finalName);
  try {
    try {
      await fsp.lstat(final);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      // Nothing at the final name: the earlier file goes back rather than away.
      await fsp.rename(backup, final);
      return true;
    }
    if (!committed) return false;
    await fsp.unlink(backup);
    return true;
  } catch (err) {
    return errorCode(err) === 'ENOENT';
  }
}

export interface FoundLeftover {
  readonly entry: Dirent;
  readonly leftover: Leftover;
}

/**
 * Entries of `dir` named as our leftovers: temporaries and journals are regular files; a backup is
 * whatever stood at the final name (a file or a symlink), never a folder.
 */
export async function leftoversIn(dir: string): Promise<FoundLeftover[]> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return [];
    throw err;
  }
  const found: FoundLeftover[] = [];
  for (const entry of entries) {
    const leftover = parseLeftoverName(entry.name);
    if (!leftover) continue;
    if (leftover.kind === 'backup' ? entry.isDirectory() : !entry.isFile()) continue;
    found.push({ entry, leftover });
  }
  return found;
}

async function removeIfPresent(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}
