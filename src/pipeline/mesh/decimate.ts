/**
 * Quadric error metric edge collapse after Garland & Heckbert, "Surface Simplification Using
 * Quadric Error Metrics" (SIGGRAPH 1997), restricted to edges (no non-edge pair contraction) so the
 * topology of the input is kept: a closed, consistently oriented surface stays closed and oriented.
 *
 * Colour: the merged vertex takes the colour interpolated along the collapsed edge at the
 * projection of its new position. An attribute-extended quadric (Hoppe 1999) would weigh colour in
 * the cost, but it needs 6x6 systems and about three times the memory per vertex; marching-cubes
 * colours vary smoothly across the surface, so geometry alone is a good guide to where to collapse.
 *
 * Faces whose three indices are not distinct are dropped on input: they carry no area and no
 * orientation and would only confuse the link test.
 */
import type { Mesh } from './mesh.js';
import { vertexNormals } from './normals.js';
import { CancelledError } from '../progress.js';
import { DeviationGuard } from './deviationGuard.js';

export interface DecimateOptions {
  readonly signal?: AbortSignal;
  /** Called with the fraction of the requested reduction done so far, in [0, 1]. */
  readonly onProgress?: (fraction: number) => void;
  /** Pin open boundaries with penalty planes so an open mesh keeps its outline. */
  readonly preserveBoundary?: boolean;
  /**
   * Refuse any collapse that would put the result farther than this from the input, either way
   * (deviationGuard.ts), in the mesh's units. With it, the target is a floor rather than a goal: the
   * run goes on until no collapse is left within the bound or the target is reached.
   */
  readonly maxDeviation?: number;
  /**
   * Edges whose faces meet at more than this angle (degrees) get penalty planes like open
   * boundaries, so the cost ranks moving a crease or corner as dear as moving an outline.
   */
  readonly creaseAngleDegrees?: number;
  /**
   * Place each merged vertex so the enclosed volume does not change (Lindstrom & Turk, "Fast and
   * Memory Efficient Polygonal Simplification", 1998): the quadric optimum moved along the quadric's
   * cheapest direction onto the plane of volume-preserving positions. Without it, collapses on a
   * convex surface each cut a little inside and a solid shrinks by about the tolerance times its area.
   */
  readonly preserveVolume?: boolean;
}

/**
 * A rotated face normal whose cosine to its old direction falls below this is treated as a fold.
 * Zero would be the strict "no flip" rule; a little margin keeps slivers from turning nearly
 * edge-on, where the next collapse nearby could flip them outright.
 */
const MIN_NORMAL_COSINE = 0.2;
/** Weight of a boundary penalty plane relative to the area-weighted face planes (per squared length). */
const BOUNDARY_WEIGHT = 1000;
/** How many collapses between abort checks and progress reports. */
const CHECK_INTERVAL = 4096;

/** Lower triangle of the symmetric 4x4 quadric: aa ab ac ad bb bc bd cc cd dd. */
const Q = 10;

function addPlane(q: Float64Array, v: number, a: number, b: number, c: number, d: number, w: number): void {
  const o = Q * v;
  q[o] += w * a * a;
  q[o + 1] += w * a * b;
  q[o + 2] += w * a * c;
  q[o + 3] += w * a * d;
  q[o + 4] += w * b * b;
  q[o + 5] += w * b * c;
  q[o + 6] += w * b * d;
  q[o + 7] += w * c * c;
  q[o + 8] += w * c * d;
  q[o + 9] += w * d * d;
}

/** A binary min-heap of candidate collapses; stale ones are skipped when popped (lazy deletion). */
class CollapseHeap {
  cost = new Float64Array(1024);
  /** Per heap slot: index into the candidate pool. */
  slot = new Int32Array(1024);
  size = 0;
  // Candidate pool: the edge, the new position, and the endpoint versions it was computed against.
  from = new Int32Array(1024);
  to = new Int32Array(1024);
  fromVersion = new Int32Array(1024);
  toVersion = new Int32Array(1024);
  target = new Float64Array(3 * 1024);
  poolSize = 0;

