import type { Mesh } from '../mesh/mesh.js';
import { readGlb } from './glb.js';
import { readObj } from './obj.js';
import { readPly } from './ply.js';
import { readStl } from './stl.js';
import type { MeshFileFormat } from './formats.js';
import type { ResourceLoader } from './resourceLoader.js';

/**
 * Mesh file readers for the "mesh → CAD" conversion. Each takes the file's bytes (never a path: the
 * caller owns the file system, and lends a .gltf's folder through a ResourceLoader) and returns plain data:
 * - positions in the file's own coordinates and units (glTF: Y up, metres; OBJ/STL/PLY: whatever the
 *   file used, commonly millimetres, Z up) — the caller decides the frame;
 * - polygons triangulated, winding kept, coincident vertices welded (closed surfaces stay closed);
 * - colours, when the file has them, sRGB-encoded in [0, 1];
 * - notes: what was ignored or repaired, in words for the user.
 * Malformed files raise a RangeError saying what is wrong; a file without triangles gives an empty mesh.
 */

export { MESH_FILE_EXTENSIONS, meshFormatLabel, meshFormatOfPath, type MeshFileFormat } from './formats.js';
export { folderResourceLoader, type FolderLoaderOptions, type ResourceLoader } from './resourceLoader.js';

export interface ReadMesh {
  mesh: Mesh;
  sourceFormat: MeshFileFormat;
  notes: string[];
}

export interface ReadMeshOptions {
  /**
   * Reads the files a .gltf keeps its buffers in (folderResourceLoader for the file's folder). Without
   * it a .gltf must embed its buffers; other formats never use it.
   */
  readonly resources?: ResourceLoader;
}

export async function readMeshFile(bytes: Uint8Array, format: MeshFileFormat, options: ReadMeshOptions = {}): Promise<ReadMesh> {
  switch (format) {
    case 'obj':
      return { ...readObj(bytes), sourceFormat: format };
    case 'stl':
      return { ...readStl(bytes), sourceFormat: format };
    case 'ply':
      return { ...readPly(bytes), sourceFormat: format };
    case 'glb':
      return { ...(await readGlb(bytes, { resources: options.resources })), sourceFormat: format };
    default:
      throw new RangeError(`Unknown mesh file format "${String(format)}".`);
  }
}
