import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Mesh } from './mesh/mesh.js';
import { vertexNormals } from './mesh/normals.js';
import { meshMetrics, type MeshMetrics } from './mesh/metrics.js';
import { srgbToLinear } from './mesh/colour.js';
import { folderResourceLoader, readMeshFile } from './readers/index.js';
import { MESH_FILE_EXTENSIONS, meshFormatLabel, meshFormatOfPath, type LengthUnit, type MeshFileFormat, type UpAxis } from './readers/formats.js';
import { cadToGltf, toCadFrame } from './mesh/transform.js';
import { checkTriangleLimits } from './writers/encode.js';
import type { OutputFormat } from './writers/outputFormats.js';
import { formatsOtherThanSource, type DxfEntityKind } from './writers/outputs.js';
import { checkOutputsBeforeRun } from './writers/outputCheck.js';
import type { ExistingFilePolicy } from './writers/safeWrite.js';
import { writeMeshOutputs } from './writers/writeOutputs.js';
import { isAllocationFailure, refusedLength } from './memory.js';
import { fileErrorReason, fileUserError } from './files/fileErrors.js';
import { UserError } from './errors.js';
import { stageTimer, type ProgressSink, type Stage } from './progress.js';
import { cadToleranceMm, CONVERT_DEFAULTS } from './generateOptions.js';
import { decimate } from './mesh/decimate.js';
import { longestSide, simplifyToTolerance } from './mesh/simplifyToTolerance.js';
import { cadMeshTriangleLimit, needsCadMesh } from './writers/outputFormats.js';
import type { CadMeshReport } from './run.js';

const MILLIMETRES_PER_UNIT: Readonly<Record<LengthUnit, number>> = { mm: 1, cm: 10, m: 1000, in: 25.4 };

/** A mesh file to convert, as plain data (it crosses the worker boundary). */
export interface ConvertRequest {
  readonly meshPath: string;
  /** Folder for the outputs; the mesh's own folder when absent. */
  readonly outDir?: string;
  readonly formats: readonly OutputFormat[];
  /** Up axis of the file; by its format when absent (glTF: Y, by its specification; others: Z). */
  readonly up?: UpAxis;
  /** Units of the file; by its format when absent (glTF: metres; others: millimetres). */
  readonly units?: LengthUnit;
  readonly dxfEntity?: DxfEntityKind;
  /** STEP and DXF: deviation allowed from the file's mesh, in millimetres; 0 or absent: auto (cadToleranceMm). */
  readonly cadTolerance?: number;
  /** GLB, OBJ, STL, PLY: simplify to about this many triangles; 0 or absent: as the file has them. */
  readonly targetTriangles?: number;
  readonly existing: ExistingFilePolicy;
  /** Marks temporary files so a host can sweep them if the run is killed. */
  readonly tag?: string;
  /** Ceiling on the size of the file read, in bytes. */
  readonly maxInputBytes?: number;
}

export interface ConvertContext {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressSink;
}

export interface ConvertResult {
  readonly files: string[];
  /** The mesh in glTF's frame (Y up, metres), for a preview. */
  readonly preview: Mesh;
  /** Measured in the CAD frame, in millimetres. */
  readonly metrics: MeshMetrics;
  /** The mesh STEP and DXF got, when one of them was written. */
  readonly cad?: CadMeshReport;
  readonly sourceFormat: MeshFileFormat;
  /** How the file was read: its axes and units, and anything skipped or repaired. */
  readonly notes: string[];
  /** Formats not written because the output would have replaced the source itself. */
  readonly skipped: OutputFormat[];
  readonly timingsMs: Partial<Record<Stage, number>>;
}

/** Large enough for any mesh the writers accept (STL at 50 bytes a triangle for tens of millions). */
const DEFAULT_MAX_INPUT_BYTES = 2 ** 31;

/**
 * Converts an existing mesh file (OBJ, STL, PLY, glTF/GLB) to the chosen formats, written next to it.
 * Positions keep their place and size: a part converted from STL lands where it was, in the same
 * millimetres, which is what a CAD user assembling parts needs. Only axes and units are brought to
 * each format's convention.
 */
