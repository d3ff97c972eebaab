/**
 * The largest distance between two surfaces, one way or both, measured on dense samples of each
 * (corners, edge points and interior points of every triangle) against the other's triangles: what a
 * CAD tolerance promises, checked on the result rather than inferred from the simplifier's bookkeeping.
 */
import type { Mesh } from './mesh.js';
import { SurfaceGrid } from './surfaceGrid.js';

/** Barycentric steps per triangle side: 4 gives 15 samples a triangle. */
export const DEFAULT_SAMPLE_STEPS = 4;

/**
 * A simplified mesh's triangles can be far larger than the features of the mesh they stand for: a
 * triangle of a plate's top can overhang a hole's rim by a sliver a few tenths of a millimetre wide.
 * So triangles are sampled at least as densely as the short edges of the mesh they are measured
 * against (a low quantile of its edge lengths), within a budget of samples proportional to both
 * meshes' sizes so a huge triangle cannot take unbounded time.
 */
const EDGE_QUANTILE = 0.1;
const SAMPLES_PER_TRIANGLE_BUDGET = 32;

/** Largest distance from samples of `a` to `b`; anything past `searchRadius` reads as Infinity. */
export function oneWayDeviation(a: Mesh, b: Mesh, searchRadius: number, steps = DEFAULT_SAMPLE_STEPS): number {
  return oneWay(a, b, searchRadius, steps);
}

export function twoWayDeviation(a: Mesh, b: Mesh, searchRadius: number, steps = DEFAULT_SAMPLE_STEPS): number {
  return Math.max(oneWay(a, b, searchRadius, steps), oneWay(b, a, searchRadius, steps));
}

function edgeLengths(mesh: Mesh): Float64Array {
  const p = mesh.positions, idx = mesh.indices;
  const out = new Float64Array(idx.length);
  for (let t = 0; t < idx.length; t += 3) {
    for (let k = 0; k < 3; k++) {
      const a = 3 * idx[t + k]!, b = 3 * idx[t + ((k + 1) % 3)]!;
      out[t + k] = Math.hypot(p[a]! - p[b]!, p[a + 1]! - p[b + 1]!, p[a + 2]! - p[b + 2]!);
    }
  }
  return out;
}

/** How far apart to sample `from`'s triangles against `to`'s features (0: no extra samples). */
function sampleSpacing(from: Mesh, to: Mesh, minSteps: number): number {
  const toEdges = edgeLengths(to).sort();
  let spacing = toEdges.length > 0 ? toEdges[Math.floor(EDGE_QUANTILE * (toEdges.length - 1))]! : 0;
  if (!(spacing > 0)) return 0;
  const fromEdges = edgeLengths(from);
  const samples = (h: number): number => {
    let total = 0;
    for (let t = 0; t < fromEdges.length; t += 3) {
      const n = Math.max(minSteps, Math.ceil(Math.max(fromEdges[t]!, fromEdges[t + 1]!, fromEdges[t + 2]!) / h));
      total += ((n + 1) * (n + 2)) / 2;
    }
    return total;
  };
  const budget = SAMPLES_PER_TRIANGLE_BUDGET * (to.indices.length + from.indices.length) / 3;
  for (let i = 0; i < 8; i++) {
    const count = samples(spacing);
    if (count <= budget) break;
    spacing *= Math.sqrt(count / budget);
  }
  return spacing;
}

function oneWay(from: Mesh, to: Mesh, searchRadius: number, minSteps: number): number {
  const grid = new SurfaceGrid(to.positions, to.indices, searchRadius);
  const spacing = sampleSpacing(from, to, minSteps);
  const q = from.positions, fi = from.indices;
  let worst = 0;
  for (let t = 0; t < fi.length; t += 3) {
    const a = 3 * fi[t]!, b = 3 * fi[t + 1]!, c = 3 * fi[t + 2]!;
    const longest = Math.max(
      Math.hypot(q[a]! - q[b]!, q[a + 1]! - q[b + 1]!, q[a + 2]! - q[b + 2]!),
      Math.hypot(q[b]! - q[c]!, q[b + 1]! - q[c + 1]!, q[b + 2]! - q[c + 2]!),
      Math.hypot(q[c]! - q[a]!, q[c + 1]! - q[a + 1]!, q[c + 2]! - q[a + 2]!),
    );
    const steps = spacing > 0 ? Math.max(minSteps, Math.ceil(longest / spacing)) : minSteps;
    for (let u = 0; u <= steps; u++) {
      for (let v = 0; u + v <= steps; v++) {
        const w = steps - u - v;
        const x = (u * q[a]! + v * q[b]! + w * q[c]!) / steps;
        const y = (u * q[a + 1]! + v * q[b + 1]! + w * q[c + 1]!) / steps;
        const z = (u * q[a + 2]! + v * q[b + 2]! + w * q[c + 2]!) / steps;
        const d = grid.distance(x, y, z);
        if (d > worst) worst = d;
        if (worst === Infinity) return worst;
      }
    }
  }
  return worst;
}
