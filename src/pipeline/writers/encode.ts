import type { Mesh } from '../mesh/mesh.js';
import { UserError } from '../errors.js';
import { encodeGlb } from './glb.js';
import { encodeDxfBytes, type DxfEntityKind } from './dxf.js';
import { encodeStepBytes } from './step.js';
import { encodeObj } from './obj.js';
import { encodeStl } from './stl.js';
import { encodePly } from './ply.js';
import { MAX_TRIANGLES, usesCadFrame, type OutputFormat } from './outputs.js';

/** The same mesh in both frames the writers take. */
export interface OutputFrames {
  /** Z up, millimetres, sRGB colours: every format but GLB. */
  readonly cad: Mesh;
  /** Y up, metres, linear colours: GLB. */
  readonly gltf: Mesh;
}

export interface EncodeOptions {
  /** The model's name: product, layer and object names inside the files. */
  readonly name: string;
  /** Written where a format records what made the file. */
  readonly generator: string;
  readonly dxfEntity: DxfEntityKind;
}

/** One file's contents, in the frame its format expects. */
export function encodeOutput(format: OutputFormat, frames: OutputFrames, options: EncodeOptions): Uint8Array | string {
  const mesh = usesCadFrame(format) ? frames.cad : frames.gltf;
  const { name, generator } = options;
  switch (format) {
    case 'glb':
      return encodeGlb(mesh, { generator, name });
    case 'dxf':
      return encodeDxfBytes(mesh, { layer: name, entity: options.dxfEntity });
    case 'step':
      return encodeStepBytes(mesh, { name, generator });
    case 'obj':
      return encodeObj(mesh, { name, generator });
    case 'stl':
      return encodeStl(mesh, { name, generator });
    case 'ply':
      return encodePly(mesh, { generator });
    default:
      throw new UserError(`Unknown output format "${String(format)}".`, 'Use glb, dxf, step, obj, stl or ply.', 'invalid-option');
  }
}

/**
 * Refuses, before anything is built, a mesh too large for any of the chosen formats, naming each
 * format's limit; `remedy` says how this kind of run gets a smaller mesh.
 */
export function checkTriangleLimits(formats: readonly OutputFormat[], triangles: number, remedy: string): void {
  const tooLarge = formats.filter((f) => triangles > MAX_TRIANGLES[f]);
  if (tooLarge.length === 0) return;
  throw new UserError(
    `The mesh has ${triangles.toLocaleString('en')} triangles, more than ${tooLarge
      .map((f) => `${f.toUpperCase()} files are useful with (${Math.floor(MAX_TRIANGLES[f]).toLocaleString('en')})`)
      .join(' and ')}.`,
    `${remedy}, or leave ${tooLarge.map((f) => f.toUpperCase()).join(' and ')} out of the output formats.`,
    'mesh-too-large',
  );
}
