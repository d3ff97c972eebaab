import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors.js';

/**
 * One installer at a time per cache folder. Two VS Code windows asking at once would otherwise append
 * to the same `.part` and unpack into the same folder. The lock file holds the owner's pid and host, so a
 * lock left behind by a crashed process on this machine is recognised and taken over.
 */

const LOCK_NAME = '.cuda-provider.lock';
/** A lock file still without readable content after this long was not being written; its writer died. */
const UNREADABLE_GRACE_MS = 10_000;

interface LockInfo {
  readonly pid: number;
  readonly hostname: string;
  readonly createdAt: string;
}

/** Held by this process; a second call here must not take our own pid for a dead owner. */
const heldHere = new Set<string>();

export async function acquireInstallLock(cacheDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(cacheDir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!heldHere.has(lockPath) && (await tryCreate(lockPath))) {
      heldHere.add(lockPath);
      return async () => {
        heldHere.delete(lockPath);
        await fsp.rm(lockPath, { force: true });
      };
    }
    const holder = await readLock(lockPath);
    if (heldHere.has(lockPath) || !(await isStale(lockPath, holder))) throw busy(lockPath, holder);
    await fsp.rm(lockPath, { force: true });
  }
  throw busy(lockPath, undefined);
}

async function tryCreate(lockPath: string): Promise<boolean> {
  let handle;
  try {
    handle = await fsp.open(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    const info: LockInfo = { pid: process.pid, hostname: os.hostname(), createdAt: new Date().toISOString() };
    await handle.writeFile(JSON.stringify(info));
  } finally {
    await handle.close();
  }
  return true;
}

async function readLock(lockPath: string): Promise<LockInfo | undefined> {
  try {
    const value: unknown = JSON.parse(await fsp.readFile(lockPath, 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname, createdAt } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof hostname !== 'string' || typeof createdAt !== 'string') return undefined;
    return { pid, hostname, createdAt };
  } catch {
    return undefined;
  }
}

async function isStale(lockPath: string, holder: LockInfo | undefined): Promise<boolean> {
  if (!holder) {
    const stats = await fsp.stat(lockPath).catch(() => undefined);
    return stats === undefined || Date.now() - stats.mtimeMs > UNREADABLE_GRACE_MS;
  }
  // A process on another machine (a shared home folder) cannot be checked; its lock is respected.
  if (holder.hostname !== os.hostname()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function busy(lockPath: string, holder: LockInfo | undefined): UserError {
  const who = holder ? ` (process ${holder.pid} on ${holder.hostname}, since ${holder.createdAt})` : '';
  return new UserError(
    `The CUDA provider is already being installed by another window or process${who}.`,
    `Wait for that installation to finish. If none is running, delete ${lockPath} and try again.`,
    'provider-install-failed',
  );
}
