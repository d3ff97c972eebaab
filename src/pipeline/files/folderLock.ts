import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { UserError } from '../errors.js';
import { CancelledError, throwIfAborted } from '../progress.js';

/**
 * One writer at a time in a folder, across windows and processes: an exclusively created lock file
 * holding its owner's pid and host. A lock left behind by a crashed process on this machine is taken
 * over; a lock from another machine sharing the folder is always respected, since its pid cannot be
 * checked from here.
 */

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the lock was taken; '' when the lock file does not say. */
  readonly createdAt: string;
}

export interface FolderLockOptions {
  readonly signal?: AbortSignal;
  /** When the lock is held: 'fail' (the default) throws `busy`'s error at once; 'wait' polls until it is free. */
  readonly whenBusy?: 'fail' | 'wait';
  /** How often a waiting call looks at the lock again, in ms. */
  readonly pollMs?: number;
}

/** A lock file without readable content younger than this is being written right now. */
const UNREADABLE_LOCK_GRACE_MS = 10_000;
const DEFAULT_POLL_MS = 500;

/**
 * Locks held by this process, by real path. Two windows are two processes, which the lock file's pid
 * tells apart; two calls inside one process share a pid, so they are told apart here.
 */
const heldHere = new Map<string, LockHolder>();

/**
 * Takes the lock file `lockPath` (whose folder must exist) and returns the function that releases it.
 * `busy` turns the current holder (undefined when the lock file cannot be read) into the error thrown
 * when the lock is taken and `whenBusy` is 'fail'.
 */
export async function acquireFolderLock(
  lockPath: string,
  busy: (holder: LockHolder | undefined) => UserError,
  options: FolderLockOptions = {},
): Promise<() => Promise<void>> {
  // Keyed by the real path: two callers reaching one folder by different spellings (a symlink, a
  // relative path) must see each other, or the second would take our own pid for a stale lock.
  const key = path.join(await fsp.realpath(path.dirname(lockPath)), path.basename(lockPath));
  for (;;) {
    throwIfAborted(options.signal);
    const ours = heldHere.get(key);
    if (ours === undefined) {
      const info: LockHolder = { pid: process.pid, hostname: os.hostname(), createdAt: new Date().toISOString() };
      // Claimed before the first await, so a second call in this process cannot slip in between
      // creating the file and writing our pid into it (and then take its own pid for a stale lock).
      heldHere.set(key, info);
      const claimed = await createLockFile(lockPath, info).catch((err: unknown) => {
        heldHere.delete(key);
        throw err;
      });
      if (claimed) {
        return async () => {
          await fsp.rm(lockPath, { force: true });
          heldHere.delete(key);
        };
      }
      heldHere.delete(key);
      const holder = await readLock(lockPath);
      if (await isStale(lockPath, holder)) {
        // Two processes noticing the same stale lock at the same moment could both remove it and the
        // second remove the first's new lock; that needs a crash plus a millisecond-wide race, and
        // what the lock guards must then survive two writers at once (its own checks catch it).
        await fsp.rm(lockPath, { force: true });
        continue;
      }
      if (options.whenBusy !== 'wait') throw busy(holder);
    } else if (options.whenBusy !== 'wait') {
      throw busy(ours);
    }
    await sleep(options.pollMs ?? DEFAULT_POLL_MS, options.signal);
  }
}

/** True when this call created the lock file; false when one exists. */
async function createLockFile(lockPath: string, info: LockHolder): Promise<boolean> {
  let handle;
  try {
    handle = await fsp.open(lockPath, 'wx');
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify(info));
  } finally {
    await handle.close();
  }
  return true;
}

async function readLock(lockPath: string): Promise<LockHolder | undefined> {
  try {
    const value: unknown = JSON.parse(await fsp.readFile(lockPath, 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname, createdAt } = value as Record<string, unknown>;
    if (!Number.isSafeInteger(pid) || typeof hostname !== 'string') return undefined;
    return { pid: pid as number, hostname, createdAt: typeof createdAt === 'string' ? createdAt : '' };
  } catch {
    return undefined;
  }
}

async function isStale(lockPath: string, holder: LockHolder | undefined): Promise<boolean> {
  if (holder === undefined) {
    const mtimeMs = await lockFileMtime(lockPath);
    // Gone meanwhile: not stale, simply free; the next round takes it.
    if (mtimeMs === undefined) return false;
    return Date.now() - mtimeMs > UNREADABLE_LOCK_GRACE_MS;
  }
  // A pid means nothing on another machine sharing the folder; only the user can tell.
  if (holder.hostname !== os.hostname()) return false;
  // Our own pid, yet not held by this process (checked before): left by an earlier process that had
  // the same pid, as happens in containers where every start gets the same low pid.
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: alive, but another user's.
    return errorCode(err) === 'ESRCH';
  }
}

/** The lock file's mtime, or undefined when it is gone or not a regular file. */
async function lockFileMtime(lockPath: string): Promise<number | undefined> {
  try {
    const stats = await fsp.stat(lockPath);
    return stats.isFile() ? stats.mtimeMs : undefined;
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
