import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { acquireFolderLock, type LockHolder } from '../../files/folderLock.js';

/**
 * One installer at a time per cache folder. Two VS Code windows asking at once would otherwise append
 * to the same `.part` and unpack into the same folder.
 */

const LOCK_NAME = '.cuda-provider.lock';

/** Takes the lock in `cacheDir` (which must exist), or throws 'provider-install-failed' when it is held. */
export function acquireInstallLock(cacheDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(cacheDir, LOCK_NAME);
  return acquireFolderLock(lockPath, (holder) => busy(lockPath, holder));
}

function busy(lockPath: string, holder: LockHolder | undefined): UserError {
  const who = holder ? ` (process ${holder.pid} on ${holder.hostname}, since ${holder.createdAt})` : '';
  return new UserError(
    `The CUDA provider is already being installed by another window or process${who}.`,
    `Wait for that installation to finish. If none is running, delete ${lockPath} and try again.`,
    'provider-install-failed',
  );
}
