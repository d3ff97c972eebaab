import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { plannedRunPaths } from './outputs.js';
import type { OutputFormat } from './outputFormats.js';
import type { ExistingFilePolicy } from './safeWrite.js';

/** Where a run's files go: next to their source unless `outDir` says otherwise. */
export interface OutputTarget {
  /** The image or mesh the outputs are named after. */
  readonly sourcePath: string;
  readonly outDir?: string;
  readonly formats: readonly OutputFormat[];
  /** The input images (`<name>.input.png`, `<name>.mask.png`) are written too. */
  readonly saveInput?: boolean;
  readonly existing: ExistingFilePolicy;
  /** Marks the probe file as this job's, like its temporaries. */
  readonly tag?: string;
}

/**
 * Fails fast, before minutes of work, on what would stop the write at the end: an output that
 * exists under the "fail" policy, or a folder we cannot create files in. The write re-checks both.
 */
export async function checkOutputsBeforeRun(request: OutputTarget): Promise<void> {
  const paths = plannedRunPaths(request.sourcePath, request.formats, request.outDir, request.saveInput);
  if (request.existing === 'fail') {
    // All of them, not the first: a front end that asks "replace or keep both?" asks once for the set.
    const existing: string[] = [];
    for (const file of paths) if (await exists(file)) existing.push(file);
    if (existing.length > 0) {
      const one = existing.length === 1;
      throw new UserError(
        `${existing.join(', ')} already ${one ? 'exists' : 'exist'} and would be overwritten.`,
        [`Move or rename ${one ? 'it' : 'them'}, or choose suffix or overwrite for existing files with `, { option: 'existing' }, '.'],
        'output-exists',
        { existingFiles: existing },
      );
    }
  }
  const dir = path.dirname(paths[0]);
  const probe = path.join(dir, `.probe.${request.tag ?? process.pid}.i3d-tmp`);
  try {
    // An explicit output folder is created on demand, as `mkdir -p` would.
    if (request.outDir) await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(probe, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY);
    await handle.close();
    await fs.unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UserError(
      `Cannot create files in the folder ${dir} (${code}).`,
      [{ action: 'choose-output-folder' }, '.'],
      'output-not-writable',
    );
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}
