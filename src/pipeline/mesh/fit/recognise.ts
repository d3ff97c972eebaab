import { dot, normalize, perpendicular, type Vec3 } from './eigen.js';
import { segmentSmoothRegions } from './segment.js';
import { fitCone, fitCylinder, fitPlane, fitSphere, signedDistance, surfaceNormal, type FittedSurface, type RegionSamples } from './surfaces.js';

/**
 * Finds the mesh regions that are pieces of a cylinder, cone or sphere within a tolerance.
 *
 * Regions come from splitting the mesh at sharp edges (segment.ts). Each is tried as a plane first
 * (planes are left to the caller's own planar merging), then as a cylinder, a cone and a sphere; a
 * fit is accepted only when
 * - every vertex of the region lies within `tolerance` of the surface, and
 * - every triangle faces along the surface's normal at its centre, all on the same side, so the
 *   region is one sheet of the surface, not folded over it;
 * and the region is big and bent enough for the fit to mean something: at least MIN_TRIANGLES
 * triangles whose normals span at least MIN_SPREAD_DEGREES. A smooth organic shape has no sharp
 * edges to cut it into such pieces, and as one region it fits nothing.
 */
export interface RecognitionInput {
  /** Triangles as vertex indices, counter-clockwise from outside. */
  readonly tri: Int32Array;
  /** xyz per vertex, millimetres. */
  readonly coords: Float64Array;
  /** Opposite half-edge of each manifold edge, or -1. */
  readonly twin: Int32Array;
  /** Largest distance, in millimetres, of any vertex from its fitted surface. */
  readonly tolerance: number;
}

export interface CurvedRegions {
  /** Per triangle, its curved region, or -1 for triangles left to planar faces. */
  readonly regionOf: Int32Array;
  readonly surfaces: readonly FittedSurface[];
  /** Per region, whether the surface's own normal points out of the solid (STEP's same_sense). */
  readonly sameSense: readonly boolean[];
}

/** Dihedral angle above which an edge separates regions: above the 0.5 rad (28.6°) CAD tessellators use by default. */
export const SHARP_EDGE_DEGREES = 30;
/**
 * Fewer triangles than this make too little evidence for a curved surface: a CAD hole of 12 segments
 * has 24; 10-triangle patches of a marching-cubes torus fitted false cylinders within 0.17 mm.
 */
export const MIN_TRIANGLES = 24;
/** A region must turn at least this far before a curved fit is believed over a near-flat patch. */
export const MIN_SPREAD_DEGREES = 40;
/**
 * How far, in tolerances, a triangle's centre may lie from the fitted surface: the mesh's vertices
 * are within one tolerance of it and a chord sags at most about one more between them.
 */
const CENTROID_TOLERANCE_FACTOR = 2;
/** How far a triangle may face away from the surface's normal at its centre. */
const MAX_NORMAL_DEVIATION_DEGREES = 30;

export function recogniseCurvedRegions(input: RecognitionInput): CurvedRegions {
  const { tri, coords, twin, tolerance } = input;
  const segmentation = segmentSmoothRegions(tri, coords, twin, SHARP_EDGE_DEGREES);
  const members: number[][] = Array.from({ length: segmentation.count }, () => []);
  for (let t = 0; t < segmentation.regionOf.length; t++) members[segmentation.regionOf[t]!]!.push(t);

  const regionOf = new Int32Array(tri.length / 3).fill(-1);
  const surfaces: FittedSurface[] = [];
  const sameSense: boolean[] = [];
  for (const triangles of members) {
    if (triangles.length < MIN_TRIANGLES) continue;
    const samples = samplesOf(triangles, tri, coords, segmentation.normals, segmentation.areas);
    if (normalSpreadDegrees(samples.normals) < MIN_SPREAD_DEGREES) continue;
    if (withinTolerance(fitPlane(samples), samples.points, tolerance)) continue;
    for (const fit of [fitCylinder, fitCone, fitSphere]) {
      const fitted = fit(samples);
      if (!fitted || !fits(fitted, samples, tolerance)) continue;
      const surface = fitted.kind === 'sphere' ? withPoleInside(fitted, samples) : fitted;
      const sense = facingSense(surface, samples);
      if (sense === undefined) continue;
      for (const t of triangles) regionOf[t] = surfaces.length;
      surfaces.push(surface);
      sameSense.push(sense);
      break;
    }
  }
  return { regionOf, surfaces, sameSense };
}

function samplesOf(triangles: readonly number[], tri: Int32Array, coords: Float64Array, allNormals: Float64Array, allAreas: Float64Array): RegionSamples {
  const seen = new Set<number>();
  const points: number[] = [];
  const normals = new Float64Array(triangles.length * 3);
  const centroids = new Float64Array(triangles.length * 3);
  const areas = new Float64Array(triangles.length);
  const midpoints = new Float64Array(triangles.length * 9);
  triangles.forEach((t, i) => {
    for (let k = 0; k < 3; k++) {
      const v = tri[t * 3 + k]!;
      const next = tri[t * 3 + ((k + 1) % 3)]!;
      for (let c = 0; c < 3; c++) {
        centroids[i * 3 + c]! += coords[v * 3 + c]! / 3;
        midpoints[i * 9 + k * 3 + c] = (coords[v * 3 + c]! + coords[next * 3 + c]!) / 2;
      }
      if (seen.has(v)) continue;
      seen.add(v);
      points.push(coords[v * 3]!, coords[v * 3 + 1]!, coords[v * 3 + 2]!);
    }
    for (let c = 0; c < 3; c++) normals[i * 3 + c] = allNormals[t * 3 + c]!;
    areas[i] = allAreas[t]!;
  });
  return { points: Float64Array.from(points), normals, centroids, areas, midpoints };
}

