import sharp from 'sharp';
import { decodeImage, probeImage } from './image/decode.js';
import { networkInput, networkInputPreview, NETWORK_IMAGE_SIZE } from './image/frame.js';
import { isolateObject, loadSegmenter, needsBackgroundRemoval, type IsolatedObject, type Segmenter } from './image/background.js';
import type { BackgroundMode } from './image/backgroundOptions.js';
import { cadToleranceMm, GENERATE_DEFAULTS, type SamplingMode } from './generateOptions.js';
import { longestSide, simplifyToTolerance } from './mesh/simplifyToTolerance.js';
import type { SegmentationNetwork } from './image/segmentation.js';
import { prepareSegmentationModel, type SegmentationModelSpec } from './network/segmentationSource.js';
import type { LoadedModel } from './network/session.js';
import { sampleDenseGrid, gridIndexToWorld } from './surface/grid.js';
import { marchingCubes } from './surface/marchingCubes.js';
import { sampleCoarseToFine, type RepairStats } from './surface/coarseToFine.js';
import type { Mesh } from './mesh/mesh.js';
import { vertexNormals } from './mesh/normals.js';
import { meshMetrics, type MeshMetrics } from './mesh/metrics.js';
import { toFrame } from './mesh/transform.js';
import { processMesh, type ProcessingReport } from './mesh/process.js';
import { srgbToLinear } from './mesh/colour.js';
import { checkTriangleLimits } from './writers/encode.js';
import { cadMeshTriangleLimit, needsCadMesh, type OutputFormat } from './writers/outputFormats.js';
import { inputImagePaths, type DxfEntityKind } from './writers/outputs.js';
import { checkOutputsBeforeRun, type OutputTarget } from './writers/outputCheck.js';
import type { ExistingFilePolicy, PendingFile } from './writers/safeWrite.js';
import { writeMeshOutputs } from './writers/writeOutputs.js';
import { UserError } from './errors.js';
import { explainOutOfMemory } from './memory.js';
import { stageTimer, throwIfAborted, type ProgressSink, type Stage } from './progress.js';

/** TripoSR's world box: the decoder is queried inside ±0.87 on each axis. */
export const WORLD_RADIUS = 0.87;

/** Everything a run needs to know, as plain data (it crosses the worker boundary). */
export interface GenerateRequest {
  readonly imagePath: string;
  /** Folder for the outputs; the image's own folder when absent. */
  readonly outDir?: string;
  readonly formats: readonly OutputFormat[];
  /** Grid points per axis for surface extraction. */
  readonly resolution: number;
  /** Density at the surface (TripoSR: 25). */
  readonly threshold: number;
  /** 'adaptive': coarse grid first, full resolution only near the surface; GENERATE_DEFAULTS.sampling when absent. */
  readonly sampling?: SamplingMode;
  /** Taubin smoothing passes; 0 or absent: none. */
  readonly smoothingIterations?: number;
  /** Pieces with less than this share of the largest piece's area are dropped; 0 or absent: keep all. */
  readonly floaterFraction?: number;
  /** Decimate to about this many triangles; 0 or absent: keep all. */
  readonly targetTriangles?: number;
  /** Length of the longest side of the result, in millimetres. */
  readonly longestSideMm: number;
  /**
   * How far STEP and DXF may deviate from the full-resolution mesh, in millimetres; 0 or absent:
   * auto (cadToleranceMm in generateOptions.ts).
   */
  readonly cadTolerance?: number;
  readonly existing: ExistingFilePolicy;
  /** How DXF files hold the mesh; GENERATE_DEFAULTS.dxfEntity when absent. */
  readonly dxfEntity?: DxfEntityKind;
  /**
   * Background removal: `mode` says when (auto: unless the image has real transparency), `model` which
   * network. Absent: the image is used as it is, its alpha (if any) marking the object.
   */
  readonly background?: { readonly mode: BackgroundMode; readonly model: SegmentationModelSpec };
  /** Share of the square frame the object's longer side fills (TripoSR's foreground_ratio); GENERATE_DEFAULTS.foregroundRatio when absent. */
  readonly foregroundRatio?: number;
  /** Also write `<name>.input.png` (the 512² image the encoder took) and `<name>.mask.png` (the object's mask). */
  readonly saveInput?: boolean;
  /** Marks temporary files so a host can sweep them if the run is killed. */
  readonly tag?: string;
  /** Ceiling on decoded image pixels. */
  readonly maxInputPixels?: number;
}

