/**
 * Keeps an edge-collapse simplification within a distance of the mesh it started from, both ways:
 *
 * - Original to simplified: every original vertex is owned by one face of the simplified mesh and lies
 *   within the tolerance of it. A collapse rewrites only the faces around the edge, so only the
 *   vertices those faces own are checked again, against the faces that replace them; if one would end
 *   up farther than the tolerance from all of them, the collapse is refused. (Error tracking after
 *   Garland & Heckbert's "memoryless" critique and Cignoni et al., "Metro", 1998.)
 * - Simplified to original: the merged vertex, the midpoints of its new edges and the centroids of its
 *   new faces must each lie within the tolerance of the original surface (a static grid answers).
 *   Sample points rather than a proof: a face whose three corners and midpoints hug the surface and
 *   which owns original vertices across its area cannot stray from it by much more (the tests measure
 *   it on dense samples of both surfaces).
 *
 * Quadric cost alone cannot give this bound: it sums squared distances to planes, which says nothing
 * about the worst point and nothing about where the new face lies relative to the original.
 */
import { pointTriangleDistanceSquared } from './pointTriangle.js';
import { SurfaceGrid } from './surfaceGrid.js';

export class DeviationGuard {
  private readonly grid: SurfaceGrid;
  private readonly tolerance2: number;
  /** Per face: first original vertex it owns, or -1; the rest follow through `nextOwned`. */
  private readonly ownedHead: Int32Array;
  private readonly nextOwned: Int32Array;
  // Scratch for the collapse last allowed, so commit() need not recompute it.
  private corners = new Float64Array(9 * 32);
  private newFaces = new Int32Array(32);
  private star = new Int32Array(32);
  private starCount = 0;
  private pendingPoint = new Int32Array(256);
  private pendingFace = new Int32Array(256);
  private pendingCount = 0;

  /**
   * `original` are the positions and triangles the bound refers to; `faces` / `faceAlive` are the
   * simplifier's working copies (same face ids, same vertex ids at the start), read on every check.
   */
  constructor(
    private readonly original: ArrayLike<number>,
    originalIndices: ArrayLike<number>,
    private readonly faces: Int32Array,
    faceAlive: Uint8Array,
    tolerance: number,
  ) {
    this.grid = new SurfaceGrid(original, originalIndices, tolerance);
    this.tolerance2 = tolerance * tolerance;
    const vertexCount = Math.floor(original.length / 3);
    this.ownedHead = new Int32Array(faceAlive.length).fill(-1);
    this.nextOwned = new Int32Array(vertexCount).fill(-1);
    const owned = new Uint8Array(vertexCount);
    for (let f = 0; f < faceAlive.length; f++) {
      if (!faceAlive[f]) continue;
      for (let k = 0; k < 3; k++) {
        const v = faces[3 * f + k]!;
        if (owned[v]) continue;
        owned[v] = 1;
        this.nextOwned[v] = this.ownedHead[f]!;
        this.ownedHead[f] = v;
      }
    }
  }