  push(cost: number, a: number, b: number, va: number, vb: number, x: number, y: number, z: number): void {
    if (this.poolSize === this.from.length) this.growPool();
    const p = this.poolSize++;
    this.from[p] = a;
    this.to[p] = b;
    this.fromVersion[p] = va;
    this.toVersion[p] = vb;
    this.target[3 * p] = x;
    this.target[3 * p + 1] = y;
    this.target[3 * p + 2] = z;
    if (this.size === this.cost.length) {
      const cost = new Float64Array(this.cost.length * 2);
      cost.set(this.cost);
      this.cost = cost;
      const slot = new Int32Array(this.slot.length * 2);
      slot.set(this.slot);
      this.slot = slot;
    }
    const { cost: costs, slot } = this;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (costs[parent]! <= cost) break;
      costs[i] = costs[parent]!;
      slot[i] = slot[parent]!;
      i = parent;
    }
    costs[i] = cost;
    slot[i] = p;
  }

  /** Removes the cheapest candidate and returns its pool index. */
  pop(): number {
    const { cost: costs, slot } = this;
    const top = slot[0]!;
    const n = --this.size;
    if (n > 0) {
      const lastCost = costs[n]!;
      const lastSlot = slot[n]!;
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && costs[child + 1]! < costs[child]!) child++;
        if (costs[child]! >= lastCost) break;
        costs[i] = costs[child]!;
        slot[i] = slot[child]!;
        i = child;
      }
      costs[i] = lastCost;
      slot[i] = lastSlot;
    }
    return top;
  }

  private growPool(): void {
    const n = this.from.length * 2;
    const grow = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.from = grow(this.from);
    this.to = grow(this.to);
    this.fromVersion = grow(this.fromVersion);
    this.toVersion = grow(this.toVersion);
    const t = new Float64Array(3 * n);
    t.set(this.target);
    this.target = t;
  }
}

/**
 * Reduces `mesh` to at most about `targetTriangles` triangles (fewer is never forced: collapses
 * that would fold the surface or break the manifold are refused, so a mesh may stop above the
 * target). The result is compacted and carries fresh area-weighted normals.
 */
export function decimate(mesh: Mesh, targetTriangles: number, options: DecimateOptions = {}): Mesh {
  const { signal, onProgress, preserveBoundary = false, maxDeviation, creaseAngleDegrees, preserveVolume = false } = options;
  if (maxDeviation !== undefined && !(maxDeviation > 0)) throw new RangeError(`decimate: maxDeviation must be positive, got ${maxDeviation}`);
  if (signal?.aborted) throw new CancelledError();
  if (!(targetTriangles >= 0)) throw new RangeError(`decimate: target must be a non-negative number, got ${targetTriangles}`);
  const vertexCount = Math.floor(mesh.positions.length / 3);
  const inputFaces = Math.floor(mesh.indices.length / 3);
  const colors = mesh.colors !== undefined && mesh.colors.length >= 3 * vertexCount ? mesh.colors : undefined;

  const pos = Float64Array.from(mesh.positions.subarray(0, 3 * vertexCount));
  const col = colors ? Float64Array.from(colors.subarray(0, 3 * vertexCount)) : undefined;
  const faces = new Int32Array(3 * inputFaces);
  const faceAlive = new Uint8Array(inputFaces);
  let liveFaces = 0;
  for (let f = 0; f < inputFaces; f++) {
    const a = mesh.indices[3 * f]!, b = mesh.indices[3 * f + 1]!, c = mesh.indices[3 * f + 2]!;
    if (a >= vertexCount || b >= vertexCount || c >= vertexCount) {
      throw new RangeError(`decimate: triangle ${f} indexes past ${vertexCount} vertices`);
    }
    faces[3 * f] = a;
    faces[3 * f + 1] = b;
    faces[3 * f + 2] = c;
    if (a !== b && b !== c && c !== a) {
      faceAlive[f] = 1;
      liveFaces++;
    }
  }

  if (liveFaces > targetTriangles) {
    const guard = maxDeviation === undefined ? undefined : new DeviationGuard(mesh.positions, mesh.indices, faces, faceAlive, maxDeviation);
    const creaseCosine = creaseAngleDegrees === undefined ? undefined : Math.cos((creaseAngleDegrees * Math.PI) / 180);
    liveFaces = collapseEdges(pos, col, faces, faceAlive, liveFaces, vertexCount, Math.floor(targetTriangles), { preserveBoundary, guard, creaseCosine, preserveVolume }, signal, onProgress);
  }
  onProgress?.(1);
  return compact(pos, col, faces, faceAlive, liveFaces, vertexCount);
}