/** Roughly the largest angle between two of the normals: farthest from the first, then farthest from that. */
function normalSpreadDegrees(normals: Float64Array): number {
  const at = (i: number): Vec3 => [normals[i * 3]!, normals[i * 3 + 1]!, normals[i * 3 + 2]!];
  const farthest = (from: Vec3): [number, number] => {
    let best = 0, cosine = 1;
    for (let i = 0; i < normals.length / 3; i++) {
      const c = dot(from, at(i));
      if (c < cosine) {
        cosine = c;
        best = i;
      }
    }
    return [best, cosine];
  };
  const [a] = farthest(at(0));
  const [, cosine] = farthest(at(a));
  return (Math.acos(Math.max(-1, Math.min(1, cosine))) * 180) / Math.PI;
}

/**
 * Whether the region lies on the surface: its vertices within the tolerance and, since vertices alone
 * can fool a fit (the two rims of a cone frustum lie on a sphere too), the triangles' centres within
 * the chord's sag more. A sphere is fitted to the faces' mean (fitSphere), which a simplified mesh's
 * vertices stand outside of and its centres inside of; it fits when all of them lie in a shell of
 * twice the tolerance about some sphere of that centre, so that a sphere between the two is within
 * the tolerance of the faces, while the radius written keeps the mesh's volume.
 */
function fits(surface: FittedSurface, samples: RegionSamples, tolerance: number): boolean {
  if (surface.kind !== 'sphere') {
    return withinTolerance(surface, samples.points, tolerance) && withinTolerance(surface, samples.centroids, CENTROID_TOLERANCE_FACTOR * tolerance);
  }
  let low = Infinity, high = -Infinity;
  for (const values of [samples.points, samples.centroids]) {
    for (let i = 0; i < values.length; i += 3) {
      const d = signedDistance(surface, [values[i]!, values[i + 1]!, values[i + 2]!]);
      low = Math.min(low, d);
      high = Math.max(high, d);
    }
  }
  return high - low <= 2 * tolerance;
}

function withinTolerance(surface: FittedSurface, points: Float64Array, tolerance: number): boolean {
  for (let i = 0; i < points.length; i += 3) {
    if (!(Math.abs(signedDistance(surface, [points[i]!, points[i + 1]!, points[i + 2]!])) <= tolerance)) return false;
  }
  return true;
}

/** True when every triangle faces along the surface normal, false when every one faces against it, else undefined. */
function facingSense(surface: FittedSurface, samples: RegionSamples): boolean | undefined {
  const minCosine = Math.cos((MAX_NORMAL_DEVIATION_DEGREES * Math.PI) / 180);
  let along = 0, against = 0;
  const count = samples.areas.length;
  for (let i = 0; i < count; i++) {
    if (samples.areas[i] === 0) continue;
    const c: Vec3 = [samples.centroids[i * 3]!, samples.centroids[i * 3 + 1]!, samples.centroids[i * 3 + 2]!];
    const n: Vec3 = [samples.normals[i * 3]!, samples.normals[i * 3 + 1]!, samples.normals[i * 3 + 2]!];
    const cosine = dot(n, surfaceNormal(surface, c));
    if (cosine >= minCosine) along++;
    else if (cosine <= -minCosine) against++;
    else return undefined;
  }
  if (along > 0 && against === 0) return true;
  if (against > 0 && along === 0) return false;
  return undefined;
}

/**
 * A sphere's parameterisation has poles on its axis, and a face whose boundary runs near (not
 * through) a pole is one OpenCascade can misread (the wrong side of the loop, a wrong volume that
 * checkshape passes). The axis is put where the region is thickest, along its mean normal, so a cap
 * holds its pole well inside; a region with no mean direction (a whole ball) keeps Z, and the writer
 * splits it at the equator (step/curvedFaces.ts), leaving each pole in the middle of its half.
 */
function withPoleInside(sphere: FittedSurface, samples: RegionSamples): FittedSurface {
  const mean: Vec3 = [0, 0, 0];
  let area = 0;
  for (let i = 0; i < samples.areas.length; i++) {
    const a = samples.areas[i]!;
    area += a;
    for (let c = 0; c < 3; c++) mean[c]! += a * samples.normals[i * 3 + c]!;
  }
  const length = Math.hypot(mean[0], mean[1], mean[2]);
  const axis: Vec3 = length > MEAN_NORMAL_SHARE * area ? normalize(mean) : [0, 0, 1];
  return { ...sphere, axis, reference: perpendicular(axis) };
}

/** A mean normal shorter than this share of the area says the region wraps the sphere evenly. */
const MEAN_NORMAL_SHARE = 0.2;
