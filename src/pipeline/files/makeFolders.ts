/**
 * `mkdir -p` that always settles. Node 20's `fs.mkdir(dir, { recursive: true })` never settles when a
 * parent exists but refuses children with ENOENT (/proc, some FUSE mounts): it retries the same step
 * for ever. Here each level is created once, from the nearest existing parent down, and a level that
 * still cannot be made is an error that says which.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function makeFolders(dir: string): Promise<void> {
  const target = path.resolve(dir);
  try {
    await fs.mkdir(target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await fs.stat(target)).isDirectory()) return;
      throw err;
    }
    if (code !== 'ENOENT') throw err;
  }
  const parent = path.dirname(target);
  // The root itself does not exist (a missing drive): nothing above to create.
  if (parent === target) throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${target}'`), { code: 'ENOENT', path: target });
  await makeFolders(parent);
  try {
    await fs.mkdir(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await fs.stat(target)).isDirectory()) return;
    throw err;
  }
}
