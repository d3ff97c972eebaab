import type { Mesh } from '../mesh/mesh.js';
import { UserError } from '../errors.js';
import { toHint, type Hint } from '../hint.js';
import { encodeGlb } from './glb.js';
import { encodeDxfBytes, type DxfEntityKind } from './dxf.js';
import { encodeStepBytes } from './step.js';
import { encodeObj } from './obj.js';
import { encodeStl } from './stl.js';
import { encodePly } from './ply.js';
import { isOutputFormat, OUTPUT_FORMAT_IDS, OUTPUT_FORMATS, type OutputFormat } from './outputFormats.js';

/** The same mesh in both frames the writers take; OUTPUT_FORMATS says which each format gets. */
export interface OutputFrames {
  /** Z up, millimetres, sRGB colours: every format but GLB. */
  readonly cad: Mesh;
  /** Y up, metres, linear colours: GLB. */
  readonly gltf: Mesh;
  /**
   * The CAD-tolerance mesh in the CAD frame, for the formats OUTPUT_FORMATS marks mesh: 'cad';
   * absent, they take `cad` like the rest.
   */
  readonly cadMesh?: Mesh;
}

export interface EncodeOptions {
  /** The model's name: product, layer and object names inside the files. */
  readonly name: string;
  /** Written where a format records what made the file. */
  readonly generator: string;
  readonly dxfEntity: DxfEntityKind;
  /** The deviation the CAD mesh was simplified to, in millimetres: STEP fits analytic surfaces within it. */
  readonly cadToleranceMm?: number;
}

type Encoder = (mesh: Mesh, options: EncodeOptions) => Uint8Array | string;

/**
 * The writer of each format. Kept here rather than in OUTPUT_FORMATS: the extension host imports the
 * formats' facts to name files and fill pickers, and must not load every writer to do so.
 */
const ENCODERS: { readonly [F in OutputFormat]: Encoder } = {
  glb: (mesh, { name, generator }) => encodeGlb(mesh, { generator, name }),
  dxf: (mesh, { name, dxfEntity }) => encodeDxfBytes(mesh, { layer: name, entity: dxfEntity }),
  step: (mesh, { name, generator, cadToleranceMm }) => encodeStepBytes(mesh, { name, generator, tolerance: cadToleranceMm }),
  obj: (mesh, { name, generator }) => encodeObj(mesh, { name, generator }),
  stl: (mesh, { name, generator }) => encodeStl(mesh, { name, generator }),
  ply: (mesh, { generator }) => encodePly(mesh, { generator }),
};

/** One file's contents, in the frame its format expects. */
export function encodeOutput(format: OutputFormat, frames: OutputFrames, options: EncodeOptions): Uint8Array | string {
  // Formats also arrive from settings and worker messages, which the compiler cannot vouch for.
  if (!isOutputFormat(format)) {
    throw new UserError(`Unknown output format "${String(format)}".`, `Use one of ${OUTPUT_FORMAT_IDS.join(', ')}.`, 'invalid-option');
  }
  const facts = OUTPUT_FORMATS[format];
  const mesh = facts.mesh === 'cad' && facts.frame === 'cad' && frames.cadMesh ? frames.cadMesh : frames[facts.frame];
  return ENCODERS[format](mesh, options);
}

/**
 * Refuses, before anything is built, a mesh too large for any of the chosen formats, naming each
 * format's limit; `remedy` says how this kind of run gets a smaller mesh (the start of the hint).
 */
export function checkTriangleLimits(formats: readonly OutputFormat[], triangles: number, remedy: string | Hint): void {
  const tooLarge = formats.filter((f) => triangles > OUTPUT_FORMATS[f].maxTriangles);
  if (tooLarge.length === 0) return;
  throw new UserError(
    `The mesh has ${triangles.toLocaleString('en')} triangles, more than ${tooLarge
      .map((f) => `${f.toUpperCase()} files are useful with (${Math.floor(OUTPUT_FORMATS[f].maxTriangles).toLocaleString('en')})`)
      .join(' and ')}.`,
    [...toHint(remedy), `, or leave ${tooLarge.map((f) => f.toUpperCase()).join(' and ')} out of the output formats.`],
    'mesh-too-large',
  );
}
