import type { Mesh } from '../../mesh/mesh.js';
import { distinctTriangles } from '../../mesh/triangles.js';
import { meshLayerColor, type LayerColor } from './color.js';
import { formatCoordinates, type FormattedCoordinates } from './text.js';

/** What every DXF flavour writes from: the drawable triangles, formatted coordinates, extents, layer. */
export interface DxfModel {
  /** Triangles with three distinct indices, in the mesh's order. */
  readonly triangles: Uint32Array;
  readonly vertexCount: number;
  readonly coordinates: FormattedCoordinates;
  /** Bounding box of the used vertices. */
  readonly min: readonly [number, number, number];
  readonly max: readonly [number, number, number];
  readonly layer: string;
  readonly color: LayerColor | undefined;
}

export function prepareModel(mesh: Mesh, layer: string): DxfModel {
  const { positions } = mesh;
  const vertexCount = positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  const triangles = distinctTriangles(mesh.indices, vertexCount);
  if (triangles.length === 0) throw new RangeError('Mesh has no non-degenerate triangles to write.');

  const used = new Uint8Array(vertexCount);
  for (let i = 0; i < triangles.length; i++) used[triangles[i]!] = 1;
  let minX = Infinity, minY = Infinity, minZ = Infinity;
  let maxX = -Infinity, maxY = -Infinity, maxZ = -Infinity;
  for (let v = 0; v < vertexCount; v++) {
    if (!used[v]) continue;
    const x = positions[v * 3]!, y = positions[v * 3 + 1]!, z = positions[v * 3 + 2]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    if (z < minZ) minZ = z;
    if (z > maxZ) maxZ = z;
  }
  const min = [minX, minY, minZ] as const;
  const max = [maxX, maxY, maxZ] as const;
  return {
    triangles,
    vertexCount,
    coordinates: formatCoordinates(positions, used),
    min,
    max,
    layer,
    color: meshLayerColor(positions, triangles, mesh.colors),
  };
}
