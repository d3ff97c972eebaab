import type { Mesh } from './mesh.js';
import { vertexNormals } from './normals.js';

export interface TaubinOptions {
  /** λ/μ pairs to apply. */
  readonly iterations: number;
  /** Positive (shrinking) factor; 0.5 unless given. */
  readonly lambda?: number;
  /** Negative (inflating) factor, with |μ| slightly above λ; -0.53 unless given. 0 gives plain Laplacian smoothing. */
  readonly mu?: number;
}

interface Adjacency {
  /** Neighbours of v are `neighbours[start[v] .. start[v + 1])`, each listed once. */
  readonly start: Uint32Array;
  readonly neighbours: Uint32Array;
  /** 1 where the vertex must not move. */
  readonly pinned: Uint8Array;
}

/**
 * Unique-neighbour CSR built once for all iterations. Every triangle edge is recorded from both
 * ends, so on a closed 2-manifold each neighbour shows up exactly twice; a neighbour seen any other
 * number of times marks a boundary (once) or non-manifold edge, and the vertex is pinned, because
 * the umbrella operator there pulls the rim inwards and shrinks open meshes from their edges.
 */
function buildAdjacency(indices: Uint32Array, vertexCount: number): Adjacency {
  const faceCount = Math.floor(indices.length / 3);
  const rawStart = new Uint32Array(vertexCount + 1);
  for (let i = 0; i < 3 * faceCount; i++) rawStart[indices[i]! + 1] += 2;
  for (let v = 0; v < vertexCount; v++) rawStart[v + 1] += rawStart[v]!;
  const fill = rawStart.slice(0, vertexCount);
  const raw = new Uint32Array(rawStart[vertexCount]!);
  for (let f = 0; f < faceCount; f++) {
    const a = indices[3 * f]!, b = indices[3 * f + 1]!, c = indices[3 * f + 2]!;
    raw[fill[a]!++] = b;
    raw[fill[a]!++] = c;
    raw[fill[b]!++] = c;
    raw[fill[b]!++] = a;
    raw[fill[c]!++] = a;
    raw[fill[c]!++] = b;
  }

  const start = new Uint32Array(vertexCount + 1);
  const pinned = new Uint8Array(vertexCount);
  let out = 0;
  for (let v = 0; v < vertexCount; v++) {
    const lo = rawStart[v]!;
    const hi = rawStart[v + 1]!;
    // Rows are short (about twelve entries), so insertion sort beats a typed-array sort call.
    for (let i = lo + 1; i < hi; i++) {
      const x = raw[i]!;
      let j = i - 1;
      for (; j >= lo && raw[j]! > x; j--) raw[j + 1] = raw[j]!;
      raw[j + 1] = x;
    }
    start[v] = out;
    for (let i = lo; i < hi; ) {
      const n = raw[i]!;
      let k = i + 1;
      while (k < hi && raw[k] === n) k++;
      if (k - i !== 2) pinned[v] = 1;
      // Compacting in place is safe: `out` never passes the read position `i`.
      if (n !== v) raw[out++] = n;
      else pinned[v] = 1;
      i = k;
    }
  }
  start[vertexCount] = out;
  return { start, neighbours: raw.slice(0, out), pinned };
}

/** One umbrella step: p += factor * (mean of neighbours - p), reading `from` and writing `to`. */
function umbrellaStep(adj: Adjacency, from: Float64Array, to: Float64Array, factor: number): void {
  const { start, neighbours, pinned } = adj;
  const vertexCount = pinned.length;
  for (let v = 0; v < vertexCount; v++) {
    const lo = start[v]!;
    const hi = start[v + 1]!;
    const px = from[3 * v]!, py = from[3 * v + 1]!, pz = from[3 * v + 2]!;
    if (pinned[v] || hi === lo) {
      to[3 * v] = px;
      to[3 * v + 1] = py;
      to[3 * v + 2] = pz;
      continue;
    }
    let sx = 0, sy = 0, sz = 0;
    for (let i = lo; i < hi; i++) {
      const n = neighbours[i]!;
      sx += from[3 * n]!;
      sy += from[3 * n + 1]!;
      sz += from[3 * n + 2]!;
    }
    const inv = 1 / (hi - lo);
    to[3 * v] = px + factor * (sx * inv - px);
    to[3 * v + 1] = py + factor * (sy * inv - py);
    to[3 * v + 2] = pz + factor * (sz * inv - pz);
  }
}

/**
 * Taubin λ/μ smoothing (Taubin 1995) with uniform umbrella weights. The λ step is ordinary Laplacian
 * smoothing and shrinks; the following μ step (|μ| > λ) pushes back out, so together they act as a
 * low-pass filter that removes the marching-cubes staircase while keeping the volume nearly
 * unchanged. Boundary and non-manifold vertices stay put. Connectivity and colours are carried
 * unchanged; normals, when present, are recomputed because the surface moved.
 */
export function taubinSmooth(mesh: Mesh, options: TaubinOptions): Mesh {
  const { iterations } = options;
  const lambda = options.lambda ?? 0.5;
  const mu = options.mu ?? -0.53;
  if (!Number.isInteger(iterations) || iterations < 0) throw new RangeError(`taubinSmooth: iterations must be an integer >= 0, got ${iterations}`);
  if (!Number.isFinite(lambda) || !Number.isFinite(mu)) throw new RangeError(`taubinSmooth: lambda and mu must be finite, got ${lambda}, ${mu}`);
  const { positions, indices } = mesh;
  const vertexCount = Math.floor(positions.length / 3);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! >= vertexCount) throw new RangeError(`taubinSmooth: index ${indices[i]} out of range (${vertexCount} vertices)`);
  }

  const adj = buildAdjacency(indices, vertexCount);
  // Double precision between steps, so hundreds of small updates do not accumulate float32 rounding.
  let a = Float64Array.from(positions.subarray(0, 3 * vertexCount));
  let b = new Float64Array(a.length);
  for (let it = 0; it < iterations; it++) {
    umbrellaStep(adj, a, b, lambda);
    [a, b] = [b, a];
    if (mu !== 0) {
      umbrellaStep(adj, a, b, mu);
      [a, b] = [b, a];
    }
  }
  const outPositions = Float32Array.from(a);
  return {
    positions: outPositions,
    indices,
    ...(mesh.colors ? { colors: mesh.colors } : {}),
    ...(mesh.normals ? { normals: vertexNormals(outPositions, indices) } : {}),
  };
}
