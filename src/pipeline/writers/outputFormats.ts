import type { TargetFrame } from '../mesh/transform.js';

/**
 * Every file format a run can write, and what the rest of the product needs to know about each. The
 * one list that paths, limits, frames, the settings' descriptions (package.json, checked by
 * test/extension/formatsManifest.test.ts) and the pickers' labels follow. It imports nothing at run
 * time, so the extension host can load it without the writers or any native module; the encoders are
 * looked up by format in encode.ts.
 */
export interface OutputFormatFacts {
  /** File name extension, lower case, without the dot. */
  readonly extension: string;
  /** The frame the writer takes: 'cad' (Z up, millimetres, sRGB) or 'gltf' (Y up, metres, linear colour). */
  readonly frame: TargetFrame;
  /**
   * Which mesh the writer takes: 'display', the triangle-target mesh every viewer gets, or 'cad', the
   * mesh simplified to the CAD tolerance from the full-resolution one (a solid modeller pays per face
   * and thinks in millimetres, not triangle counts).
   */
  readonly mesh: 'display' | 'cad';
  /** The most triangles a file is written with (see below). */
  readonly maxTriangles: number;
  /** Short, for a quick pick: the format and who reads it. */
  readonly label: string;
  /** The settings' enumDescription for the format, word for word. */
  readonly description: string;
}

/**
 * Triangle limits: a STEP face costs a few hundred bytes and CAD tools take minutes per 100 k of them;
 * an R12 DXF face about 200 bytes and an OBJ triangle with its share of vertices about 70, and text
 * files are built as one string, which V8 caps at about 512 MB. Past these sizes the file is of no
 * use to anyone and building it would exhaust memory. The binary formats hold anything uint32 indices
 * can address.
 */
const UINT32_TRIANGLES = 2 ** 32 / 3;

export const OUTPUT_FORMATS = Object.freeze({
  glb: {
    extension: 'glb',
    mesh: 'display',
    frame: 'gltf',
    maxTriangles: UINT32_TRIANGLES,
    label: 'GLB — game engines, Blender, glTF viewers',
    description: 'glTF binary: Y up, metres, vertex colours (game engines, Blender, any glTF viewer).',
  },
  dxf: {
    extension: 'dxf',
    mesh: 'cad',
    frame: 'cad',
    maxTriangles: 2_000_000,
    label: 'DXF — AutoCAD, LibreCAD, FreeCAD',
    description: 'DXF: Z up, millimetres (AutoCAD, LibreCAD, FreeCAD), as 3DFACE, polyface or MESH entities.',
  },
  step: {
    extension: 'step',
    mesh: 'cad',
    frame: 'cad',
    maxTriangles: 500_000,
    label: 'STEP — solid for FreeCAD, SolidWorks, Fusion, any solid modeller',
    description:
      'STEP AP214 solid, coplanar triangles merged into planar faces: Z up, millimetres (FreeCAD, SolidWorks, any solid modeller).',
  },
  obj: {
    extension: 'obj',
    mesh: 'display',
    frame: 'cad',
    maxTriangles: 5_000_000,
    label: 'OBJ — with vertex colours',
    description: 'Wavefront OBJ with vertex colours: Z up, millimetres (slicers, MeshLab, Blender with Z up).',
  },
  stl: {
    extension: 'stl',
    mesh: 'display',
    frame: 'cad',
    maxTriangles: UINT32_TRIANGLES,
    label: 'STL — 3D-printing slicers',
    description: 'Binary STL: Z up, millimetres (3D-printing slicers).',
  },
  ply: {
    extension: 'ply',
    mesh: 'display',
    frame: 'cad',
    maxTriangles: UINT32_TRIANGLES,
    label: 'PLY — MeshLab, CloudCompare',
    description: 'Binary PLY with vertex colours: Z up, millimetres (MeshLab, CloudCompare).',
  },
} as const satisfies Readonly<Record<string, OutputFormatFacts>>);

/**
 * The files a run can write. Named by the registry's keys, so a format cannot exist without its
 * facts, and encode.ts's encoder table fails to compile until it covers a new one.
 */
export type OutputFormat = keyof typeof OUTPUT_FORMATS;

/** Every format, in the order settings, help text and pickers list them. */
export const OUTPUT_FORMAT_IDS = Object.freeze(Object.keys(OUTPUT_FORMATS) as OutputFormat[]);

/** True when one of `formats` is written from the CAD-tolerance mesh, so a run must make it. */
export function needsCadMesh(formats: readonly OutputFormat[]): boolean {
  return formats.some((f) => OUTPUT_FORMATS[f]?.mesh === 'cad');
}

/** True for the id of a format the writers know, for values read from settings, messages or the command line. */
export function isOutputFormat(value: unknown): value is OutputFormat {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(OUTPUT_FORMATS, value);
}

/** The fewest triangles any of `formats` that take the CAD mesh is useful with; Infinity when none does. */
export function cadMeshTriangleLimit(formats: readonly OutputFormat[]): number {
  return formats.reduce((limit, f) => (OUTPUT_FORMATS[f].mesh === 'cad' ? Math.min(limit, OUTPUT_FORMATS[f].maxTriangles) : limit), Infinity);
}
