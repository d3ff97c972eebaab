/**
 * Squared distance from a point to a triangle given by its corners' coordinates (Ericson, Real-Time
 * Collision Detection, 5.1.5). Scalars rather than arrays so the hot loops of the tolerance checks
 * allocate nothing; squared so callers compare against a squared tolerance without a root.
 */
export function pointTriangleDistanceSquared(
  px: number, py: number, pz: number,
  ax: number, ay: number, az: number,
  bx: number, by: number, bz: number,
  cx: number, cy: number, cz: number,
): number {
  const abx = bx - ax, aby = by - ay, abz = bz - az;
  const acx = cx - ax, acy = cy - ay, acz = cz - az;
  const apx = px - ax, apy = py - ay, apz = pz - az;
  const d1 = abx * apx + aby * apy + abz * apz;
  const d2 = acx * apx + acy * apy + acz * apz;
  let u: number, v: number;
  if (d1 <= 0 && d2 <= 0) {
    u = 0;
    v = 0;
  } else {
    const bpx = apx - abx, bpy = apy - aby, bpz = apz - abz;
    const d3 = abx * bpx + aby * bpy + abz * bpz;
    const d4 = acx * bpx + acy * bpy + acz * bpz;
    const cpx = apx - acx, cpy = apy - acy, cpz = apz - acz;
    const d5 = abx * cpx + aby * cpy + abz * cpz;
    const d6 = acx * cpx + acy * cpy + acz * cpz;
    const vc = d1 * d4 - d3 * d2;
    const vb = d5 * d2 - d1 * d6;
    const va = d3 * d6 - d5 * d4;
    if (d3 >= 0 && d4 <= d3) {
      u = 1;
      v = 0;
    } else if (vc <= 0 && d1 >= 0 && d3 <= 0) {
      u = d1 / (d1 - d3);
      v = 0;
    } else if (d6 >= 0 && d5 <= d6) {
      u = 0;
      v = 1;
    } else if (vb <= 0 && d2 >= 0 && d6 <= 0) {
      u = 0;
      v = d2 / (d2 - d6);
    } else if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
      const w = (d4 - d3) / (d4 - d3 + (d5 - d6));
      u = 1 - w;
      v = w;
    } else {
      const denom = va + vb + vc;
      // A degenerate (zero-area) triangle leaves no interior; its edges were handled above.
      if (!(denom > 0)) {
        u = 0;
        v = 0;
      } else {
        u = vb / denom;
        v = vc / denom;
      }
    }
  }
  const dx = apx - u * abx - v * acx, dy = apy - u * aby - v * acy, dz = apz - u * abz - v * acz;
  return dx * dx + dy * dy + dz * dz;
}