function collapseEdges(
  pos: Float64Array,
  col: Float64Array | undefined,
  faces: Int32Array,
  faceAlive: Uint8Array,
  liveFaces: number,
  vertexCount: number,
  target: number,
  rules: { readonly preserveBoundary: boolean; readonly guard: DeviationGuard | undefined; readonly creaseCosine: number | undefined; readonly preserveVolume: boolean },
  signal: AbortSignal | undefined,
  onProgress: ((fraction: number) => void) | undefined,
): number {
  const faceCount = faceAlive.length;
  const startFaces = liveFaces;
  const { preserveBoundary, guard, creaseCosine, preserveVolume } = rules;

  // Vertex -> face lists live in one growing pool; a collapse appends the merged list to the end
  // rather than editing in place, so each vertex's list stays contiguous without per-vertex arrays.
  const listStart = new Int32Array(vertexCount);
  const listLength = new Int32Array(vertexCount);
  for (let f = 0; f < faceCount; f++) {
    if (!faceAlive[f]) continue;
    for (let k = 0; k < 3; k++) listLength[faces[3 * f + k]!]++;
  }
  let poolUsed = 0;
  for (let v = 0; v < vertexCount; v++) {
    listStart[v] = poolUsed;
    poolUsed += listLength[v]!;
  }
  let pool = new Int32Array(Math.max(1024, poolUsed * 3));
  {
    const fill = new Int32Array(vertexCount);
    for (let f = 0; f < faceCount; f++) {
      if (!faceAlive[f]) continue;
      for (let k = 0; k < 3; k++) {
        const v = faces[3 * f + k]!;
        pool[listStart[v]! + fill[v]!++] = f;
      }
    }
  }

  const quadric = new Float64Array(Q * vertexCount);
  for (let f = 0; f < faceCount; f++) {
    if (!faceAlive[f]) continue;
    const a = faces[3 * f]!, b = faces[3 * f + 1]!, c = faces[3 * f + 2]!;
    const ax = pos[3 * a]!, ay = pos[3 * a + 1]!, az = pos[3 * a + 2]!;
    const ux = pos[3 * b]! - ax, uy = pos[3 * b + 1]! - ay, uz = pos[3 * b + 2]! - az;
    const wx = pos[3 * c]! - ax, wy = pos[3 * c + 1]! - ay, wz = pos[3 * c + 2]! - az;
    let nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    if (len === 0) continue;
    // The plane is weighted by area (len / 2) so a sliver cannot pin a vertex as hard as a big face.
    const w = len / 2;
    nx /= len;
    ny /= len;
    nz /= len;
    const d = -(nx * ax + ny * ay + nz * az);
    addPlane(quadric, a, nx, ny, nz, d, w);
    addPlane(quadric, b, nx, ny, nz, d, w);
    addPlane(quadric, c, nx, ny, nz, d, w);
  }

  // Scratch marks over vertices: mark[v] === stamp means "seen in the current neighbourhood".
  const mark = new Int32Array(vertexCount);
  const count = new Int32Array(vertexCount);
  let stamp = 0;
  const boundaryVertex = new Uint8Array(vertexCount);
  const version = new Int32Array(vertexCount);
  const vertexAlive = new Uint8Array(vertexCount);

  // Boundary edges are the neighbour pairs seen from only one face.
  for (let v = 0; v < vertexCount; v++) {
    const s = listStart[v]!, n = listLength[v]!;
    if (n === 0) continue;
    vertexAlive[v] = 1;
    stamp++;
    for (let i = s; i < s + n; i++) {
      const f = pool[i]!;
      for (let k = 0; k < 3; k++) {
        const u = faces[3 * f + k]!;
        if (u === v) continue;
        if (mark[u] !== stamp) {
          mark[u] = stamp;
          count[u] = 0;
        }
        count[u]++;
      }
    }
    for (let i = s; i < s + n; i++) {
      const f = pool[i]!;
      for (let k = 0; k < 3; k++) {
        const u = faces[3 * f + k]!;
        if (u === v || count[u] !== 1) continue;
        boundaryVertex[v] = 1;
        // Each boundary edge gets its penalty plane once, from its lower endpoint.
        if (!preserveBoundary || u < v) continue;
        const w = faces[3 * f + ((k + 1) % 3)] === v ? faces[3 * f + ((k + 2) % 3)]! : faces[3 * f + ((k + 1) % 3)]!;
        addBoundaryPlane(quadric, pos, v, u, w);
      }
    }
  }

  // Vertices on a crease or an outline: volume-keeping placement leaves them where the quadric put them.
  const creaseVertex = Uint8Array.from(boundaryVertex);
  if (creaseCosine !== undefined) addCreasePlanes(quadric, pos, faces, faceAlive, creaseCosine, creaseVertex);

  const heap = new CollapseHeap();
  let star = new Int32Array(64);
  const best = new Float64Array(4);

  /** Cost and position for collapsing edge (a, b); written into `best` as x, y, z, cost. */
  const evaluate = (a: number, b: number): void => {
    const oa = Q * a, ob = Q * b;
    const q0 = quadric[oa]! + quadric[ob]!, q1 = quadric[oa + 1]! + quadric[ob + 1]!;
    const q2 = quadric[oa + 2]! + quadric[ob + 2]!, q3 = quadric[oa + 3]! + quadric[ob + 3]!;
    const q4 = quadric[oa + 4]! + quadric[ob + 4]!, q5 = quadric[oa + 5]! + quadric[ob + 5]!;
    const q6 = quadric[oa + 6]! + quadric[ob + 6]!, q7 = quadric[oa + 7]! + quadric[ob + 7]!;
    const q8 = quadric[oa + 8]! + quadric[ob + 8]!, q9 = quadric[oa + 9]! + quadric[ob + 9]!;
    const err = (x: number, y: number, z: number): number =>
      x * (q0 * x + 2 * (q1 * y + q2 * z + q3)) + y * (q4 * y + 2 * (q5 * z + q6)) + z * (q7 * z + 2 * q8) + q9;

    const ax = pos[3 * a]!, ay = pos[3 * a + 1]!, az = pos[3 * a + 2]!;
    const bx = pos[3 * b]!, by = pos[3 * b + 1]!, bz = pos[3 * b + 2]!;
    const ex = bx - ax, ey = by - ay, ez = bz - az;
    const edge2 = ex * ex + ey * ey + ez * ez;

    // On a crease the cheapest point of the summed quadric is a compromise between the planes of
    // both sides and of the crease's penalty planes: a machined rim's vertex lands 1e-4 of the part
    // off its flat face, which then no longer merges into one planar face. A crease vertex therefore
    // stays where it is, an original vertex exactly on both faces, and a vertex that joins it moves to it.
    if (creaseCosine !== undefined && (creaseVertex[a] || creaseVertex[b])) {
      const ea = creaseVertex[a] ? err(ax, ay, az) : Infinity;
      const eb = creaseVertex[b] ? err(bx, by, bz) : Infinity;
      const onA = ea <= eb;
      best[0] = onA ? ax : bx;
      best[1] = onA ? ay : by;
      best[2] = onA ? az : bz;
      best[3] = Math.max(0, onA ? ea : eb);
      return;
    }

    // Cofactors of the 3x3 block; the determinant is compared with the cube of its scale so the
    // test does not depend on the mesh's units.
    const c00 = q4 * q7 - q5 * q5, c01 = q2 * q5 - q1 * q7, c02 = q1 * q5 - q2 * q4;
    const det = q0 * c00 + q1 * c01 + q2 * c02;
    const scale = q0 + q4 + q7;
    if (Math.abs(det) > 1e-9 * scale * scale * scale && scale > 0) {
      const c11 = q0 * q7 - q2 * q2, c12 = q1 * q2 - q0 * q5, c22 = q0 * q4 - q1 * q1;
      const x = -(c00 * q3 + c01 * q6 + c02 * q8) / det;
      const y = -(c01 * q3 + c11 * q6 + c12 * q8) / det;
      const z = -(c02 * q3 + c12 * q6 + c22 * q8) / det;
      // A nearly singular system can put the optimum far off along a flat direction; a point more
      // than an edge length from the midpoint is not trusted.
      const mx = x - (ax + bx) / 2, my = y - (ay + by) / 2, mz = z - (az + bz) / 2;
      if (mx * mx + my * my + mz * mz <= edge2 && Number.isFinite(x + y + z)) {
        best[0] = x;
        best[1] = y;
        best[2] = z;
        best[3] = Math.max(0, err(x, y, z));
        return;
      }
    }
    const ea = err(ax, ay, az);
    const eb = err(bx, by, bz);
    const mx = (ax + bx) / 2, my = (ay + by) / 2, mz = (az + bz) / 2;
    const em = err(mx, my, mz);
    if (em <= ea && em <= eb) {
      best[0] = mx;
      best[1] = my;
      best[2] = mz;
      best[3] = Math.max(0, em);
    } else if (ea <= eb) {
      best[0] = ax;
      best[1] = ay;
      best[2] = az;
      best[3] = Math.max(0, ea);
    } else {
      best[0] = bx;
      best[1] = by;
      best[2] = bz;
      best[3] = Math.max(0, eb);
    }
  };

  /**
   * Moves `best` onto the positions that keep the volume under the faces around a and b, along the
   * direction the quadric charges least for (A⁻¹g), and rewrites its cost. Coordinates are taken
   * relative to a so the triple products do not cancel on a mesh far from the origin.
   */
  const keepVolume = (a: number, b: number): void => {
    // A crease or outline is where planes meet (a machined edge, a hole's rim): the volume-keeping
    // move would lift it off the planes on either side, and a smooth surface loses little volume
    // along its few creases.
    if (creaseVertex[a] || creaseVertex[b]) return;
    const ox = pos[3 * a]!, oy = pos[3 * a + 1]!, oz = pos[3 * a + 2]!;
    let gx = 0, gy = 0, gz = 0, c = 0;
    for (const [v, other] of [[a, b], [b, a]] as const) {
      const s = listStart[v]!, n = listLength[v]!;
      for (let i = s; i < s + n; i++) {
        const f = pool[i]!;
        if (!faceAlive[f]) continue;
        const o = 3 * f;
        const f0 = faces[o]!, f1 = faces[o + 1]!, f2 = faces[o + 2]!;
        const onEdge = f0 === other || f1 === other || f2 === other;
        // A face on the edge sits in both lists: count its old volume once, from a's.
        if (onEdge && v === b) continue;
        const p0x = pos[3 * f0]! - ox, p0y = pos[3 * f0 + 1]! - oy, p0z = pos[3 * f0 + 2]! - oz;
        const p1x = pos[3 * f1]! - ox, p1y = pos[3 * f1 + 1]! - oy, p1z = pos[3 * f1 + 2]! - oz;
        const p2x = pos[3 * f2]! - ox, p2y = pos[3 * f2 + 1]! - oy, p2z = pos[3 * f2 + 2]! - oz;
        c += p0x * (p1y * p2z - p1z * p2y) + p0y * (p1z * p2x - p1x * p2z) + p0z * (p1x * p2y - p1y * p2x);
        if (onEdge) continue;
        // The other two corners in winding order after the moving one: det(p, u, w) = p · (u × w).
        const u = f0 === v ? f1 : f1 === v ? f2 : f0;
        const w = f0 === v ? f2 : f1 === v ? f0 : f1;
        const ux = pos[3 * u]! - ox, uy = pos[3 * u + 1]! - oy, uz = pos[3 * u + 2]! - oz;
        const wx = pos[3 * w]! - ox, wy = pos[3 * w + 1]! - oy, wz = pos[3 * w + 2]! - oz;
        gx += uy * wz - uz * wy;
        gy += uz * wx - ux * wz;
        gz += ux * wy - uy * wx;
      }
    }
    const oa = Q * a, ob = Q * b;
    const q0 = quadric[oa]! + quadric[ob]!, q1 = quadric[oa + 1]! + quadric[ob + 1]!, q2 = quadric[oa + 2]! + quadric[ob + 2]!;
    const q4 = quadric[oa + 4]! + quadric[ob + 4]!, q5 = quadric[oa + 5]! + quadric[ob + 5]!, q7 = quadric[oa + 7]! + quadric[ob + 7]!;
    const c00 = q4 * q7 - q5 * q5, c01 = q2 * q5 - q1 * q7, c02 = q1 * q5 - q2 * q4;
    const c11 = q0 * q7 - q2 * q2, c12 = q1 * q2 - q0 * q5, c22 = q0 * q4 - q1 * q1;
    const det = q0 * c00 + q1 * c01 + q2 * c02;
    const scale = q0 + q4 + q7;
    // A singular quadric (a flat or evenly creased neighbourhood) has no single cheapest direction to
    // move along; g itself is the surface normal there, and moving along it takes a vertex of a
    // plane off its plane, so the STEP writer could no longer merge the plane into one face.
    if (!(Math.abs(det) > 1e-9 * scale * scale * scale && scale > 0)) return;
    // The adjugate times g: A⁻¹g up to the factor det, which the step below divides out.
    const dx = c00 * gx + c01 * gy + c02 * gz;
    const dy = c01 * gx + c11 * gy + c12 * gz;
    const dz = c02 * gx + c12 * gy + c22 * gz;
    const gd = gx * dx + gy * dy + gz * dz;
    if (!(Math.abs(gd) > 0)) return;
    const px = best[0]! - ox, py = best[1]! - oy, pz = best[2]! - oz;
    const t = (c - (gx * px + gy * py + gz * pz)) / gd;
    const x = best[0]! + t * dx, y = best[1]! + t * dy, z = best[2]! + t * dz;
    const ex = pos[3 * b]! - ox, ey = pos[3 * b + 1]! - oy, ez = pos[3 * b + 2]! - oz;
    const mx = x - ox - ex / 2, my = y - oy - ey / 2, mz = z - oz - ez / 2;
    // As for the unconstrained optimum: a point more than an edge length off is not trusted.
    if (!(mx * mx + my * my + mz * mz <= ex * ex + ey * ey + ez * ez) || !Number.isFinite(x + y + z)) return;
    const q3 = quadric[oa + 3]! + quadric[ob + 3]!, q6 = quadric[oa + 6]! + quadric[ob + 6]!;
    const q8 = quadric[oa + 8]! + quadric[ob + 8]!, q9 = quadric[oa + 9]! + quadric[ob + 9]!;
    best[0] = x;
    best[1] = y;
    best[2] = z;
    best[3] = Math.max(0, x * (q0 * x + 2 * (q1 * y + q2 * z + q3)) + y * (q4 * y + 2 * (q5 * z + q6)) + z * (q7 * z + 2 * q8) + q9);
  };

  const pushEdge = (a: number, b: number): void => {
    evaluate(a, b);
    if (preserveVolume) keepVolume(a, b);
    heap.push(best[3]!, a, b, version[a]!, version[b]!, best[0]!, best[1]!, best[2]!);
  };

  for (let v = 0; v < vertexCount; v++) {
    const s = listStart[v]!, n = listLength[v]!;
    stamp++;
    for (let i = s; i < s + n; i++) {
      const f = pool[i]!;
      for (let k = 0; k < 3; k++) {
        const u = faces[3 * f + k]!;
        if (u <= v || mark[u] === stamp) continue;
        mark[u] = stamp;
        pushEdge(v, u);
      }
    }
  }

  /**
   * True when moving every face around `v` (except those on edge v-other) to `v`'s new position
   * (x, y, z) keeps each one from folding over or collapsing to nothing.
   */
  const keepsOrientation = (v: number, other: number, x: number, y: number, z: number): boolean => {
    const s = listStart[v]!, n = listLength[v]!;
    for (let i = s; i < s + n; i++) {
      const f = pool[i]!;
      if (!faceAlive[f]) continue;
      const o = 3 * f;
      const f0 = faces[o]!, f1 = faces[o + 1]!, f2 = faces[o + 2]!;
      if (f0 === other || f1 === other || f2 === other) continue;
      // Rotate so the moving vertex comes first; the other two keep their winding order.
      const p = f0 === v ? f1 : f1 === v ? f2 : f0;
      const r = f0 === v ? f2 : f1 === v ? f0 : f1;
      const px = pos[3 * p]!, py = pos[3 * p + 1]!, pz = pos[3 * p + 2]!;
      const rx = pos[3 * r]! - px, ry = pos[3 * r + 1]! - py, rz = pos[3 * r + 2]! - pz;
      const vx = pos[3 * v]! - px, vy = pos[3 * v + 1]! - py, vz = pos[3 * v + 2]! - pz;
      const nx = x - px, ny = y - py, nz = z - pz;
      const ox = ry * vz - rz * vy, oy = rz * vx - rx * vz, oz = rx * vy - ry * vx;
      const mx = ry * nz - rz * ny, my = rz * nx - rx * nz, mz = rx * ny - ry * nx;
      const old2 = ox * ox + oy * oy + oz * oz;
      const new2 = mx * mx + my * my + mz * mz;
      if (new2 <= 1e-12 * old2) return false;
      const dot = ox * mx + oy * my + oz * mz;
      if (dot < MIN_NORMAL_COSINE * Math.sqrt(old2 * new2)) return false;
    }
    return true;
  };

  /**
   * The link condition: the vertices adjacent to both a and b must be exactly the apexes of the
   * faces on edge a-b, or the collapse would glue two sheets together along an edge.
   */
  const linkHolds = (a: number, b: number): boolean => {
    let onEdge = 0;
    stamp++;
    const sa = listStart[a]!, na = listLength[a]!;
    for (let i = sa; i < sa + na; i++) {
      const f = pool[i]!;
      const f0 = faces[3 * f]!, f1 = faces[3 * f + 1]!, f2 = faces[3 * f + 2]!;
      if (f0 === b || f1 === b || f2 === b) {
        if (++onEdge > 2) return false;
      }
      mark[f0] = stamp;
      mark[f1] = stamp;
      mark[f2] = stamp;
    }
    if (onEdge === 0) return false;
    // An interior edge between two boundary vertices would pinch the surface into a bow-tie.
    if (onEdge === 2 && boundaryVertex[a] && boundaryVertex[b]) return false;
    const sb = listStart[b]!, nb = listLength[b]!;
    let common = 0;
    stamp++;
    const seen = stamp;
    for (let i = sb; i < sb + nb; i++) {
      const f = pool[i]!;
      for (let k = 0; k < 3; k++) {
        const u = faces[3 * f + k]!;
        if (u === a || u === b) continue;
        // mark[u] === seen - 1 means u neighbours a; re-marking with `seen` counts it once.
        if (mark[u] === seen - 1) {
          mark[u] = seen;
          common++;
        }
      }
    }
    return common === onEdge;
  };

  const toRemove = Math.max(1, startFaces - target);
  let collapses = 0;
  while (liveFaces > target && heap.size > 0) {
    const p = heap.pop();
    const a = heap.from[p]!, b = heap.to[p]!;
    if (!vertexAlive[a] || !vertexAlive[b]) continue;
    if (heap.fromVersion[p] !== version[a] || heap.toVersion[p] !== version[b]) continue;
    let x = heap.target[3 * p]!, y = heap.target[3 * p + 1]!, z = heap.target[3 * p + 2]!;
    if (!linkHolds(a, b)) continue;
    if (preserveVolume) {
      // A neighbour's collapse moves the faces around a and b without touching their versions, so
      // the volume-keeping position computed at push time may be stale: place it again now.
      evaluate(a, b);
      keepVolume(a, b);
      x = best[0]!;
      y = best[1]!;
      z = best[2]!;
    }
    if (!keepsOrientation(a, b, x, y, z) || !keepsOrientation(b, a, x, y, z)) continue;
    if (guard) {
      // The live faces around a or b, each once (those on the edge sit in both lists).
      const sa = listStart[a]!, na = listLength[a]!, sb = listStart[b]!, nb = listLength[b]!;
      if (star.length < na + nb) star = new Int32Array(2 * (na + nb));
      let starCount = 0;
      for (let i = sa; i < sa + na; i++) if (faceAlive[pool[i]!]) star[starCount++] = pool[i]!;
      for (let i = sb; i < sb + nb; i++) {
        const f = pool[i]!;
        if (faceAlive[f] && faces[3 * f] !== a && faces[3 * f + 1] !== a && faces[3 * f + 2] !== a) star[starCount++] = f;
      }
      if (!guard.allows(a, b, x, y, z, pos, star, starCount)) continue;
      guard.commit();
    }

    if (col) {
      // Colour at the projection of the new position onto the edge, clamped to the edge.
      const ex = pos[3 * b]! - pos[3 * a]!, ey = pos[3 * b + 1]! - pos[3 * a + 1]!, ez = pos[3 * b + 2]! - pos[3 * a + 2]!;
      const e2 = ex * ex + ey * ey + ez * ez;
      let t = e2 > 0 ? ((x - pos[3 * a]!) * ex + (y - pos[3 * a + 1]!) * ey + (z - pos[3 * a + 2]!) * ez) / e2 : 0.5;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      for (let k = 0; k < 3; k++) col[3 * a + k] = col[3 * a + k]! + t * (col[3 * b + k]! - col[3 * a + k]!);
    }

    // Kill the faces on the edge, then rewrite b's other faces to use a.
    const sa = listStart[a]!, na = listLength[a]!;
    const sb = listStart[b]!, nb = listLength[b]!;
    if (poolUsed + na + nb > pool.length) {
      const grown = new Int32Array(Math.max(pool.length * 2, poolUsed + na + nb));
      grown.set(pool.subarray(0, poolUsed));
      pool = grown;
    }
    const start = poolUsed;
    for (let i = sa; i < sa + na; i++) {
      const f = pool[i]!;
      if (!faceAlive[f]) continue;
      const o = 3 * f;
      if (faces[o] === b || faces[o + 1] === b || faces[o + 2] === b) {
        faceAlive[f] = 0;
        liveFaces--;
        continue;
      }
      pool[poolUsed++] = f;
    }
    for (let i = sb; i < sb + nb; i++) {
      const f = pool[i]!;
      if (!faceAlive[f]) continue;
      const o = 3 * f;
      if (faces[o] === b) faces[o] = a;
      else if (faces[o + 1] === b) faces[o + 1] = a;
      else faces[o + 2] = a;
      pool[poolUsed++] = f;
    }
    listStart[a] = start;
    listLength[a] = poolUsed - start;
    listLength[b] = 0;
    vertexAlive[b] = 0;
    version[a]++;
    version[b]++;
    boundaryVertex[a] = boundaryVertex[a]! | boundaryVertex[b]!;
    creaseVertex[a] = creaseVertex[a]! | creaseVertex[b]!;
    pos[3 * a] = x;
    pos[3 * a + 1] = y;
    pos[3 * a + 2] = z;
    for (let k = 0; k < Q; k++) quadric[Q * a + k] += quadric[Q * b + k]!;

    // Every edge at a changed cost; the version bump already made their old entries stale.
    stamp++;
    const s = listStart[a]!, n = listLength[a]!;
    for (let i = s; i < s + n; i++) {
      const f = pool[i]!;
      for (let k = 0; k < 3; k++) {
        const u = faces[3 * f + k]!;
        if (u === a || mark[u] === stamp) continue;
        mark[u] = stamp;
        pushEdge(a, u);
      }
    }

    // The pool only grows; once the dead lists outweigh the live ones, pack it.
    if (poolUsed > 4 * 3 * liveFaces + 1024 && poolUsed > pool.length / 2) {
      const packed = new Int32Array(pool.length);
      let used = 0;
      for (let v = 0; v < vertexCount; v++) {
        const s0 = listStart[v]!, n0 = listLength[v]!;
        listStart[v] = used;
        for (let i = s0; i < s0 + n0; i++) {
          const f = pool[i]!;
          if (faceAlive[f]) packed[used++] = f;
        }
        listLength[v] = used - listStart[v]!;
      }
      pool = packed;
      poolUsed = used;
    }

    if (++collapses % CHECK_INTERVAL === 0) {
      if (signal?.aborted) throw new CancelledError();
      onProgress?.(Math.min(1, (startFaces - liveFaces) / toRemove));
    }
  }
  return liveFaces;
}