export async function convertMeshFile(request: ConvertRequest, context: ConvertContext = {}): Promise<ConvertResult> {
  const { signal } = context;
  const report: ProgressSink = (p) => context.onProgress?.(p);
  const { timings, timed } = stageTimer(signal);

  const format = meshFileFormat(request.meshPath);
  const { formats, skipped } = await formatsOtherThanSource(request.meshPath, request.formats, request.outDir);
  if (formats.length === 0) {
    throw new UserError(
      `Converting ${path.basename(request.meshPath)} to ${request.formats.map((f) => f.toUpperCase()).join(', ')} would only replace the file itself.`,
      'Choose other output formats, or another output folder.',
      'invalid-option',
    );
  }
  const target = { sourcePath: request.meshPath, outDir: request.outDir, formats, existing: request.existing, tag: request.tag };
  await checkOutputsBeforeRun(target);

  report({ stage: 'read', fraction: 0, message: `Reading ${path.basename(request.meshPath)}` });
  const read = await timed('read', async () => {
    const maxBytes = request.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
    const bytes = await readSource(request.meshPath, maxBytes);
    // A .gltf's buffers sit beside it and count toward the same limit.
    const resources = folderResourceLoader(path.dirname(request.meshPath), { maxBytes, usedBytes: bytes.length, referrer: path.basename(request.meshPath) });
    try {
      return await readMeshFile(bytes, format, { resources });
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(
        `${request.meshPath} could not be read as ${meshFormatLabel(request.meshPath)}: ${readFailureReason(err)}`,
        'Check that the file is complete and really is in the format its extension says; re-export it from the program that made it.',
        'mesh-unreadable',
      );
    }
  });
  if (read.mesh.indices.length === 0) {
    throw new UserError(
      `${request.meshPath} holds no triangles.`,
      'Only surfaces can be converted: export faces, not just points or lines.',
      'mesh-unreadable',
    );
  }

  const up = request.up ?? (format === 'glb' ? 'y' : 'z');
  const units = request.units ?? (format === 'glb' ? 'm' : 'mm');
  const full = toCadFrame(read.mesh, up, MILLIMETRES_PER_UNIT[units]);
  const simplifyNotes: string[] = [];
  const triangleTarget = request.targetTriangles ?? CONVERT_DEFAULTS.targetTriangles;
  const fullFaces = full.indices.length / 3;
  const displayFormats = formats.filter((f) => !needsCadMesh([f]));
  let cad = full;
  if (triangleTarget > 0 && fullFaces > triangleTarget && displayFormats.length > 0) {
    report({ stage: 'read', fraction: 0.5, message: `Simplifying ${fullFaces.toLocaleString('en')} triangles to ${triangleTarget.toLocaleString('en')}` });
    cad = decimate(full, triangleTarget, { signal, preserveBoundary: true });
    simplifyNotes.push(
      `${displayFormats.map((f) => f.toUpperCase()).join(', ')} simplified from ${fullFaces.toLocaleString('en')} to ${(cad.indices.length / 3).toLocaleString('en')} triangles`,
    );
  }
  let cadReport: CadMeshReport | undefined;
  let cadMesh: Mesh | undefined;
  if (needsCadMesh(formats)) {
    const toleranceMm = cadToleranceMm(request.cadTolerance ?? CONVERT_DEFAULTS.cadTolerance, longestSide(full.positions));
    report({ stage: 'read', fraction: 0.75, message: `Simplifying for CAD to ${toleranceMm.toPrecision(3)} mm` });
    cadMesh = await timed('read', async () => simplifyToTolerance(full, toleranceMm, { signal, maxFaces: cadMeshTriangleLimit(formats) }));
    cadReport = { toleranceMm, metrics: meshMetrics(cadMesh) };
    simplifyNotes.push(
      `${formats.filter((f) => needsCadMesh([f])).map((f) => f.toUpperCase()).join(', ')} simplified to within ${toleranceMm.toPrecision(3)} mm: ${cadReport.metrics.faces.toLocaleString('en')} of ${fullFaces.toLocaleString('en')} triangles`,
    );
  }
  const metrics = meshMetrics(cad);
  checkTriangleLimits(displayFormats, metrics.faces, ['Simplify the mesh (', { option: 'targetTriangles' }, '), or in the program that made it']);
  if (cadReport) checkTriangleLimits(formats.filter((f) => needsCadMesh([f])), cadReport.metrics.faces, ['Raise the CAD tolerance (', { option: 'cadTolerance' }, ')']);
  const gltfFrame = cadToGltf(cad);
  const gltf: Mesh = { ...gltfFrame, colors: cad.colors ? srgbToLinear(cad.colors) : undefined };

  report({ stage: 'write', fraction: 0, message: 'Writing the files' });
  const files = await timed('write', () =>
    writeMeshOutputs({
      sourcePath: request.meshPath,
      outDir: request.outDir,
      formats,
      frames: { cad, gltf, cadMesh },
      dxfEntity: request.dxfEntity ?? CONVERT_DEFAULTS.dxfEntity,
      cadToleranceMm: cadReport?.toleranceMm,
      existing: request.existing,
      signal,
      tag: request.tag,
    }),
  );

  const notes = [
    `Read as ${meshFormatLabel(request.meshPath)}, ${up.toUpperCase()} up, in ${units === 'm' ? 'metres' : units}`,
    ...read.notes,
    ...simplifyNotes,
    ...skipped.map((f) => `${f.toUpperCase()} not written: it would have replaced the source file`),
  ];
  return {
    files,
    preview: { ...gltf, normals: vertexNormals(gltf.positions, gltf.indices) },
    metrics,
    cad: cadReport,
    sourceFormat: format,
    notes,
    skipped,
    timingsMs: timings,
  };
}

