/**
 * What a generation and a mesh conversion do unless told otherwise, and the ranges the front ends
 * accept: the one place these numbers are written. The CLI's flags and help, the extension's settings
 * (and through a test, package.json and the README) read them from here, as glTF-Transform exports
 * SIMPLIFY_DEFAULTS beside simplify(). The extension host imports this module, so it loads nothing
 * but types: no native modules, no pipeline code.
 */
import type { BackgroundMode, SegmentationNetwork } from './image/backgroundOptions.js';
import type { PrecisionSetting } from './network/modelSource.js';
import type { LengthUnit, UpAxis } from './readers/formats.js';
import type { DxfEntityKind } from './writers/outputs.js';
import type { OutputFormat } from './writers/outputFormats.js';

export type SamplingMode = 'adaptive' | 'dense';
export const SAMPLING_MODES: readonly SamplingMode[] = Object.freeze(['adaptive', 'dense'] as const);

export const PRECISION_SETTINGS: readonly PrecisionSetting[] = Object.freeze(['auto', 'fp32', 'fp16'] as const);

export interface GenerateDefaults {
  /** One file each for games, 2D/3D CAD and solid modellers. */
  readonly formats: readonly OutputFormat[];
  readonly resolution: number;
  readonly threshold: number;
  readonly sampling: SamplingMode;
  readonly smoothingIterations: number;
  readonly floaterFraction: number;
  readonly targetTriangles: number;
  readonly longestSideMm: number;
  /** Deviation STEP and DXF may have from the full-resolution mesh, in millimetres; 0: auto (cadToleranceMm). */
  readonly cadTolerance: number;
  readonly dxfEntity: DxfEntityKind;
  readonly backgroundMode: BackgroundMode;
  readonly backgroundNetwork: SegmentationNetwork;
  readonly foregroundRatio: number;
  /** Whether `<name>.input.png` and `<name>.mask.png` are written too. */
  readonly saveInput: boolean;
  readonly precision: PrecisionSetting;
  /** As both front ends take it: `auto`, or names in order of preference, comma-separated. */
  readonly executionProviders: string;
}

/** Both kinds of run write DXF the same way unless told otherwise: R12 3DFACEs, which every CAD program reads. */
const DXF_ENTITY: DxfEntityKind = '3dface';

export const GENERATE_DEFAULTS: GenerateDefaults = Object.freeze({
  formats: Object.freeze(['glb', 'dxf', 'step'] as const),
  resolution: 256,
  /** TripoSR's own density threshold. */
  threshold: 25,
  sampling: 'adaptive',
  smoothingIterations: 10,
  floaterFraction: 0.02,
  targetTriangles: 100_000,
  longestSideMm: 100,
  cadTolerance: 0,
  dxfEntity: DXF_ENTITY,
  backgroundMode: 'auto',
  /** Measured, not guessed: see the README's background section and bench/background.bench.ts. */
  backgroundNetwork: 'u2net',
  /** TripoSR's foreground_ratio: share of the square frame the object's longer side fills. */
  foregroundRatio: 0.85,
  saveInput: false,
  precision: 'auto',
  executionProviders: 'auto',
});

/** The range a front end accepts for a numeric option; absent bounds are open. */
export interface NumberLimits {
  readonly min?: number;
  readonly max?: number;
  readonly integer: boolean;
}

export type NumericGenerateOption =
  | 'resolution'
  | 'threshold'
  | 'smoothingIterations'
  | 'floaterFraction'
  | 'targetTriangles'
  | 'longestSideMm'
  | 'cadTolerance'
  | 'foregroundRatio';

export const GENERATE_LIMITS: Readonly<Record<NumericGenerateOption, NumberLimits>> = Object.freeze({
  /**
   * 32 to 512 for both front ends. The field is a resolution³ Float32Array: 512 MiB at 512 (about
   * 1.2 GB with the rest of the run), while 1024³ · 4 bytes is 4 GiB, at V8's ArrayBuffer limit and
   * past most machines' memory, and a dense pass at 1024 is a billion decoder queries. Below 32 the
   * grid is coarser than the adaptive sampler's first level is useful for (a step of 8 leaves 4 cells a
   * side) and the mesh is a blob; the tests run at 40 and 48.
   */
  resolution: { min: 32, max: 512, integer: true },
  /** A density: TripoSR's are unbounded either way, so any finite number. */
  threshold: { integer: false },
  /** Taubin passes; past 200 the shape stops changing and only the time grows. */
  smoothingIterations: { min: 0, max: 200, integer: true },
  floaterFraction: { min: 0, max: 1, integer: false },
  /** 0 keeps every triangle; each writer has its own ceiling (maxTriangles in writers/outputFormats.ts). */
  targetTriangles: { min: 0, integer: true },
  /** One micrometre: DXF prints six decimals of a millimetre, so smaller models lose their shape. */
  longestSideMm: { min: 0.001, integer: false },
  /** Millimetres; 0 means auto. No ceiling: a tolerance past the model's size just leaves the fewest faces. */
  cadTolerance: { min: 0, integer: false },
  /**
   * TripoSR's own app offers 0.5 to 1. The library takes any ratio in (0, 1] that keeps the canvas
   * within bounds.
   */
  foregroundRatio: { min: 0.5, max: 1, integer: false },
});

export interface ConvertDefaults {
  readonly formats: readonly OutputFormat[];
  /** `auto`: by the file's format (glTF: Y up, by its specification; others: Z up). */
  readonly up: UpAxis | 'auto';
  /** `auto`: by the file's format (glTF: metres; others: millimetres). */
  readonly units: LengthUnit | 'auto';
  readonly dxfEntity: DxfEntityKind;
  /** As GenerateDefaults.cadTolerance. */
  readonly cadTolerance: number;
  /** 0: the file's triangles are written as they are (a conversion simplifies only when asked). */
  readonly targetTriangles: number;
}

export const CONVERT_DEFAULTS: ConvertDefaults = Object.freeze({
  /**
   * The CAD formats (the command is "Convert Mesh to CAD Formats"): a mesh file already opens in
   * viewers and game tools, so GLB is offered but not chosen. Neither is a format the converter reads,
   * so the source is never among them.
   */
  formats: Object.freeze(['step', 'dxf'] as const),
  up: 'auto',
  units: 'auto',
  dxfEntity: DXF_ENTITY,
  cadTolerance: 0,
  targetTriangles: 0,
});

/**
 * What an automatic CAD tolerance (cadTolerance 0) is, as a share of the model's longest side: 0.1 mm
 * at the default 100 mm. Measured (README "CAD tolerance"): on a stand-in generation it takes STEP from
 * about 100 k faces to a few thousand while the surface stays within a tenth of a millimetre, finer than
 * most printers and the network's own accuracy; 0.05 % doubles the faces for no visible gain.
 */
export const CAD_TOLERANCE_AUTO_SHARE = 0.001;

/** The tolerance in millimetres a cadTolerance setting means for a model whose longest side is `longestSideMm`. */
export function cadToleranceMm(setting: number, longestSideMm: number): number {
  return setting > 0 ? setting : CAD_TOLERANCE_AUTO_SHARE * longestSideMm;
}

/**
 * An execution-provider list as users write it ("cuda, cpu"; any case): names in order, or 'auto' when
 * it is empty or names auto anywhere.
 */
export function parseExecutionProviders(text: string): readonly string[] | 'auto' {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  return names.length === 0 || names.includes('auto') ? 'auto' : names;
}
