import * as path from 'node:path';
import { sweepAbandonedWrites } from '../files/sweepAbandonedWrites.js';
import { CancelledError } from '../progress.js';
import { encodeOutput, type OutputFrames } from './encode.js';
import type { OutputFormat } from './outputFormats.js';
import { outputBaseName, plannedOutputPaths, type DxfEntityKind } from './outputs.js';
import { writeFilesSafely, type ExistingFilePolicy, type PendingFile } from './safeWrite.js';

/** Written where a format records what made the file (glTF asset, STEP header, OBJ/STL/PLY comments). */
export const GENERATOR = 'Image to 3D for VS Code';

export interface MeshOutputs {
  /** The image or mesh the files are named after, and written beside unless `outDir` is given. */
  readonly sourcePath: string;
  readonly outDir?: string;
  readonly formats: readonly OutputFormat[];
  /** The mesh in each frame; every format takes the one OUTPUT_FORMATS names. */
  readonly frames: OutputFrames;
  readonly dxfEntity: DxfEntityKind;
  /** The CAD mesh's tolerance in millimetres, for writers that fit surfaces within it (STEP). */
  readonly cadToleranceMm?: number;
  /** Other files that belong to the same result (a generation's input images), written with the models, after them. */
  readonly extraFiles?: readonly PendingFile[];
  readonly existing: ExistingFilePolicy;
  readonly signal?: AbortSignal;
  /** Marks temporary files so a host can sweep them if the run is killed. */
  readonly tag?: string;
}

/**
 * The last step of every run: the mesh encoded in each chosen format, named after its source, and
 * written with any extra files all or nothing. Returns the paths written, models first, in the order
 * of `formats`.
 */
export async function writeMeshOutputs(outputs: MeshOutputs): Promise<string[]> {
  const { sourcePath, formats } = outputs;
  const paths = plannedOutputPaths(sourcePath, formats, outputs.outDir);
  const options = { name: outputBaseName(sourcePath), generator: GENERATOR, dxfEntity: outputs.dxfEntity, cadToleranceMm: outputs.cadToleranceMm };
  const models: PendingFile[] = formats.map((format, i) => ({ path: paths[i]!, data: encodeOutput(format, outputs.frames, options) }));
  const files = [...models, ...(outputs.extraFiles ?? [])];
  // The run swept the folder when it started; a run killed there while this one worked is put right
  // now, before our files are judged against what it left.
  if (files.length > 0) {
    await sweepAbandonedWrites(path.dirname(files[0]!.path), outputs.signal).catch((err: unknown) => {
      if (err instanceof CancelledError) throw err;
    });
  }
  return writeFilesSafely(files, {
    existing: outputs.existing,
    signal: outputs.signal,
    tag: outputs.tag,
    // No policy replaces the file the run reads, whichever way an output name reaches it.
    sourceFiles: [sourcePath],
  });
}
