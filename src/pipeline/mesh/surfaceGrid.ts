/**
 * A fixed mesh's triangles binned in a uniform grid, answering one question fast: is a point within
 * `radius` of the surface? The tolerance-bounded simplifier asks it for every point of every collapse
 * it tries, so the cell is at least the radius (a query touches at most 2x2x2 cells) and the answer
 * stops at the first triangle close enough.
 */
import { pointTriangleDistanceSquared } from './pointTriangle.js';

/** Cells kept under this so a tiny radius on a big mesh cannot ask for gigabytes. */
const MAX_CELLS = 1 << 22;

export class SurfaceGrid {
  private readonly origin: [number, number, number];
  private readonly cell: number;
  private readonly dims: [number, number, number];
  private readonly cellStart: Int32Array;
  private readonly cellTriangles: Int32Array;

  constructor(
    private readonly positions: ArrayLike<number>,
    private readonly indices: ArrayLike<number>,
    private readonly radius: number,
  ) {
    const n = Math.floor(positions.length / 3);
    const min = [Infinity, Infinity, Infinity];
    const max = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < 3; a++) {
        const c = positions[3 * i + a]!;
        if (c < min[a]!) min[a] = c;
        if (c > max[a]!) max[a] = c;
      }
    }
    const triangles = Math.floor(indices.length / 3);
    let edgeSum = 0;
    for (let t = 0; t < triangles; t++) {
      const a = indices[3 * t]!, b = indices[3 * t + 1]!;
      edgeSum += Math.hypot(positions[3 * b]! - positions[3 * a]!, positions[3 * b + 1]! - positions[3 * a + 1]!, positions[3 * b + 2]! - positions[3 * a + 2]!);
    }
    const extent = n > 0 ? Math.max(max[0]! - min[0]!, max[1]! - min[1]!, max[2]! - min[2]!) : 1;
    // About two edges a cell keeps a handful of triangles per cell; never smaller than the radius.
    let cell = Math.max(radius, triangles > 0 ? (2 * edgeSum) / triangles : extent, extent * 1e-6, 1e-12);
    while (Math.ceil(extent / cell + 1) ** 3 > MAX_CELLS) cell *= 1.25;
    this.cell = cell;
    this.origin = [min[0]! - radius, min[1]! - radius, min[2]! - radius];
    this.dims = [0, 1, 2].map((a) => Math.max(1, Math.ceil((max[a]! - min[a]! + 2 * radius) / cell) + 1)) as [number, number, number];
    const cells = this.dims[0] * this.dims[1] * this.dims[2];
    const counts = new Int32Array(cells + 1);
    this.forEachCellOfTriangles(triangles, (c) => counts[c + 1]++);
    for (let c = 0; c < cells; c++) counts[c + 1] += counts[c]!;
    this.cellStart = counts;
    this.cellTriangles = new Int32Array(counts[cells]!);
    const fill = counts.slice(0, cells);
    this.forEachCellOfTriangles(triangles, (c, t) => {
      this.cellTriangles[fill[c]!++] = t;
    });
  }

  private forEachCellOfTriangles(triangles: number, visit: (cell: number, triangle: number) => void): void {
    const { positions: p, indices: idx, origin, cell, dims } = this;
    for (let t = 0; t < triangles; t++) {
      const lo = [Infinity, Infinity, Infinity];
      const hi = [-Infinity, -Infinity, -Infinity];
      for (let k = 0; k < 3; k++) {
        const v = idx[3 * t + k]!;
        for (let a = 0; a < 3; a++) {
          const c = p[3 * v + a]!;
          if (c < lo[a]!) lo[a] = c;
          if (c > hi[a]!) hi[a] = c;
        }
      }
      const i0 = Math.floor((lo[0]! - origin[0]) / cell), i1 = Math.floor((hi[0]! - origin[0]) / cell);
      const j0 = Math.floor((lo[1]! - origin[1]) / cell), j1 = Math.floor((hi[1]! - origin[1]) / cell);
      const k0 = Math.floor((lo[2]! - origin[2]) / cell), k1 = Math.floor((hi[2]! - origin[2]) / cell);
      for (let i = i0; i <= i1; i++) for (let j = j0; j <= j1; j++) for (let k = k0; k <= k1; k++) visit((i * dims[1] + j) * dims[2] + k, t);
    }
  }

  /** True when (x, y, z) lies within the grid's radius of some triangle. */
  near(x: number, y: number, z: number): boolean {
    return this.nearestSquared(x, y, z, true) !== Infinity;
  }

  /** Distance from (x, y, z) to the nearest triangle, or Infinity when none is within the grid's radius. */
  distance(x: number, y: number, z: number): number {
    return Math.sqrt(this.nearestSquared(x, y, z, false));
  }

  /**
   * Squared distance to the nearest triangle within the radius, or Infinity when there is none; with
   * `firstHit`, the first one within the radius, which is all `near` needs and spares the rest.
   */
  private nearestSquared(x: number, y: number, z: number, firstHit: boolean): number {
    const { positions: p, indices: idx, origin, cell, dims, radius } = this;
    let best = radius * radius;
    let found = false;
    const i0 = Math.max(0, Math.floor((x - radius - origin[0]) / cell)), i1 = Math.min(dims[0] - 1, Math.floor((x + radius - origin[0]) / cell));
    const j0 = Math.max(0, Math.floor((y - radius - origin[1]) / cell)), j1 = Math.min(dims[1] - 1, Math.floor((y + radius - origin[1]) / cell));
    const k0 = Math.max(0, Math.floor((z - radius - origin[2]) / cell)), k1 = Math.min(dims[2] - 1, Math.floor((z + radius - origin[2]) / cell));
    for (let i = i0; i <= i1; i++) {
      for (let j = j0; j <= j1; j++) {
        for (let k = k0; k <= k1; k++) {
          const c = (i * dims[1] + j) * dims[2] + k;
          for (let s = this.cellStart[c]!, e = this.cellStart[c + 1]!; s < e; s++) {
            const t = 3 * this.cellTriangles[s]!;
            const a = 3 * idx[t]!, b = 3 * idx[t + 1]!, d = 3 * idx[t + 2]!;
            const d2 = pointTriangleDistanceSquared(x, y, z, p[a]!, p[a + 1]!, p[a + 2]!, p[b]!, p[b + 1]!, p[b + 2]!, p[d]!, p[d + 1]!, p[d + 2]!);
            if (d2 <= best) {
              if (firstHit) return d2;
              best = d2;
              found = true;
            }
          }
        }
      }
    }
    return found ? best : Infinity;
  }
}
