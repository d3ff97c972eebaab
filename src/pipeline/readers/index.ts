import type { Mesh } from '../mesh/mesh.js';
import { readGlb } from './glb.js';
import { readObj } from './obj.js';
import { readPly } from './ply.js';
import { readStl } from './stl.js';

/**
 * Mesh file readers for the "mesh → CAD" conversion. Each takes the file's bytes (never a path: the
 * caller owns the file system) and returns plain data:
 * - positions in the file's own coordinates and units (glTF: Y up, metres; OBJ/STL/PLY: whatever the
 *   file used, commonly millimetres, Z up) — the caller decides the frame;
 * - polygons triangulated, winding kept, coincident vertices welded (closed surfaces stay closed);
 * - colours, when the file has them, sRGB-encoded in [0, 1];
 * - notes: what was ignored or repaired, in words for the user.
 * Malformed files raise a RangeError saying what is wrong; a file without triangles gives an empty mesh.
 */

export type MeshFileFormat = 'obj' | 'stl' | 'ply' | 'glb';

export interface ReadMesh {
  mesh: Mesh;
  sourceFormat: MeshFileFormat;
  notes: string[];
}

/** File extensions (without the dot, lower case) that readMeshFile reads, for pickers and help text. */
export const MESH_FILE_EXTENSIONS: readonly string[] = Object.freeze(['obj', 'stl', 'ply', 'glb', 'gltf']);

const EXTENSIONS: Record<string, MeshFileFormat> = {
  obj: 'obj',
  stl: 'stl',
  ply: 'ply',
  glb: 'glb',
  gltf: 'glb', // the glTF reader takes JSON glTF (embedded buffers) as well as GLB
};

/** The format a path's extension names (case-insensitive), or undefined for other files. */
export function meshFormatOfPath(path: string): MeshFileFormat | undefined {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const extension = name.slice(dot + 1).toLowerCase();
  return Object.prototype.hasOwnProperty.call(EXTENSIONS, extension) ? EXTENSIONS[extension] : undefined;
}

export async function readMeshFile(bytes: Uint8Array, format: MeshFileFormat): Promise<ReadMesh> {
  switch (format) {
    case 'obj':
      return { ...readObj(bytes), sourceFormat: format };
    case 'stl':
      return { ...readStl(bytes), sourceFormat: format };
    case 'ply':
      return { ...readPly(bytes), sourceFormat: format };
    case 'glb':
      return { ...(await readGlb(bytes)), sourceFormat: format };
    default:
      throw new RangeError(`Unknown mesh file format "${String(format)}".`);
  }
}
