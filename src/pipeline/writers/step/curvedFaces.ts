import type { CurvedRegions } from '../../mesh/fit/recognise.js';
import type { FittedSurface } from '../../mesh/fit/surfaces.js';
import { nextHalfEdge } from './adjacency.js';

/**
 * Turns the curved regions found by mesh/fit into faces the writer can bound: each face a topological
 * disk, possibly with holes, given as loops of the mesh's boundary half-edges (face on the left), so
 * that it shares its edges with the neighbouring faces exactly as planar faces do.
 *
 * A cylinder, cone or sphere region usually goes all the way round its axis (a bored hole), and a
 * face that does so on a periodic surface needs a seam edge. Rather than cut the mesh open, every
 * region is split in two by a plane through the axis (for a sphere, through the centre across the
 * axis, so each half holds one pole in its middle): a triangle goes to the side its centroid lies on.
 * Each half spans less than a full turn, so it is an ordinary face, and the two meet along mesh edges
 * that both write once, as with any other neighbours. A sphere piece whose boundary comes near a pole
 * stays faceted (see recognise.ts on poles).
 *
 * A piece whose boundary is not one simple loop (a pinch vertex, a hole), or whose topology is not a
 * disk, is dropped: its triangles stay with the planar faces, which are always valid.
 */
export interface CurvedFace {
  /** Index into the regions' surfaces. */
  readonly surface: number;
  readonly triangles: readonly number[];
  /** Boundary half-edges, loop after loop, each head to tail. */
  readonly loops: readonly (readonly number[])[];
}

export function buildCurvedFaces(tri: Int32Array, twin: Int32Array, coords: Float64Array, regions: CurvedRegions): CurvedFace[] {
  const triangleCount = tri.length / 3;
  // Piece of each triangle: 2 · region + side, or -1.
  const piece = new Int32Array(triangleCount).fill(-1);
  for (let t = 0; t < triangleCount; t++) {
    const r = regions.regionOf[t]!;
    if (r < 0) continue;
    const s = regions.surfaces[r]!;
    const across = s.kind === 'sphere' ? s.axis : s.reference;
    let side = 0;
    for (let k = 0; k < 3; k++) {
      const v = tri[t * 3 + k]! * 3;
      for (let c = 0; c < 3; c++) side += (coords[v + c]! - s.location[c]!) * across[c]!;
    }
    piece[t] = 2 * r + (side >= 0 ? 1 : 0);
  }

  const faces: CurvedFace[] = [];
  const component = new Int32Array(triangleCount).fill(-1);
  let components = 0;
  const stack: number[] = [];
  for (let seed = 0; seed < triangleCount; seed++) {
    if (piece[seed]! < 0 || component[seed]! >= 0) continue;
    const id = components++;
    const triangles: number[] = [];
    component[seed] = id;
    stack.push(seed);
    while (stack.length > 0) {
      const t = stack.pop()!;
      triangles.push(t);
      for (let k = 0; k < 3; k++) {
        const o = twin[t * 3 + k]!;
        if (o < 0) continue;
        const u = (o / 3) | 0;
        if (component[u]! >= 0 || piece[u] !== piece[seed]) continue;
        component[u] = id;
        stack.push(u);
      }
    }
    const loops = traceDiskLoops(triangles, tri, twin, component, id);
    const surface = regions.surfaces[piece[seed]! >> 1]!;
    if (loops && (surface.kind !== 'sphere' || clearOfPoles(surface, loops, tri, coords))) faces.push({ surface: piece[seed]! >> 1, triangles, loops });
  }
  return faces;
}

/**
 * The boundary loop of one connected piece, or undefined unless it is a disk: every boundary vertex
 * left by exactly one boundary half-edge, one loop, and V − E + F = 1.
 */
function traceDiskLoops(triangles: readonly number[], tri: Int32Array, twin: Int32Array, component: Int32Array, id: number): number[][] | undefined {
  const isBoundary = (h: number): boolean => {
    const o = twin[h]!;
    return o < 0 || component[(o / 3) | 0] !== id;
  };
  const leaving = new Map<number, number>();
  const vertices = new Set<number>();
  let boundaryCount = 0;
  for (const t of triangles) {
    for (let k = 0; k < 3; k++) {
      const h = t * 3 + k;
      vertices.add(tri[h]!);
      if (!isBoundary(h)) continue;
      boundaryCount++;
      if (leaving.has(tri[h]!)) return undefined;
      leaving.set(tri[h]!, h);
    }
  }
  if (boundaryCount === 0) return undefined;
  const loops: number[][] = [];
  const traced = new Set<number>();
  for (const start of leaving.values()) {
    if (traced.has(start)) continue;
    const loop: number[] = [];
    let h = start;
    do {
      if (traced.has(h) || loop.length > boundaryCount) return undefined;
      traced.add(h);
      loop.push(h);
      // The next boundary edge leaves the vertex this one arrives at.
      const next = leaving.get(tri[nextHalfEdge(h)]!);
      if (next === undefined) return undefined;
      h = next;
    } while (h !== start);
    if (loop.length < 3) return undefined;
    loops.push(loop);
  }
  // Only disks for now: OpenCascade read a half-sphere with a hole in it (two FACE_BOUNDs, no outer
  // one) as the wrong side of its loops, a smaller solid that checkshape still called valid.
  if (loops.length !== 1) return undefined;
  const edges = (3 * triangles.length + boundaryCount) / 2;
  if (vertices.size - edges + triangles.length !== 1) return undefined;
  return loops;
}

/** A sphere face's boundary keeps at least this angle from the poles of the sphere's axis. */
const POLE_CLEARANCE_DEGREES = 15;

function clearOfPoles(sphere: FittedSurface, loops: readonly (readonly number[])[], tri: Int32Array, coords: Float64Array): boolean {
  const maxCosine = Math.cos((POLE_CLEARANCE_DEGREES * Math.PI) / 180);
  for (const loop of loops) {
    for (const h of loop) {
      const v = tri[h]! * 3;
      const d = [coords[v]! - sphere.location[0], coords[v + 1]! - sphere.location[1], coords[v + 2]! - sphere.location[2]];
      const length = Math.hypot(d[0]!, d[1]!, d[2]!);
      const along = (d[0]! * sphere.axis[0] + d[1]! * sphere.axis[1] + d[2]! * sphere.axis[2]) / length;
      if (!(Math.abs(along) < maxCosine)) return false;
    }
  }
  return true;
}