/**
 * A plane through boundary edge v-u, perpendicular to its one face (v, u, w), so sliding a boundary
 * vertex along the outline is free but moving it across costs heavily.
 */
function addBoundaryPlane(q: Float64Array, pos: Float64Array, v: number, u: number, w: number): void {
  const vx = pos[3 * v]!, vy = pos[3 * v + 1]!, vz = pos[3 * v + 2]!;
  const ex = pos[3 * u]! - vx, ey = pos[3 * u + 1]! - vy, ez = pos[3 * u + 2]! - vz;
  const wx = pos[3 * w]! - vx, wy = pos[3 * w + 1]! - vy, wz = pos[3 * w + 2]! - vz;
  const fx = ey * wz - ez * wy, fy = ez * wx - ex * wz, fz = ex * wy - ey * wx;
  let nx = ey * fz - ez * fy, ny = ez * fx - ex * fz, nz = ex * fy - ey * fx;
  const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
  if (len === 0) return;
  nx /= len;
  ny /= len;
  nz /= len;
  const d = -(nx * vx + ny * vy + nz * vz);
  const weight = BOUNDARY_WEIGHT * (ex * ex + ey * ey + ez * ez);
  addPlane(q, v, nx, ny, nz, d, weight);
  addPlane(q, u, nx, ny, nz, d, weight);
}

