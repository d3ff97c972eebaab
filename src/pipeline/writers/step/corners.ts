import type { FaceSet } from './faces.js';

/**
 * Which boundary vertices of the merged faces are corners worth writing.
 *
 * After merging, a straight border between two faces still passes through every mesh vertex along
 * it (a subdivided box has n - 1 of them on each of its 12 edges). Such a vertex can go when:
 * - exactly two faces meet there, each passing through it once, and they run along the same mesh
 *   edges on both sides of it (the loop of one face enters and leaves over the twins of the edges
 *   the other leaves and enters by). Then the chain of mesh edges between two corners is the same
 *   in both faces, read in opposite directions, so one written edge replaces it in both and the
 *   shared topology is untouched; and
 * - it lies within the tolerance of the straight edge that replaces its chain (Douglas–Peucker:
 *   the farthest vertex of a chain that strays further becomes a corner, recursively).
 * A vertex where a third face, a border of an open mesh, or a non-manifold edge meets is always a
 * corner, and so is every vertex of a loop that would otherwise keep fewer than three.
 *
 * Returns per vertex 1 for a corner (written), 0 for a vertex that is dropped.
 */
export function findCorners(faces: FaceSet, tri: Int32Array, twin: Int32Array, coords: Float64Array, vertexCount: number, tolerance: number): Uint8Array {
  const { loopStart, loopEdges } = faces;
  const loopCount = loopStart.length - 1;
  const halfEdges = tri.length;
  // Per boundary half-edge: the loop before it, and its face; per vertex: the loop edges leaving it.
  const before = new Int32Array(halfEdges).fill(-1);
  const faceOf = new Int32Array(halfEdges).fill(-1);
  const leaving = new Int32Array(vertexCount);
  const firstLeaving = new Int32Array(vertexCount).fill(-1);
  for (let f = 0; f < faces.count; f++) {
    for (let l = faces.faceLoops[f]!; l < faces.faceLoops[f + 1]!; l++) {
      const start = loopStart[l]!;
      const end = loopStart[l + 1]!;
      for (let i = start; i < end; i++) {
        const h = loopEdges[i]!;
        before[h] = loopEdges[i === start ? end - 1 : i - 1]!;
        faceOf[h] = f;
        const v = tri[h]!;
        leaving[v]!++;
        if (firstLeaving[v]! < 0) firstLeaving[v] = h;
      }
    }
  }

  const corner = new Uint8Array(vertexCount).fill(1);
  for (let i = 0; i < loopEdges.length; i++) {
    const h1 = loopEdges[i]!;
    const v = tri[h1]!;
    if (leaving[v] !== 2 || firstLeaving[v] !== h1) continue;
    // The other edge leaving v is the twin of the edge arriving at v in h1's loop.
    const arriving = before[h1]!;
    const h2 = twin[arriving]!;
    if (h2 < 0 || tri[h2] !== v || faceOf[h2]! < 0 || faceOf[h2] === faceOf[h1]) continue;
    if (twin[h1] !== before[h2]) continue;
    corner[v] = 0;
  }

  // Straightness and the three-corner minimum, until nothing changes: each pass only adds corners.
  for (let changed = true; changed; ) {
    changed = false;
    for (let l = 0; l < loopCount; l++) {
      if (straightenLoop(loopEdges, loopStart[l]!, loopStart[l + 1]!, tri, coords, corner, tolerance)) changed = true;
    }
  }
  return corner;
}

/**
 * Makes sure every chain of non-corners in the loop lies within tolerance of the segment between
 * its corners, and that the loop keeps at least three corners. Returns whether any corner was added.
 */
function straightenLoop(
  loopEdges: Int32Array,
  start: number,
  end: number,
  tri: Int32Array,
  coords: Float64Array,
  corner: Uint8Array,
  tolerance: number,
): boolean {
  const n = end - start;
  let first = -1;
  let corners = 0;
  for (let i = start; i < end; i++) {
    if (corner[tri[loopEdges[i]!]!]) {
      if (first < 0) first = i - start;
      corners++;
    }
  }
  if (corners === n) return false;
  if (corners < 3) {
    for (let i = start; i < end; i++) corner[tri[loopEdges[i]!]!] = 1;
    return true;
  }
  const chain = new LoopChain(loopEdges, start, n, tri);
  let changed = false;
  // Walk once round from the first corner, checking the chain up to each next corner.
  let from = first;
  for (let i = first + 1; i <= first + n; i++) {
    if (!corner[chain.vertexAt(i)]) continue;
    if (i - from > 1 && splitChain(chain, from, i, coords, corner, tolerance)) changed = true;
    from = i;
  }
  return changed;
}

/** Vertices of one loop by position, wrapping round. */
class LoopChain {
  constructor(
    private readonly loopEdges: Int32Array,
    private readonly start: number,
    private readonly n: number,
    private readonly tri: Int32Array,
  ) {}

  vertexAt(i: number): number {
    return this.tri[this.loopEdges[this.start + (i % this.n)]!]!;
  }
}

/** Douglas–Peucker over loop positions from..to (corners at both ends). Returns whether it added a corner. */
function splitChain(chain: LoopChain, from: number, to: number, coords: Float64Array, corner: Uint8Array, tolerance: number): boolean {
  let added = false;
  const stack = [from, to];
  while (stack.length > 0) {
    const b = stack.pop()!;
    const a = stack.pop()!;
    let worst = -1;
    let worstDistance = tolerance;
    for (let i = a + 1; i < b; i++) {
      const d = distanceToSegment(coords, chain.vertexAt(i), chain.vertexAt(a), chain.vertexAt(b));
      if (d > worstDistance) {
        worstDistance = d;
        worst = i;
      }
    }
    if (worst < 0) continue;
    corner[chain.vertexAt(worst)] = 1;
    added = true;
    if (worst - a > 1) stack.push(a, worst);
    if (b - worst > 1) stack.push(worst, b);
  }
  return added;
}

function distanceToSegment(coords: Float64Array, p: number, a: number, b: number): number {
  const ax = coords[a * 3]!, ay = coords[a * 3 + 1]!, az = coords[a * 3 + 2]!;
  const abx = coords[b * 3]! - ax, aby = coords[b * 3 + 1]! - ay, abz = coords[b * 3 + 2]! - az;
  const apx = coords[p * 3]! - ax, apy = coords[p * 3 + 1]! - ay, apz = coords[p * 3 + 2]! - az;
  const length2 = abx * abx + aby * aby + abz * abz;
  const s = length2 > 0 ? Math.min(1, Math.max(0, (apx * abx + apy * aby + apz * abz) / length2)) : 0;
  const dx = apx - s * abx, dy = apy - s * aby, dz = apz - s * abz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}
