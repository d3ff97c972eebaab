/**
 * The CAD formats' mesh: as few faces as keep the surface within a distance of the full-resolution
 * mesh, both ways. CAD users think in tolerances, not triangle counts, and a STEP reader pays per face.
 */
import type { Mesh } from './mesh.js';
import { decimate } from './decimate.js';
import { twoWayDeviation } from './surfaceDeviation.js';

/**
 * Faces meeting at more than this are a crease to keep: above the 20-30 degrees a smoothed
 * marching-cubes surface bends between neighbours, below a machined edge's 90.
 */
export const CREASE_ANGLE_DEGREES = 35;

/**
 * The collapse guard samples each collapse's neighbourhood (the input's vertices, the result's
 * vertices, edge midpoints, centroids and a few interior points); with volume-keeping placement the
 * result can still stray between those samples (up to 1.27× on smoothed marching-cubes blobs). So the
 * result is measured against the input, both ways, and simplified again with a tighter guard when it
 * is over: the tolerance is what is measured, not what the guard assumed.
 */
const MAX_ATTEMPTS = 4;
/** Aim this far inside the tolerance when tightening, so the next attempt does not land just over it. */
const TIGHTENING_MARGIN = 0.9;
/**
 * The check samples each triangle at 4 steps a side; the distance between those samples can be a
 * little larger (1.002× the tolerance at 6 steps on a 0.5 % sphere-torus, bench:cad-tolerance), so a
 * result is accepted only this far inside the tolerance.
 */
const SAMPLING_MARGIN = 0.97;

export interface ToleranceOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  /**
   * Give up and return the first result when it has more faces than this: a tighter attempt only
   * keeps more, and the caller refuses a mesh over its format's limit anyway. Spares minutes on a
   * noisy surface (millions of triangles the tolerance cannot merge).
   */
  readonly maxFaces?: number;
}

/**
 * Collapses edges cheapest first (quadric error, creases and outlines penalised) for as long as every
 * vertex of the input stays within `tolerance` of the result and the result's vertices, edge midpoints
 * and face centroids within `tolerance` of the input; `tolerance` is in the mesh's units.
 */
export function simplifyToTolerance(mesh: Mesh, tolerance: number, options: ToleranceOptions = {}): Mesh {
  if (!(tolerance > 0)) throw new RangeError(`simplifyToTolerance: tolerance must be positive, got ${tolerance}`);
  let guard = tolerance;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { maxFaces, ...decimateOptions } = options;
    const result = decimate(mesh, 0, {
      ...decimateOptions,
      maxDeviation: guard,
      preserveBoundary: true,
      preserveVolume: true,
      creaseAngleDegrees: CREASE_ANGLE_DEGREES,
    });
    if (maxFaces !== undefined && result.indices.length / 3 > maxFaces) return result;
    const measured = twoWayDeviation(mesh, result, 2 * tolerance);
    if (measured <= SAMPLING_MARGIN * tolerance) return result;
    guard *= Number.isFinite(measured) ? (TIGHTENING_MARGIN * tolerance) / measured : 0.5;
  }
  // Never a result outside the tolerance: the full-resolution mesh is within it by definition.
  return mesh;
}

/** Longest side of the mesh's bounding box: what a relative tolerance is a share of. */
export function longestSide(positions: ArrayLike<number>): number {
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i + 2 < positions.length; i += 3) {
    for (let a = 0; a < 3; a++) {
      const c = positions[i + a]!;
      if (c < min[a]!) min[a] = c;
      if (c > max[a]!) max[a] = c;
    }
  }
  const side = Math.max(max[0]! - min[0]!, max[1]! - min[1]!, max[2]! - min[2]!);
  return Number.isFinite(side) ? side : 0;
}