/**
 * Penalty planes along every edge whose two faces meet at more than the crease angle: one through the
 * edge perpendicular to each face, as for an open boundary, so sliding along the crease is cheap and
 * leaving it is not.
 */
function addCreasePlanes(q: Float64Array, pos: Float64Array, faces: Int32Array, faceAlive: Uint8Array, creaseCosine: number, onCrease: Uint8Array): void {
  const normal = (f: number): [number, number, number] => {
    const a = faces[3 * f]!, b = faces[3 * f + 1]!, c = faces[3 * f + 2]!;
    const ux = pos[3 * b]! - pos[3 * a]!, uy = pos[3 * b + 1]! - pos[3 * a + 1]!, uz = pos[3 * b + 2]! - pos[3 * a + 2]!;
    const wx = pos[3 * c]! - pos[3 * a]!, wy = pos[3 * c + 1]! - pos[3 * a + 1]!, wz = pos[3 * c + 2]! - pos[3 * a + 2]!;
    const nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const len = Math.hypot(nx, ny, nz) || 1;
    return [nx / len, ny / len, nz / len];
  };
  const vertexCount = pos.length / 3;
  // Each undirected edge, keyed by its endpoints, to the first face seen on it.
  const firstFace = new Map<number, number>();
  for (let f = 0; f < faceAlive.length; f++) {
    if (!faceAlive[f]) continue;
    for (let k = 0; k < 3; k++) {
      const u = faces[3 * f + k]!, v = faces[3 * f + ((k + 1) % 3)]!;
      const key = u < v ? u * vertexCount + v : v * vertexCount + u;
      const g = firstFace.get(key);
      if (g === undefined) {
        firstFace.set(key, f);
        continue;
      }
      const n = normal(f), m = normal(g);
      if (n[0] * m[0] + n[1] * m[1] + n[2] * m[2] >= creaseCosine) continue;
      const apex = (h: number): number => faces[3 * h]! !== u && faces[3 * h]! !== v ? faces[3 * h]! : faces[3 * h + 1]! !== u && faces[3 * h + 1]! !== v ? faces[3 * h + 1]! : faces[3 * h + 2]!;
      addBoundaryPlane(q, pos, u, v, apex(f));
      addBoundaryPlane(q, pos, u, v, apex(g));
      onCrease[u] = 1;
      onCrease[v] = 1;
    }
  }
}

