import * as path from 'node:path';
import { UserError } from '../errors.js';
import { leftoversIn, recoverWrite } from './abandonedWrites.js';
import { acquireFolderLock } from './folderLock.js';
import { isWriteAbandoned } from './writeTag.js';

/**
 * The sweep every run makes of its output folder before it writes: what writers that died left there
 * is put right (abandonedWrites.ts). Kept apart from recoverWrite because it takes a folder lock, which
 * belongs in the pipeline process; the extension host only ever recovers its own jobs, by tag.
 */

/** Only one process puts a folder right at a time; the lock exists only while it does. */
const RECOVERY_LOCK = '.i3d-recovery.lock';

/**
 * Recovers every write in `dir` whose writer is gone; writes of live processes, of other machines, and
 * anything not named by our exact patterns are left alone. Returns how many temporaries were removed.
 */
export async function sweepAbandonedWrites(dir: string, signal?: AbortSignal): Promise<number> {
  const abandoned = new Set<string>();
  for (const { leftover } of await leftoversIn(dir)) if (isWriteAbandoned(leftover.tag)) abandoned.add(leftover.tag);
  if (abandoned.size === 0) return 0;
  // Two runs starting together must not both undo the same write: one could take away a file the
  // other had just renamed back.
  const release = await acquireFolderLock(path.join(dir, RECOVERY_LOCK), recoveryBusy, { whenBusy: 'wait', pollMs: 50, signal });
  try {
    let removed = 0;
    for (const tag of abandoned) removed += await recoverWrite(dir, tag);
    return removed;
  } finally {
    await release();
  }
}

function recoveryBusy(): UserError {
  // Only reached with whenBusy 'fail', which this module never asks for.
  return new UserError('Another run is tidying up this folder.', 'Try again in a moment.', 'output-not-writable');
}