/** The mesh format a path names by its extension, or a UserError that lists the ones understood. */
export function meshFileFormat(meshPath: string): MeshFileFormat {
  const format = meshFormatOfPath(meshPath);
  if (!format) {
    throw new UserError(
      `${path.basename(meshPath)} is not a mesh file Image to 3D reads.`,
      `Convert ${MESH_FILE_EXTENSIONS.map((ext) => `.${ext}`).join(', ')} files.`,
      'invalid-option',
    );
  }
  return format;
}

async function readSource(meshPath: string, maxBytes: number): Promise<Uint8Array> {
  let stats: Stats;
  try {
    stats = await fs.stat(meshPath);
  } catch (err) {
    throw new UserError(
      `${meshPath} could not be opened: ${fileErrorReason(err) ?? (err instanceof Error ? err.message : String(err))}.`,
      'Check that the file exists and that you may read it.',
      'mesh-unreadable',
    );
  }
  if (stats.isDirectory()) throw new UserError(`${meshPath} is a folder, not a mesh file.`, 'Choose the mesh file itself.', 'mesh-unreadable');
  const size = stats.size;
  if (size > maxBytes) {
    throw new UserError(
      `${meshPath} is ${(size / 2 ** 20).toFixed(0)} MiB, more than the ${(maxBytes / 2 ** 20).toFixed(0)} MiB this converter reads.`,
      'Simplify the mesh in the program that made it, or export it in a binary format (binary STL or PLY, GLB).',
      'mesh-too-large',
    );
  }
  try {
    return new Uint8Array(await fs.readFile(meshPath));
  } catch (err) {
    throw fileUserError(err, `${meshPath} could not be read`, { code: 'mesh-unreadable' }) ?? err;
  }
}

/**
 * Why a reader gave up, for the message. A count in a header that does not fit in memory (a damaged
 * file announcing billions of vertices) shows up as V8's "Invalid typed array length: N"; the user
 * needs to hear that the file asks for too much, not the engine's words.
 */
function readFailureReason(err: unknown): string {
  if (isAllocationFailure(err)) {
    const length = refusedLength(err);
    return `it announces more data than fits in memory${length === undefined ? '' : ` (${length.toLocaleString('en')} values)`}, so its header is probably damaged.`;
  }
  return err instanceof Error ? err.message : String(err);
}