function compact(
  pos: Float64Array,
  col: Float64Array | undefined,
  faces: Int32Array,
  faceAlive: Uint8Array,
  liveFaces: number,
  vertexCount: number,
): Mesh {
  // Survivors keep their relative order, so an untouched mesh comes back index for index.
  const remap = new Int32Array(vertexCount).fill(-1);
  for (let f = 0; f < faceAlive.length; f++) {
    if (!faceAlive[f]) continue;
    for (let k = 0; k < 3; k++) remap[faces[3 * f + k]!] = 0;
  }
  let used = 0;
  for (let v = 0; v < vertexCount; v++) if (remap[v] === 0) remap[v] = used++;
  const indices = new Uint32Array(3 * liveFaces);
  let out = 0;
  for (let f = 0; f < faceAlive.length; f++) {
    if (!faceAlive[f]) continue;
    for (let k = 0; k < 3; k++) indices[out++] = remap[faces[3 * f + k]!]!;
  }
  const positions = new Float32Array(3 * used);
  const colors = col ? new Float32Array(3 * used) : undefined;
  for (let v = 0; v < vertexCount; v++) {
    const r = remap[v]!;
    if (r < 0) continue;
    for (let k = 0; k < 3; k++) {
      // + 0 turns a solved -0 into 0, which text writers (DXF, STEP) would otherwise print as "-0".
      positions[3 * r + k] = pos[3 * v + k]! + 0;
      if (colors && col) colors[3 * r + k] = col[3 * v + k]!;
    }
  }
  const normals = vertexNormals(positions, indices);
  return colors ? { positions, indices, colors, normals } : { positions, indices, normals };
}
