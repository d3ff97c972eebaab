import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Flushing to disk, so that after a power loss a file's final name (given by a rename or link) never
 * stands over content that had not been written yet.
 */

/** Flushes a file's content; throws when the file cannot be opened or flushed. */
export async function syncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (new names from renames and links) where the platform allows it. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Not every platform or file system lets a folder be opened and flushed (Windows cannot); the
    // renames themselves are still atomic, and the files' content was flushed on its own.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
