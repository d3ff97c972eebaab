/**
 * The largest distance between two surfaces, one way or both, measured on dense samples of each
 * (corners, edge points and interior points of every triangle) against the other's triangles: what a
 * CAD tolerance promises, checked on the result rather than inferred from the simplifier's bookkeeping.
 */
import type { Mesh } from './mesh.js';
import { SurfaceGrid } from './surfaceGrid.js';

/** Barycentric steps per triangle side: 4 gives 15 samples a triangle. */
export const DEFAULT_SAMPLE_STEPS = 4;

/** Largest distance from samples of `a` to `b`; anything past `searchRadius` reads as Infinity. */
export function oneWayDeviation(a: Mesh, b: Mesh, searchRadius: number, steps = DEFAULT_SAMPLE_STEPS): number {
  return oneWay(a, b, searchRadius, steps);
}

export function twoWayDeviation(a: Mesh, b: Mesh, searchRadius: number, steps = DEFAULT_SAMPLE_STEPS): number {
  return Math.max(oneWay(a, b, searchRadius, steps), oneWay(b, a, searchRadius, steps));
}

function oneWay(from: Mesh, to: Mesh, searchRadius: number, steps: number): number {
  const grid = new SurfaceGrid(to.positions, to.indices, searchRadius);
  const q = from.positions, fi = from.indices;
  let worst = 0;
  for (let t = 0; t < fi.length; t += 3) {
    const a = 3 * fi[t]!, b = 3 * fi[t + 1]!, c = 3 * fi[t + 2]!;
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
