import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';

/**
 * Reads a file a .gltf refers to, by its path relative to the .gltf's folder as resolveResourceUri
 * gives it: decoded, '/'-separated, already free of absolute paths and ".." escapes. The readers take
 * bytes, never paths; a loader is how the caller, who owns the file system, lends them that folder.
 */
export type ResourceLoader = (relativePath: string) => Promise<Uint8Array>;

export interface FolderLoaderOptions {
  /** The converter's input limit: what the .gltf and every file read through this loader may come to together. */
  readonly maxBytes: number;
  /** Bytes already counted against it (the .gltf file itself). */
  readonly usedBytes?: number;
  /** How messages name the file whose references are read, e.g. "model.gltf"; "the glTF file" when absent. */
  readonly referrer?: string;
}

const ADVICE = 'Keep the .bin files next to the .gltf file, where the program that made it wrote them, or export the model as a single .glb file.';

/**
 * A loader for the files in `folder` and below it. A symbolic link is followed only when its target
 * is in the folder too: the check is on the real path (fs.realpath), and the file is then opened by
 * that real path without following a link at its end, so a link swapped in afterwards is not taken.
 */
export function folderResourceLoader(folder: string, options: FolderLoaderOptions): ResourceLoader {
  const referrer = options.referrer ?? 'the glTF file';
  let realFolder: Promise<string> | undefined;
  let used = options.usedBytes ?? 0;
  return async (relativePath) => {
    const shown = path.join(folder, ...relativePath.split('/'));
    if (!isInside(path.resolve(folder), path.resolve(shown))) {
      // resolveResourceUri refuses these already; a loader handed one by other code refuses it too.
      throw new UserError(`${shown} is outside ${folder}, the folder of ${referrer}: only files in that folder or below it are read.`, ADVICE, 'mesh-unreadable');
    }
    realFolder ??= fs.realpath(folder);
    let real: string;
    try {
      real = await fs.realpath(shown);
    } catch (err) {
      throw unreadable(shown, referrer, err);
    }
    if (!isInside(await realFolder, real)) {
      throw new UserError(
        `${shown}, which ${referrer} refers to, is a link to ${real}, outside the folder of ${referrer}: only files in that folder or below it are read.`,
        'Copy the file into the folder instead of linking to it, or export the model as a single .glb file.',
        'mesh-unreadable',
      );
    }
    let handle: fs.FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted under the buffer's name must not hang the converter before isFile() refuses it.
      handle = await fs.open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    } catch (err) {
      throw unreadable(shown, referrer, err);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new UserError(`${shown}, which ${referrer} refers to, is not a file.`, ADVICE, 'mesh-unreadable');
      if (used + stat.size > options.maxBytes) {
        throw new UserError(
          `Together with ${referrer}, the files it refers to come to more than the ${mebibytes(options.maxBytes)} MiB this converter reads (${shown} alone is ${mebibytes(stat.size)} MiB).`,
          'Simplify the mesh in the program that made it.',
          'mesh-too-large',
        );
      }
      used += stat.size;
      const data = await handle.readFile();
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } finally {
      await handle.close();
    }
  };
}

function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== '' && !path.isAbsolute(relative) && relative.split(path.sep)[0] !== '..';
}

function unreadable(shown: string, referrer: string, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new UserError(`${shown} is missing: ${referrer} keeps part of the model in it.`, ADVICE, 'mesh-unreadable');
  }
  return new UserError(
    `${shown}, which ${referrer} refers to, could not be opened (${code ?? String(err)}).`,
    'Check that the file exists and that you may read it.',
    'mesh-unreadable',
  );
}

function mebibytes(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0);
}
