import type { Mesh } from './mesh.js';
import { findRoot } from './unionFind.js';

export interface MeshMetrics {
  readonly vertices: number;
  readonly faces: number;
  /** Connected components of triangles joined through shared vertices; unused vertices do not count. */
  readonly components: number;
  /** Undirected edges used by exactly one triangle. */
  readonly boundaryEdges: number;
  /**
   * Undirected edges that break a closed, oriented 2-manifold: used by more than two triangles, used
   * by two triangles in the same direction (inconsistent orientation), or joining a vertex to itself.
   */
  readonly nonManifoldEdges: number;
  readonly watertight: boolean;
  /** Signed volume by the divergence theorem; positive when the winding is counter-clockwise from outside. */
  readonly volume: number;
  readonly area: number;
  readonly bbox: { readonly min: [number, number, number]; readonly max: [number, number, number] };
}

export function meshMetrics(mesh: Mesh): MeshMetrics {
  const { positions, indices } = mesh;
  const vertexCount = Math.floor(positions.length / 3);
  const faceCount = Math.floor(indices.length / 3);

  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < vertexCount; v++) {
    for (let a = 0; a < 3; a++) {
      const x = positions[3 * v + a]!;
      if (x < min[a]!) min[a] = x;
      if (x > max[a]!) max[a] = x;
    }
  }
  if (vertexCount === 0) {
    min.fill(0);
    max.fill(0);
  }

  for (let i = 0; i < 3 * faceCount; i++) {
    if (indices[i]! >= vertexCount) throw new RangeError(`meshMetrics: index ${indices[i]} out of range (${vertexCount} vertices)`);
  }

  let volume = 0;
  let area = 0;
  const parent = new Uint32Array(vertexCount);
  for (let v = 0; v < vertexCount; v++) parent[v] = v;
  for (let f = 0; f < faceCount; f++) {
    const a = indices[3 * f]!;
    const b = indices[3 * f + 1]!;
    const c = indices[3 * f + 2]!;
    const ax = positions[3 * a]!, ay = positions[3 * a + 1]!, az = positions[3 * a + 2]!;
    const bx = positions[3 * b]!, by = positions[3 * b + 1]!, bz = positions[3 * b + 2]!;
    const cx = positions[3 * c]!, cy = positions[3 * c + 1]!, cz = positions[3 * c + 2]!;
    volume += (ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)) / 6;
    const ux = bx - ax, uy = by - ay, uz = bz - az;
    const wx = cx - ax, wy = cy - ay, wz = cz - az;
    const nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    area += 0.5 * Math.sqrt(nx * nx + ny * ny + nz * nz);
    const ra = findRoot(parent, a);
    const rb = findRoot(parent, b);
    if (ra !== rb) parent[rb] = ra;
    const rc = findRoot(parent, c);
    const ra2 = findRoot(parent, a);
    if (ra2 !== rc) parent[rc] = ra2;
  }
  const isRoot = new Uint8Array(vertexCount);
  for (let i = 0; i < 3 * faceCount; i++) isRoot[findRoot(parent, indices[i]!)] = 1;
  let components = 0;
  for (let v = 0; v < vertexCount; v++) components += isRoot[v]!;

  // Edges are bucketed by their lower vertex (counting sort into typed arrays), so each bucket
  // holds the few edges around one vertex and duplicates are found with a short local scan.
  const bucketStart = new Uint32Array(vertexCount + 1);
  let selfLoops = 0;
  for (let e = 0; e < 3 * faceCount; e++) {
    const from = indices[e]!;
    const to = indices[e % 3 === 2 ? e - 2 : e + 1]!;
    if (from === to) selfLoops++;
    else bucketStart[(from < to ? from : to) + 1]++;
  }
  for (let v = 0; v < vertexCount; v++) bucketStart[v + 1] += bucketStart[v]!;
  const fill = bucketStart.slice(0, vertexCount);
  // Upper vertex * 2 + 1 when the edge runs from the lower vertex to the upper one.
  const entries = new Float64Array(bucketStart[vertexCount]!);
  for (let e = 0; e < 3 * faceCount; e++) {
    const from = indices[e]!;
    const to = indices[e % 3 === 2 ? e - 2 : e + 1]!;
    if (from === to) continue;
    if (from < to) entries[fill[from]!++] = to * 2 + 1;
    else entries[fill[to]!++] = from * 2;
  }
  let boundaryEdges = 0;
  let nonManifoldEdges = selfLoops;
  for (let v = 0; v < vertexCount; v++) {
    const lo = bucketStart[v]!;
    const hi = bucketStart[v + 1]!;
    if (hi - lo > 16) entries.subarray(lo, hi).sort();
    else {
      for (let a = lo + 1; a < hi; a++) {
        const x = entries[a]!;
        let b = a - 1;
        for (; b >= lo && entries[b]! > x; b--) entries[b + 1] = entries[b]!;
        entries[b + 1] = x;
      }
    }
    for (let e = lo; e < hi; ) {
      const other = Math.floor(entries[e]! / 2);
      let uses = 0;
      let forward = 0;
      for (; e < hi && Math.floor(entries[e]! / 2) === other; e++) {
        uses++;
        forward += entries[e]! % 2;
      }
      if (uses === 1) boundaryEdges++;
      else if (uses > 2 || forward !== 1) nonManifoldEdges++;
    }
  }

  return {
    vertices: vertexCount,
    faces: faceCount,
    components,
    boundaryEdges,
    nonManifoldEdges,
    watertight: boundaryEdges === 0 && nonManifoldEdges === 0,
    volume,
    area,
    bbox: { min, max },
  };
}
