import type { Mesh } from './mesh.js';
import { findRoot } from './unionFind.js';

export interface RemoveFloatersResult {
  readonly mesh: Mesh;
  readonly removedComponents: number;
  readonly removedTriangles: number;
}

function triangleArea(positions: Float32Array, a: number, b: number, c: number): number {
  const ax = positions[3 * a]!, ay = positions[3 * a + 1]!, az = positions[3 * a + 2]!;
  const ux = positions[3 * b]! - ax, uy = positions[3 * b + 1]! - ay, uz = positions[3 * b + 2]! - az;
  const wx = positions[3 * c]! - ax, wy = positions[3 * c + 1]! - ay, wz = positions[3 * c + 2]! - az;
  const nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
  const area = 0.5 * Math.sqrt(nx * nx + ny * ny + nz * nz);
  // A NaN position must not poison the component total and make every comparison false.
  return Number.isFinite(area) ? area : 0;
}

/**
 * Keeps the triangles flagged in `keep` and only the vertices they use, in their original order so
 * the result is deterministic and attribute arrays can be carried by a single remap.
 */
export function compactMesh(mesh: Mesh, keep: Uint8Array): Mesh {
  const { positions, indices, colors, normals } = mesh;
  const vertexCount = Math.floor(positions.length / 3);
  const faceCount = Math.floor(indices.length / 3);
  const remap = new Int32Array(vertexCount).fill(-1);
  let keptFaces = 0;
  for (let f = 0; f < faceCount; f++) {
    if (!keep[f]) continue;
    keptFaces++;
    remap[indices[3 * f]!] = 0;
    remap[indices[3 * f + 1]!] = 0;
    remap[indices[3 * f + 2]!] = 0;
  }
  let kept = 0;
  for (let v = 0; v < vertexCount; v++) if (remap[v] === 0) remap[v] = kept++;

  const outPositions = new Float32Array(3 * kept);
  const outColors = colors ? new Float32Array(3 * kept) : undefined;
  const outNormals = normals ? new Float32Array(3 * kept) : undefined;
  for (let v = 0; v < vertexCount; v++) {
    const to = remap[v]!;
    if (to < 0) continue;
    outPositions.set(positions.subarray(3 * v, 3 * v + 3), 3 * to);
    if (outColors) outColors.set(colors!.subarray(3 * v, 3 * v + 3), 3 * to);
    if (outNormals) outNormals.set(normals!.subarray(3 * v, 3 * v + 3), 3 * to);
  }
  const outIndices = new Uint32Array(3 * keptFaces);
  let o = 0;
  for (let f = 0; f < faceCount; f++) {
    if (!keep[f]) continue;
    outIndices[o++] = remap[indices[3 * f]!]!;
    outIndices[o++] = remap[indices[3 * f + 1]!]!;
    outIndices[o++] = remap[indices[3 * f + 2]!]!;
  }
  return {
    positions: outPositions,
    indices: outIndices,
    ...(outColors ? { colors: outColors } : {}),
    ...(outNormals ? { normals: outNormals } : {}),
  };
}

/**
 * Drops connected components (triangles joined through shared vertices) whose surface area is below
 * `minFraction` times the area of the largest component, then compacts the vertices.
 *
 * Area rather than triangle count: marching cubes and later decimation tessellate unevenly, and a
 * coarse, large shell must not lose to a small, finely tessellated crumb. When every component has
 * zero area (degenerate input) triangle counts are compared instead, so the test still means something.
 */
export function removeFloaters(mesh: Mesh, minFraction: number): RemoveFloatersResult {
  if (!(minFraction >= 0)) throw new RangeError(`removeFloaters: minFraction must be >= 0, got ${minFraction}`);
  const { positions, indices } = mesh;
  const vertexCount = Math.floor(positions.length / 3);
  const faceCount = Math.floor(indices.length / 3);
  for (let i = 0; i < 3 * faceCount; i++) {
    if (indices[i]! >= vertexCount) throw new RangeError(`removeFloaters: index ${indices[i]} out of range (${vertexCount} vertices)`);
  }

  const parent = new Uint32Array(vertexCount);
  for (let v = 0; v < vertexCount; v++) parent[v] = v;
  for (let f = 0; f < faceCount; f++) {
    const ra = findRoot(parent, indices[3 * f]!);
    const rb = findRoot(parent, indices[3 * f + 1]!);
    if (ra !== rb) parent[rb] = ra;
    const rc = findRoot(parent, indices[3 * f + 2]!);
    const r = findRoot(parent, ra);
    if (r !== rc) parent[rc] = r;
  }

  // Totals are kept at the root vertex, which avoids a separate dense relabelling pass.
  const area = new Float64Array(vertexCount);
  const count = new Uint32Array(vertexCount);
  const faceRoot = new Uint32Array(faceCount);
  for (let f = 0; f < faceCount; f++) {
    const a = indices[3 * f]!, b = indices[3 * f + 1]!, c = indices[3 * f + 2]!;
    const r = findRoot(parent, a);
    faceRoot[f] = r;
    area[r] += triangleArea(positions, a, b, c);
    count[r]++;
  }
  let maxArea = 0;
  let maxCount = 0;
  let components = 0;
  for (let v = 0; v < vertexCount; v++) {
    if (count[v] === 0) continue;
    components++;
    if (area[v]! > maxArea) maxArea = area[v]!;
    if (count[v]! > maxCount) maxCount = count[v]!;
  }
  const byArea = maxArea > 0;
  const threshold = minFraction * (byArea ? maxArea : maxCount);

  const keep = new Uint8Array(faceCount);
  let removedTriangles = 0;
  for (let f = 0; f < faceCount; f++) {
    const r = faceRoot[f]!;
    const size = byArea ? area[r]! : count[r]!;
    if (size >= threshold) keep[f] = 1;
    else removedTriangles++;
  }
  let keptComponents = 0;
  for (let v = 0; v < vertexCount; v++) {
    if (count[v] === 0) continue;
    if ((byArea ? area[v]! : count[v]!) >= threshold) keptComponents++;
  }
  return { mesh: compactMesh(mesh, keep), removedComponents: components - keptComponents, removedTriangles };
}