/** Opens (or hands back an open) background-removal network; a host keeps them warm between runs. */
export type SegmenterLoader = (file: string, network: SegmentationNetwork) => Promise<Segmenter>;

export interface RunContext {
  readonly model: LoadedModel;
  /**
   * How to open the background-removal network. Absent: opened for this run on the model's provider
   * and closed after it.
   */
  readonly loadSegmenter?: SegmenterLoader;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressSink;
  /**
   * The caller ran preflight() for this request moments ago: the outputs are not probed again before
   * the run (the write itself still refuses to replace a file that appeared meanwhile).
   */
  readonly preflightDone?: boolean;
}

export interface GenerateResult {
  readonly files: string[];
  /** The mesh in glTF's frame (Y up, metres), for a preview. */
  readonly preview: Mesh;
  /** Measured on the CAD-frame mesh, in millimetres. */
  readonly metrics: MeshMetrics;
  /** The mesh STEP and DXF got, when one of them was written: its tolerance (mm) and measures. */
  readonly cad?: CadMeshReport;
  readonly provider: string;
  readonly modelKind: string;
  readonly timingsMs: Partial<Record<Stage, number>>;
  /** What the mesh stage changed: floaters removed, holes closed, triangles before simplification. */
  readonly processing: ProcessingReport;
  readonly sampling: SamplingReport;
  readonly input: InputReport;
}

export interface CadMeshReport {
  readonly toleranceMm: number;
  readonly metrics: MeshMetrics;
}

/** What the network was shown. */
export interface InputReport {
  /** The 512² RGB image the encoder took, as PNG bytes (for a preview). */
  readonly png: Uint8Array;
  /** The network that removed the background; absent when the image was used as it is. */
  readonly backgroundRemovedWith?: SegmentationNetwork;
  /** Share of the source image the object covers. */
  readonly objectShare: number;
}

export interface SamplingReport {
  /** Density queries spent on the grid (a dense grid spends resolution³). */
  readonly queries: number;
  /** Adaptive sampling only: what its local repair, surface following and band pass cost. */
  readonly repair?: RepairStats;
}

const DECODER_BATCH = 262_144;
/**
 * Memory per grid point while the surface is sampled and extracted: the float field and the sampler's
 * state byte, plus the extraction's working arrays; about 1.2 GB at 512³ (generateOptions.ts).
 */
const SURFACE_BYTES_PER_GRID_POINT = 9;

