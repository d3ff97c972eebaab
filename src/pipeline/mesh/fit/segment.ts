/**
 * Splits a triangle mesh into smooth regions: triangles joined across every edge where their normals
 * differ by less than the sharp-edge angle. A CAD program tessellates each designed face separately
 * and its faces meet at feature edges, so on an exported part these regions are the designed faces
 * (a hole's wall, a flat side); fillets that meet their neighbours tangentially merge with them and
 * then simply fail the fits.
 *
 * Half-edge h = 3t + k runs from corner k of triangle t to corner k + 1; `twin` gives the opposite
 * half-edge of a manifold edge, or -1 (a border or non-manifold edge, which always separates).
 */
export interface Segmentation {
  readonly count: number;
  /** Per triangle, its region. */
  readonly regionOf: Int32Array;
  /** Per triangle, unit normal (0,0,0 for a degenerate one) and area. */
  readonly normals: Float64Array;
  readonly areas: Float64Array;
}

export function triangleNormals(tri: Int32Array, coords: Float64Array): { normals: Float64Array; areas: Float64Array } {
  const count = tri.length / 3;
  const normals = new Float64Array(count * 3);
  const areas = new Float64Array(count);
  for (let t = 0; t < count; t++) {
    const a = tri[t * 3]! * 3, b = tri[t * 3 + 1]! * 3, c = tri[t * 3 + 2]! * 3;
    const abx = coords[b]! - coords[a]!, aby = coords[b + 1]! - coords[a + 1]!, abz = coords[b + 2]! - coords[a + 2]!;
    const acx = coords[c]! - coords[a]!, acy = coords[c + 1]! - coords[a + 1]!, acz = coords[c + 2]! - coords[a + 2]!;
    const nx = aby * acz - abz * acy, ny = abz * acx - abx * acz, nz = abx * acy - aby * acx;
    const length = Math.hypot(nx, ny, nz);
    areas[t] = length / 2;
    if (length > 0) {
      normals[t * 3] = nx / length;
      normals[t * 3 + 1] = ny / length;
      normals[t * 3 + 2] = nz / length;
    }
  }
  return { normals, areas };
}

export function segmentSmoothRegions(tri: Int32Array, coords: Float64Array, twin: Int32Array, sharpDegrees: number): Segmentation {
  const { normals, areas } = triangleNormals(tri, coords);
  const count = tri.length / 3;
  const minCosine = Math.cos((sharpDegrees * Math.PI) / 180);
  const regionOf = new Int32Array(count).fill(-1);
  const stack: number[] = [];
  let regions = 0;
  for (let seed = 0; seed < count; seed++) {
    if (regionOf[seed]! >= 0) continue;
    const region = regions++;
    regionOf[seed] = region;
    stack.push(seed);
    while (stack.length > 0) {
      const t = stack.pop()!;
      for (let k = 0; k < 3; k++) {
        const o = twin[t * 3 + k]!;
        if (o < 0) continue;
        const u = (o / 3) | 0;
        if (regionOf[u]! >= 0) continue;
        const cosine = normals[t * 3]! * normals[u * 3]! + normals[t * 3 + 1]! * normals[u * 3 + 1]! + normals[t * 3 + 2]! * normals[u * 3 + 2]!;
        if (cosine < minCosine) continue;
        regionOf[u] = region;
        stack.push(u);
      }
    }
  }
  return { count: regions, regionOf, normals, areas };
}
