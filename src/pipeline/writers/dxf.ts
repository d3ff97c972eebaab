import type { Mesh } from '../mesh/mesh.js';
import { prepareModel } from './dxf/model.js';
import { writeR12Faces, writeR12Polyfaces } from './dxf/r12.js';
import { writeR2010Mesh } from './dxf/r2010.js';
import { DXF_ENTITY_KINDS, type DxfEntityKind } from './outputs.js';

/**
 * ASCII DXF writer. The mesh arrives Z up in millimetres, which is what CAD programs assume. Three
 * ways to write it:
 * - '3dface' (default): R12 (AC1009), one 3DFACE per triangle. The widest reader support (LibreCAD,
 *   FreeCAD, AutoCAD, CAM tools), at about 180–200 bytes per triangle.
 * - 'polyface': R12 polyface meshes (POLYLINE flag 64), each vertex written once: about 70 % of the
 *   3DFACE size (a face record still takes ~110 bytes), and one object per 32767 vertices/faces in
 *   AutoCAD rather than loose faces. LibreCAD skips polyface meshes.
 * - 'mesh': AutoCAD 2010 (AC1024) with MESH entities: about a third of the 3DFACE size, with
 *   $INSUNITS = millimetres and a true-colour layer, for AutoCAD 2010+, BricsCAD, ODA-based readers
 *   and ezdxf (not LibreCAD, whose libdxfrw skips MESH).
 * All put the model on one layer named after it, coloured after the mesh's mean colour when it has one.
 */

// Declared with the output formats, which the extension host imports without the writers.
export { DXF_ENTITY_KINDS, type DxfEntityKind } from './outputs.js';

export interface DxfOptions {
  /** Layer the model goes on; reduced to the characters R12 allows. */
  readonly layer: string;
  /** How triangles are written; '3dface' when absent. */
  readonly entity?: DxfEntityKind;
}

/** R12 layer names: at most 31 characters out of A–Z, 0–9, $, - and _. */
const MAX_LAYER_NAME = 31;

/** The longest string V8 can build; a bigger file has to go out as bytes. */
const MAX_STRING_LENGTH = 2 ** 29 - 24;

/**
 * The whole file as one string. Throws a RangeError when it would exceed what a string can hold
 * (from about 2.5–3 million 3DFACEs); encodeDxfBytes has no such limit.
 */
export function encodeDxf(mesh: Mesh, options: DxfOptions): string {
  const { chunks, length } = encodeChunks(mesh, options);
  if (length > MAX_STRING_LENGTH) {
    throw new RangeError(
      `The DXF file would be ${length} bytes, more than one string can hold; write it with encodeDxfBytes, ` +
        `use the 'polyface' or 'mesh' entity kind, or fewer triangles.`,
    );
  }
  // Everything written is ASCII (layer names are reduced to it), so latin1 is byte-for-character.
  if (chunks.length === 1) return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, length).toString('latin1');
  return chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1')).join('');
}

/** The whole file as ASCII bytes: no string-length limit, for meshes near the triangle cap. */
export function encodeDxfBytes(mesh: Mesh, options: DxfOptions): Uint8Array {
  const { chunks, length } = encodeChunks(mesh, options);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

function encodeChunks(mesh: Mesh, options: DxfOptions): { chunks: Uint8Array[]; length: number } {
  const kind = options.entity ?? '3dface';
  if (!DXF_ENTITY_KINDS.includes(kind)) {
    throw new RangeError(`Unknown DXF entity kind "${String(kind)}"; expected one of ${DXF_ENTITY_KINDS.join(', ')}.`);
  }
  const model = prepareModel(mesh, dxfLayerName(options.layer));
  const writer = kind === 'polyface' ? writeR12Polyfaces(model) : kind === 'mesh' ? writeR2010Mesh(model) : writeR12Faces(model);
  return writer.finish();
}

/** Upper-cased, characters R12 rejects replaced by '_', at most 31 characters; "MESH" when nothing useful is left. */
export function dxfLayerName(name: string): string {
  const cleaned = name
    .toUpperCase()
    .replace(/[^A-Z0-9$_-]/g, '_')
    .slice(0, MAX_LAYER_NAME);
  return /[A-Z0-9]/.test(cleaned) ? cleaned : 'MESH';
}
