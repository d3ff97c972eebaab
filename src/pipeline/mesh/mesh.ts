/**
 * The mesh that flows between the surface, mesh and writer stages: plain typed arrays, never shared
 * mutable state. Triangles wind counter-clockwise seen from outside (normals point out).
 */
export interface Mesh {
  /** x, y, z per vertex. */
  readonly positions: Float32Array;
  /** Three vertex indices per triangle. */
  readonly indices: Uint32Array;
  /** r, g, b in [0, 1] per vertex, when the mesh carries colour. */
  readonly colors?: Float32Array;
  /** Unit normal per vertex, when computed. */
  readonly normals?: Float32Array;
}

export function vertexCount(mesh: Mesh): number {
  return mesh.positions.length / 3;
}

export function triangleCount(mesh: Mesh): number {
  return mesh.indices.length / 3;
}