  /**
   * Whether collapsing edge a-b to (x, y, z) keeps both distances within the tolerance. `star` holds
   * the live faces around a or b (each once), read before the collapse rewrites them.
   */
  allows(a: number, b: number, x: number, y: number, z: number, pos: Float64Array, star: Int32Array, starCount: number): boolean {
    const { faces, grid } = this;
    if (!grid.near(x, y, z)) return false;
    if (this.newFaces.length < starCount) {
      this.newFaces = new Int32Array(2 * starCount);
      this.corners = new Float64Array(18 * starCount);
    }
    if (this.star.length < starCount) this.star = new Int32Array(2 * starCount);
    this.star.set(star.subarray(0, starCount));
    this.starCount = starCount;
    const corners = this.corners;
    let n = 0;
    for (let s = 0; s < starCount; s++) {
      const f = star[s]!;
      const o = 3 * f;
      let hasA = false, hasB = false;
      for (let k = 0; k < 3; k++) {
        const v = faces[o + k]!;
        if (v === a) hasA = true;
        else if (v === b) hasB = true;
      }
      if (hasA && hasB) continue;
      for (let k = 0; k < 3; k++) {
        const v = faces[o + k]!;
        const c = 9 * n + 3 * k;
        if (v === a || v === b) {
          corners[c] = x;
          corners[c + 1] = y;
          corners[c + 2] = z;
        } else {
          corners[c] = pos[3 * v]!;
          corners[c + 1] = pos[3 * v + 1]!;
          corners[c + 2] = pos[3 * v + 2]!;
        }
      }
      // The new face's centroid and the midpoints of its edges at the merged vertex.
      const c = 9 * n;
      if (!grid.near((corners[c]! + corners[c + 3]! + corners[c + 6]!) / 3, (corners[c + 1]! + corners[c + 4]! + corners[c + 7]!) / 3, (corners[c + 2]! + corners[c + 5]! + corners[c + 8]!) / 3)) return false;
      for (let k = 0; k < 3; k++) {
        const q = c + 3 * k;
        // Points two-thirds of the way from the centroid to each corner: a large face bulges there.
        const r = c + 3 * ((k + 1) % 3), t = c + 3 * ((k + 2) % 3);
        if (!grid.near((4 * corners[q]! + corners[r]! + corners[t]!) / 6, (4 * corners[q + 1]! + corners[r + 1]! + corners[t + 1]!) / 6, (4 * corners[q + 2]! + corners[r + 2]! + corners[t + 2]!) / 6)) return false;
        if (corners[q] === x && corners[q + 1] === y && corners[q + 2] === z) continue;
        if (!grid.near((corners[q]! + x) / 2, (corners[q + 1]! + y) / 2, (corners[q + 2]! + z) / 2)) return false;
      }
      this.newFaces[n++] = f;
    }
    if (n === 0) return false;

    const p = this.original;
    const t2 = this.tolerance2;
    // Good enough to stop looking for a closer face: well inside the tolerance.
    const settle = t2 / 16;
    this.pendingCount = 0;
    for (let s = 0; s < starCount; s++) {
      for (let v = this.ownedHead[star[s]!]!; v >= 0; v = this.nextOwned[v]!) {
        const px = p[3 * v]!, py = p[3 * v + 1]!, pz = p[3 * v + 2]!;
        let best = Infinity, bestFace = -1;
        for (let i = 0; i < n; i++) {
          const c = 9 * i;
          const d = pointTriangleDistanceSquared(px, py, pz, corners[c]!, corners[c + 1]!, corners[c + 2]!, corners[c + 3]!, corners[c + 4]!, corners[c + 5]!, corners[c + 6]!, corners[c + 7]!, corners[c + 8]!);
          if (d < best) {
            best = d;
            bestFace = i;
            if (d <= settle) break;
          }
        }
        if (!(best <= t2)) return false;
        if (this.pendingCount === this.pendingPoint.length) {
          const grow = (arr: Int32Array): Int32Array<ArrayBuffer> => {
            const g = new Int32Array(arr.length * 2);
            g.set(arr);
            return g;
          };
          this.pendingPoint = grow(this.pendingPoint);
          this.pendingFace = grow(this.pendingFace);
        }
        this.pendingPoint[this.pendingCount] = v;
        this.pendingFace[this.pendingCount++] = this.newFaces[bestFace]!;
      }
    }
    return true;
  }

  /** The collapse last allowed was carried out: its faces' original vertices change owner. */
  commit(): void {
    for (let s = 0; s < this.starCount; s++) this.ownedHead[this.star[s]!] = -1;
    for (let i = 0; i < this.pendingCount; i++) {
      const v = this.pendingPoint[i]!, f = this.pendingFace[i]!;
      this.nextOwned[v] = this.ownedHead[f]!;
      this.ownedHead[f] = v;
    }
  }
}
