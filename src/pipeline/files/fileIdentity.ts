import { promises as fsp, type BigIntStats } from 'node:fs';
import * as path from 'node:path';

/**
 * Whether writing `candidate` would write the file `source`: the same folder entry however it is
 * spelled (through a symlinked folder, with `..`, in other letter case where the platform ignores
 * case), or the same file under another name (a hard link, or a symlink to it). Path spellings alone
 * miss all but the first.
 */
export async function isSameFile(candidate: string, source: string): Promise<boolean> {
  const [a, b] = await Promise.all([statOrUndefined(candidate), statOrUndefined(source)]);
  // Some file systems report no inode numbers (0); there only the place counts.
  if (a && b && a.ino !== 0n && a.dev === b.dev && a.ino === b.ino) return true;
  const [placeA, placeB] = await Promise.all([realPlace(candidate), realPlace(source)]);
  return samePath(placeA, placeB);
}

/** The path with its folder's symlinks resolved; the name itself is kept, since it may not exist yet. */
async function realPlace(file: string): Promise<string> {
  const absolute = path.resolve(file);
  try {
    return path.join(await fsp.realpath(path.dirname(absolute)), path.basename(absolute));
  } catch {
    return absolute;
  }
}

async function statOrUndefined(file: string): Promise<BigIntStats | undefined> {
  try {
    // stat, not lstat: a symlink to the source is the source for this purpose.
    return await fsp.stat(file, { bigint: true });
  } catch {
    return undefined;
  }
}

/** Case-insensitive where the platform's file systems usually are. */
function samePath(a: string, b: string): boolean {
  return process.platform === 'win32' || process.platform === 'darwin' ? a.toLowerCase() === b.toLowerCase() : a === b;
}