export async function generateFromImage(request: GenerateRequest, context: RunContext): Promise<GenerateResult> {
  const { model, signal } = context;
  const report = context.onProgress ?? (() => undefined);
  const { timings, timed } = stageTimer(signal);

  if (!context.preflightDone) await checkOutputsBeforeRun(outputTarget(request));
  report({ stage: 'image', fraction: 0, message: 'Reading the image' });
  const decoded = await timed('image', () => decodeImage(request.imagePath, request.maxInputPixels));

  const background = request.background;
  let segmenter: Segmenter | undefined;
  let closeSegmenter = false;
  if (background && needsBackgroundRemoval(decoded, background.mode)) {
    report({ stage: 'background', fraction: 0, message: `Getting the ${background.model.network} background remover ready` });
    // The network's download and check belong to this stage (TripoSR is ready by now): they fill the
    // first half of its bar, the download most of it, and running the network the second half.
    const file = await prepareSegmentationModel(background.model, {
      signal,
      log: context.log,
      onProgress: (p) =>
        report({ ...p, stage: 'background', fraction: p.stage === 'download' ? 0.45 * p.fraction : 0.45 + 0.05 * p.fraction }),
    });
    throwIfAborted(signal);
    closeSegmenter = context.loadSegmenter === undefined;
    segmenter = await (context.loadSegmenter ?? ((f, n) => loadSegmenter(f, n, { executionProviders: [model.provider], log: context.log })))(
      file,
      background.model.network,
    );
  }
  let isolated: IsolatedObject;
  try {
    if (segmenter) report({ stage: 'background', fraction: 0.5, message: `Removing the background (${segmenter.network}, ${segmenter.provider})` });
    isolated = await timed(segmenter ? 'background' : 'image', () => isolateObject(decoded, segmenter, signal));
  } finally {
    if (closeSegmenter) await segmenter?.dispose();
  }
  const foregroundRatio = request.foregroundRatio ?? GENERATE_DEFAULTS.foregroundRatio;
  const input = await timed('image', () => networkInput(isolated.image, foregroundRatio));
  const inputPng = await timed('image', () => inputPreviewPng(input));

  report({ stage: 'encode', fraction: 0, message: `Running the encoder (${model.provider})` });
  const sceneCodes = await timed('encode', () => model.encode(input));

  const resolution = request.resolution;
  report({ stage: 'surface', fraction: 0, message: `Sampling the density on a ${resolution}³ grid` });
  let peakDensity = -Infinity;
  const query = async (points: Float32Array): Promise<Float32Array> => {
    const { density } = await model.decode(sceneCodes, points);
    for (let i = 0; i < density.length; i++) if (density[i] > peakDensity) peakDensity = density[i];
    return density;
  };
  const sampling = {
    radius: WORLD_RADIUS,
    batchSize: DECODER_BATCH,
    signal,
    onProgress: (fraction: number) =>
      report({ stage: 'surface', fraction, message: `Sampling the density (${Math.round(fraction * 100)}%)` }),
  };
  let samplingReport: SamplingReport = { queries: resolution ** 3 };
  // The grid is the run's one allocation that grows with the cube of a choice the user made.
  const gridMemory = <T>(work: () => Promise<T>): Promise<T> =>
    explainOutOfMemory(work, `the ${resolution}³ surface grid`, SURFACE_BYTES_PER_GRID_POINT * resolution ** 3, [
      'Lower the resolution (',
      { option: 'resolution' },
      `; now ${resolution}), or close other programs and try again.`,
    ]);
  const field = await timed('surface', () =>
    gridMemory(async () => {
      if ((request.sampling ?? GENERATE_DEFAULTS.sampling) === 'dense') return sampleDenseGrid(query, resolution, sampling);
      const adaptive = await sampleCoarseToFine(query, resolution, request.threshold, sampling);
      samplingReport = { queries: adaptive.queries, repair: adaptive.repair };
      return adaptive.field;
    }),
  );

  report({ stage: 'mesh', fraction: 0, message: 'Extracting the surface' });
  const raw = await timed('mesh', () => gridMemory(async () => marchingCubes(field, [resolution, resolution, resolution], request.threshold)));
  if (raw.indices.length === 0) {
    throw new UserError(
      `The density never reaches the threshold ${request.threshold} (its peak is ${peakDensity.toPrecision(4)}), so there is no surface.`,
      ['Lower the threshold (', { option: 'threshold' }, `) below ${peakDensity.toPrecision(3)}.`],
      'no-surface',
    );
  }
  const processed = await timed('mesh', async () =>
    processMesh(
      { positions: gridIndexToWorld(raw.positions, resolution, WORLD_RADIUS), indices: raw.indices },
      {
        floaterFraction: request.floaterFraction,
        smoothingIterations: request.smoothingIterations,
        targetTriangles: request.targetTriangles,
      },
      { signal, onProgress: (fraction, message) => report({ stage: 'mesh', fraction, message }) },
    ),
  );
  const { positions, indices } = processed.mesh;

  // STEP and DXF get their own mesh, simplified from the full-resolution one to a distance in
  // millimetres; the network frame's units relate to them through the display mesh's longest side,
  // which toFrame scales to longestSideMm.
  const cadToleranceMillimetres = cadToleranceMm(request.cadTolerance ?? GENERATE_DEFAULTS.cadTolerance, request.longestSideMm);
  const cadWorld = needsCadMesh(request.formats)
    ? await timed('mesh', async () => {
        report({ stage: 'mesh', fraction: 0.95, message: `Simplifying for CAD to ${cadToleranceMillimetres.toPrecision(3)} mm` });
        const worldPerMm = longestSide(positions) / request.longestSideMm;
        return simplifyToTolerance(processed.full, cadToleranceMillimetres * worldPerMm, { signal, maxFaces: cadMeshTriangleLimit(request.formats) });
      })
    : undefined;

  // Colours come from the network at the final vertices, after smoothing and simplification moved them.
  report({ stage: 'colour', fraction: 0, message: 'Colouring the vertices' });
  const colourAt = async (points: Float32Array): Promise<Float32Array> => {
    const out = new Float32Array(points.length);
    for (let start = 0; start < points.length; start += DECODER_BATCH * 3) {
      throwIfAborted(signal);
      const chunk = points.subarray(start, Math.min(points.length, start + DECODER_BATCH * 3));
      const { color } = await model.decode(sceneCodes, chunk);
      out.set(color, start);
    }
    return out;
  };
  const colors = await timed('colour', () => colourAt(positions));
  const cadColors = cadWorld ? await timed('colour', () => colourAt(cadWorld.positions)) : undefined;

  // Simplification leaves fresh normals on the mesh it returns; only a mesh it did not touch needs them
  // computed. toFrame rotates them into each frame rather than computing them again.
  const normals = processed.mesh.normals ?? vertexNormals(positions, indices);
  const mesh: Mesh = { positions, indices, colors, normals };
  const cad = toFrame(mesh, 'cad', request.longestSideMm);
  const gltfFrame = toFrame(mesh, 'gltf', request.longestSideMm);
  const gltf: Mesh = { ...gltfFrame, colors: srgbToLinear(colors) };
  const metrics = meshMetrics(cad);
  // Placed by the display mesh so both land on the same spot at the same scale.
  const cadMesh = cadWorld ? toFrame({ ...cadWorld, colors: cadColors }, 'cad', request.longestSideMm, positions) : undefined;
  const cadReport: CadMeshReport | undefined = cadMesh ? { toleranceMm: cadToleranceMillimetres, metrics: meshMetrics(cadMesh) } : undefined;

  // Each format is held to the limit for the mesh it will be written with.
  if (cadReport) checkTriangleLimits(request.formats.filter((f) => needsCadMesh([f])), cadReport.metrics.faces, ['Raise the CAD tolerance (', { option: 'cadTolerance' }, ')']);
  checkTriangleLimits(
    cadReport ? request.formats.filter((f) => !needsCadMesh([f])) : request.formats,
    metrics.faces,
    [
      'Lower the target triangle count (',
      { option: 'targetTriangles' },
      ') or the resolution (',
      { option: 'resolution' },
      `; now ${resolution})`,
    ],
  );

  report({ stage: 'write', fraction: 0, message: 'Writing the files' });
  const files = await timed('write', async () => {
    const extraFiles: PendingFile[] = [];
    if (request.saveInput) {
      const images = inputImagePaths(request.imagePath, request.outDir);
      // One 8-bit grey channel: sharp would otherwise widen a one-channel raw image to sRGB.
      const maskPng = await sharp(isolated.mask, { raw: { width: decoded.width, height: decoded.height, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer();
      extraFiles.push({ path: images.input, data: inputPng }, { path: images.mask, data: maskPng });
    }
    return writeMeshOutputs({
      sourcePath: request.imagePath,
      outDir: request.outDir,
      formats: request.formats,
      frames: { cad, gltf, cadMesh },
      dxfEntity: request.dxfEntity ?? GENERATE_DEFAULTS.dxfEntity,
      cadToleranceMm: cadReport?.toleranceMm,
      extraFiles,
      existing: request.existing,
      signal,
      tag: request.tag,
    });
  });

  return {
    files,
    preview: gltf,
    metrics,
    cad: cadReport,
    provider: model.provider,
    modelKind: model.kind,
    timingsMs: timings,
    processing: processed.report,
    sampling: samplingReport,
    input: { png: inputPng, backgroundRemovedWith: isolated.removedWith, objectShare: isolated.coverage },
  };
}

/** The encoder's input as an 8-bit PNG: what TripoSR's run.py saves as input.png, at the size the encoder took it. */
async function inputPreviewPng(tensor: Float32Array): Promise<Uint8Array> {
  const rgb = networkInputPreview(tensor);
  const png = await sharp(rgb, { raw: { width: NETWORK_IMAGE_SIZE, height: NETWORK_IMAGE_SIZE, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

function outputTarget(request: GenerateRequest): OutputTarget {
  return {
    sourcePath: request.imagePath,
    outDir: request.outDir,
    formats: request.formats,
    saveInput: request.saveInput,
    existing: request.existing,
    tag: request.tag,
  };
}

/**
 * Everything about a request that can fail without the network, checked before a model is downloaded
 * or converted: the image is one we read, and the outputs can be written. generateFromImage checks again.
 */
export async function preflight(request: GenerateRequest): Promise<void> {
  await checkOutputsBeforeRun(outputTarget(request));
  // The header only: the run decodes the image once, and a file damaged further in fails there.
  await probeImage(request.imagePath, request.maxInputPixels);
}

