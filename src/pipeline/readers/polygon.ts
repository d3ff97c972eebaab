import type { IndexList } from './build.js';

/**
 * Triangulates one polygon of an OBJ or PLY file, keeping its winding. Convex polygons are fanned
 * from their first corner; others are ear-clipped in the polygon's own plane (Newell normal), so
 * that concave outlines such as an L or a star come out without triangles outside the outline.
 *
 * `corners` holds vertex indices into `positions` (xyz); triangles are appended to `out`.
 */
export function triangulatePolygon(positions: Float32Array, corners: ArrayLike<number>, out: IndexList): void {
  const n = corners.length;
  if (n < 3) return;
  if (n === 3) {
    out.push3(corners[0]!, corners[1]!, corners[2]!);
    return;
  }
  const { u, v } = projected(positions, corners);
  if (u === undefined || v === undefined || isConvex(u, v)) {
    // Convex, or without area (nothing better to do): a fan is exact for convex outlines.
    for (let i = 1; i + 1 < n; i++) out.push3(corners[0]!, corners[i]!, corners[i + 1]!);
    return;
  }
  earClip(corners, u, v, out);
}

/**
 * 2-D coordinates in the polygon's plane, oriented so that the polygon runs counter-clockwise
 * (positive area) in (u, v). Undefined when the polygon has no area.
 */
function projected(positions: Float32Array, corners: ArrayLike<number>): { u?: Float64Array; v?: Float64Array } {
  const n = corners.length;
  // Newell's method: robust for non-planar and concave polygons alike.
  let nx = 0;
  let ny = 0;
  let nz = 0;
  for (let i = 0; i < n; i++) {
    const a = corners[i]! * 3;
    const b = corners[(i + 1) % n]! * 3;
    const ay = positions[a + 1]!, az = positions[a + 2]!, ax = positions[a]!;
    const by = positions[b + 1]!, bz = positions[b + 2]!, bx = positions[b]!;
    nx += (ay - by) * (az + bz);
    ny += (az - bz) * (ax + bx);
    nz += (ax - bx) * (ay + by);
  }
  const ax = Math.abs(nx), ay = Math.abs(ny), az = Math.abs(nz);
  if (!(ax + ay + az > 0)) return {};
  // Drop the dominant axis; the remaining two form a right-handed pair seen from the normal's side.
  let iu: number, iv: number;
  let sign: number;
  if (az >= ax && az >= ay) {
    iu = 0; iv = 1; sign = nz;
  } else if (ax >= ay) {
    iu = 1; iv = 2; sign = nx;
  } else {
    iu = 2; iv = 0; sign = ny;
  }
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = corners[i]! * 3;
    u[i] = positions[p + iu]!;
    v[i] = sign > 0 ? positions[p + iv]! : -positions[p + iv]!;
  }
  return { u, v };
}

function cross(u: Float64Array, v: Float64Array, a: number, b: number, c: number): number {
  return (u[b]! - u[a]!) * (v[c]! - v[a]!) - (v[b]! - v[a]!) * (u[c]! - u[a]!);
}

/** No corner turns clockwise (straight corners allowed). */
function isConvex(u: Float64Array, v: Float64Array): boolean {
  const n = u.length;
  for (let i = 0; i < n; i++) {
    if (cross(u, v, (i + n - 1) % n, i, (i + 1) % n) < 0) return false;
  }
  return true;
}

/**
 * Classic O(n²) ear clipping: repeatedly cut off a convex corner whose triangle holds no other
 * remaining corner. Polygons in mesh files are small, so the quadratic cost does not matter. A
 * self-intersecting outline may run out of ears; the rest is then fanned rather than lost.
 */
function earClip(corners: ArrayLike<number>, u: Float64Array, v: Float64Array, out: IndexList): void {
  const remaining: number[] = Array.from({ length: corners.length }, (_, i) => i);
  let guard = 0;
  let i = 0;
  while (remaining.length > 3) {
    const m = remaining.length;
    const a = remaining[(i + m - 1) % m]!;
    const b = remaining[i % m]!;
    const c = remaining[(i + 1) % m]!;
    if (isEar(u, v, remaining, a, b, c)) {
      out.push3(corners[a]!, corners[b]!, corners[c]!);
      remaining.splice(i % m, 1);
      guard = 0;
      continue;
    }
    i = (i + 1) % m;
    if (++guard > m) break; // a whole lap without an ear
  }
  for (let k = 1; k + 1 < remaining.length; k++) {
    out.push3(corners[remaining[0]!]!, corners[remaining[k]!]!, corners[remaining[k + 1]!]!);
  }
}

function isEar(u: Float64Array, v: Float64Array, remaining: number[], a: number, b: number, c: number): boolean {
  if (cross(u, v, a, b, c) <= 0) return false; // reflex or straight corner
  for (const p of remaining) {
    if (p === a || p === b || p === c) continue;
    // Corners at the same place as the ear's (a polygon touching itself) do not block it.
    if (samePoint(u, v, p, a) || samePoint(u, v, p, b) || samePoint(u, v, p, c)) continue;
    if (cross(u, v, a, b, p) >= 0 && cross(u, v, b, c, p) >= 0 && cross(u, v, c, a, p) >= 0) return false;
  }
  return true;
}

function samePoint(u: Float64Array, v: Float64Array, p: number, q: number): boolean {
  return u[p] === u[q] && v[p] === v[q];
}
