import type { FittedSurface } from '../../mesh/fit/surfaces.js';
import { nextHalfEdge, previousHalfEdge } from './adjacency.js';
import type { CurvedFace } from './curvedFaces.js';
import { Float64List, Int32List } from './lists.js';
import { directionDecimals, roundDirection } from './tolerance.js';
import { GRID_PER_MM } from './weld.js';

/**
 * Planar faces over a triangle mesh: each face a set of edge-connected triangles that lie in one
 * plane, written as that plane bounded by the region's boundary loops. Loops are lists of the mesh's
 * half-edges (see adjacency.ts), so faces on either side of an edge name the same mesh edge and the
 * writer can share it.
 */
export interface FaceSet {
  readonly count: number;
  /** Per face, its first loop; count + 1 entries. A face's first loop is its outer bound. */
  readonly faceLoops: Int32Array;
  /** Per loop, its first entry in loopEdges; one entry more than there are loops. */
  readonly loopStart: Int32Array;
  /** Boundary half-edges, loop after loop, each loop head to tail with the face on its left. */
  readonly loopEdges: Int32Array;
  /** A triangle of each face, to find its shell. */
  readonly faceTriangle: Int32Array;
  /** Per face, the plane's normal as written: three integers, to be read as value · 10^-normalDecimals. */
  readonly normal: Float64Array;
  readonly normalDecimals: Uint8Array;
  /** Per face, the vertex the plane is placed at; -1 for a merged face, placed at `origin`. */
  readonly originVertex: Int32Array;
  /** Per face, the plane's location in grid units (used where originVertex is -1). */
  readonly origin: Float64Array;
  /** Per face, its curved surface in `surfaces`, or -1 for a plane. */
  readonly surfaceOf: Int32Array;
  readonly surfaces: readonly FittedSurface[];
  /** Per curved surface, whether its normal points out of the solid. */
  readonly sameSense: readonly boolean[];
}

/** Faces on recognised curved surfaces, written before (and instead of) the planar faces over their triangles. */
export interface CurvedFaceInput {
  readonly faces: readonly CurvedFace[];
  readonly surfaces: readonly FittedSurface[];
  readonly sameSense: readonly boolean[];
}

export interface FaceInput {
  readonly tri: Int32Array;
  readonly coords: Float64Array;
  readonly vertexCount: number;
  readonly twin: Int32Array;
  readonly uncertainty: number;
  /** Merge coplanar neighbours; one face per triangle when false. */
  readonly merge: boolean;
  /** Curved faces, when surfaces were recognised (only with merge). */
  readonly curved?: CurvedFaceInput;
}

/**
 * How far a merged triangle's vertices may lie from the face's plane: half the uncertainty, which
 * bounds how much merging moves the surface and leaves the other half for the edges' own rounding.
 */
const PLANE_TOLERANCE_FRACTION = 0.5;
/**
 * A triangle joins a face only when its normal is within 60° of the face's. Distance alone would
 * accept a tiny triangle folded back onto the plane; its region would then overlap itself.
 */
const MIN_NORMAL_COSINE = 0.5;
/** Regrowths of one region while separating the sectors at pinch vertices, before giving up on it. */
const MAX_PINCH_ROUNDS = 64;

export function buildFaces(input: FaceInput): FaceSet {
  const faces = new FaceCollector(input);
  const triangleCount = input.tri.length / 3;
  if (!input.merge) {
    for (let t = 0; t < triangleCount; t++) faces.addTriangle(t);
  } else {
    const grower = new RegionGrower(input, faces);
    for (const face of input.curved?.faces ?? []) {
      faces.addCurved(face);
      for (const t of face.triangles) grower.claim(t);
    }
    for (let t = 0; t < triangleCount; t++) grower.growFrom(t);
  }
  return faces.finish();
}

/** Accumulates faces into flat typed arrays. */
class FaceCollector {
  private readonly faceLoops = new Int32List();
  private readonly loopStart = new Int32List();
  private readonly loopEdges = new Int32List();
  private readonly faceTriangle = new Int32List();
  private readonly normal = new Float64List();
  private readonly normalDecimals: number[] = [];
  private readonly originVertex = new Int32List();
  private readonly origin = new Float64List();
  private readonly surfaceOf = new Int32List();
  private readonly rounded = new Float64Array(3);

  constructor(private readonly input: FaceInput) {}

  /** Triangle t as a face of its own, on its own plane placed at its first vertex. */
  addTriangle(t: number): void {
    const { tri, coords, uncertainty } = this.input;
    const a = tri[t * 3]! * 3;
    const b = tri[t * 3 + 1]! * 3;
    const c = tri[t * 3 + 2]! * 3;
    const abx = coords[b]! - coords[a]!, aby = coords[b + 1]! - coords[a + 1]!, abz = coords[b + 2]! - coords[a + 2]!;
    const acx = coords[c]! - coords[a]!, acy = coords[c + 1]! - coords[a + 1]!, acz = coords[c + 2]! - coords[a + 2]!;
    const reach = Math.sqrt(Math.max(abx * abx + aby * aby + abz * abz, acx * acx + acy * acy + acz * acz));
    const decimals = directionDecimals(reach, uncertainty);
    roundDirection(aby * acz - abz * acy, abz * acx - abx * acz, abx * acy - aby * acx, decimals, this.rounded, 0);
    this.startFace(t, decimals, tri[t * 3]!, 0, 0, 0);
    this.loopStart.push(this.loopEdges.length);
    this.loopEdges.push(t * 3);
    this.loopEdges.push(t * 3 + 1);
    this.loopEdges.push(t * 3 + 2);
  }

  /** A merged face: its loops (outer first) on the plane already rounded into `normal`. */
  addRegion(seed: number, loops: readonly number[][], normal: Float64Array, decimals: number, originGrid: Float64Array): void {
    this.rounded.set(normal);
    this.startFace(seed, decimals, -1, originGrid[0]!, originGrid[1]!, originGrid[2]!);
    for (const loop of loops) {
      this.loopStart.push(this.loopEdges.length);
      for (const h of loop) this.loopEdges.push(h);
    }
  }

  /** A face on a curved surface: its loops, no plane. */
  addCurved(face: CurvedFace): void {
    this.rounded.fill(0);
    this.startFace(face.triangles[0]!, 0, -1, 0, 0, 0);
    this.surfaceOf.set(this.surfaceOf.length - 1, face.surface);
    for (const loop of face.loops) {
      this.loopStart.push(this.loopEdges.length);
      for (const h of loop) this.loopEdges.push(h);
    }
  }

  finish(): FaceSet {
    const count = this.faceTriangle.length;
    this.faceLoops.push(this.loopStart.length);
    this.loopStart.push(this.loopEdges.length);
    return {
      count,
      faceLoops: this.faceLoops.toArray(),
      loopStart: this.loopStart.toArray(),
      loopEdges: this.loopEdges.toArray(),
      faceTriangle: this.faceTriangle.toArray(),
      normal: this.normal.toArray(),
      normalDecimals: Uint8Array.from(this.normalDecimals),
      originVertex: this.originVertex.toArray(),
      origin: this.origin.toArray(),
      surfaceOf: this.surfaceOf.toArray(),
      surfaces: this.input.curved?.surfaces ?? [],
      sameSense: this.input.curved?.sameSense ?? [],
    };
  }

  private startFace(triangle: number, decimals: number, originVertex: number, ox: number, oy: number, oz: number): void {
    this.faceLoops.push(this.loopStart.length);
    this.faceTriangle.push(triangle);
    this.normal.push(this.rounded[0]!);
    this.normal.push(this.rounded[1]!);
    this.normal.push(this.rounded[2]!);
    this.normalDecimals.push(decimals);
    this.originVertex.push(originVertex);
    this.origin.push(ox);
    this.origin.push(oy);
    this.origin.push(oz);
    this.surfaceOf.push(-1);
  }
}

/**
 * Grows regions of coplanar triangles from seeds, in two passes per region:
 * 1. an estimate, accepting neighbours that lie within tolerance of the running area-weighted plane
 *    of what has been accepted so far (one triangle's own normal is too noisy to grow a large
 *    tilted face from);
 * 2. the plane from that estimate is rounded to exactly what the file will say, and the region is
 *    grown again from the seed against that fixed plane. Every vertex of every triangle in the final
 *    region is thereby checked against the written plane, so merging provably moves no point by
 *    more than the plane tolerance. A gently curved surface cannot creep away through a chain of
 *    small bends either: the plane never follows the region.
 * The region's boundary is then traced into loops and checked; anything doubtful falls back to one
 * face per triangle, which is always valid.
 */
class RegionGrower {
  private readonly tri: Int32Array;
  private readonly coords: Float64Array;
  private readonly twin: Int32Array;
  private readonly tolerance: number;
  private readonly uncertainty: number;
  /** Triangles already in a face. */
  private readonly assigned: Uint8Array;
  /** Membership in the current growth: equal to `growth`. */
  private readonly memberOf: Int32Array;
  private growth = 0;
  /** Triangles kept out of the current seed's region (pinch separation): equal to `seedRound`. */
  private readonly banned: Int32Array;
  private seedRound = 0;
  private readonly members: Int32Array;
  private memberCount = 0;
  /** Per-vertex scratch, valid where vertexMark equals `vertexRound`. */
  private readonly vertexMark: Int32Array;
  private readonly vertexUses: Int32Array;
  private vertexRound = 0;
  /** Boundary half-edges already traced in the current growth: equal to `growth`. */
  private readonly traced: Int32Array;
  /** The written plane of the current seed: rounded normal, its decimals, location in grid units. */
  private readonly normal = new Float64Array(3);
  private normalDecimalsUsed = 0;
  private readonly originGrid = new Float64Array(3);
  /** Running sums of pass 1: area-weighted normal (sx, sy, sz) and centroid (cx, cy, cz) / weight. */
  private sx = 0;
  private sy = 0;
  private sz = 0;
  private cx = 0;
  private cy = 0;
  private cz = 0;
  private weight = 0;

  constructor(
    input: FaceInput,
    private readonly faces: FaceCollector,
  ) {
    this.tri = input.tri;
    this.coords = input.coords;
    this.twin = input.twin;
    this.uncertainty = input.uncertainty;
    this.tolerance = input.uncertainty * PLANE_TOLERANCE_FRACTION;
    const triangles = input.tri.length / 3;
    this.assigned = new Uint8Array(triangles);
    this.memberOf = new Int32Array(triangles);
    this.banned = new Int32Array(triangles);
    this.members = new Int32Array(triangles);
    this.traced = new Int32Array(input.tri.length);
    this.vertexMark = new Int32Array(input.vertexCount);
    this.vertexUses = new Int32Array(input.vertexCount);
  }

  growFrom(seed: number): void {
    if (this.assigned[seed]) return;
    this.seedRound++;
    if (this.estimate(seed) === 1) {
      this.assign(seed);
      this.faces.addTriangle(seed);
      return;
    }
    const [nx, ny, nz, d] = this.writtenPlane();
    for (let round = 0; round < MAX_PINCH_ROUNDS; round++) {
      if (this.growAgainst(seed, nx, ny, nz, d) === 1) {
        this.assign(seed);
        this.faces.addTriangle(seed);
        return;
      }
      const pinches = this.findPinches();
      if (pinches.length > 0) {
        this.banOtherSectors(pinches, seed);
        continue;
      }
      const loops = this.traceLoops(nx, ny, nz);
      if (loops) {
        for (let i = 0; i < this.memberCount; i++) this.assign(this.members[i]!);
        this.faces.addRegion(seed, loops, this.normal, this.normalDecimalsUsed, this.originGrid);
        return;
      }
      break;
    }
    // Not a face we can vouch for: its triangles go out one by one.
    for (let i = 0; i < this.memberCount; i++) {
      const t = this.members[i]!;
      this.assign(t);
      this.faces.addTriangle(t);
    }
  }

  /** Keeps triangle t out of every planar face (it belongs to a curved one). */
  claim(t: number): void {
    this.assigned[t] = 1;
  }

  private assign(t: number): void {
    this.assigned[t] = 1;
  }

  /** Pass 1: grows against the running plane, leaving its sums for writtenPlane. */
  private estimate(seed: number): number {
    this.startGrowth(seed);
    this.sx = this.sy = this.sz = this.cx = this.cy = this.cz = this.weight = 0;
    this.accumulate(seed);
    const { twin, members } = this;
    for (let i = 0; i < this.memberCount; i++) {
      const t = members[i]!;
      for (let k = 0; k < 3; k++) {
        const o = twin[t * 3 + k]!;
        if (o < 0) continue;
        const u = (o / 3) | 0;
        if (!this.available(u)) continue;
        const length = Math.hypot(this.sx, this.sy, this.sz);
        const nx = this.sx / length, ny = this.sy / length, nz = this.sz / length;
        const w = this.weight;
        const d = (nx * this.cx + ny * this.cy + nz * this.cz) / w;
        if (!this.fits(u, nx, ny, nz, d)) continue;
        this.addMember(u);
        this.accumulate(u);
      }
    }
    return this.memberCount;
  }

  /** Adds triangle t's area-weighted normal and centroid to the running sums. */
  private accumulate(t: number): void {
    const { tri, coords } = this;
    const a = tri[t * 3]! * 3, b = tri[t * 3 + 1]! * 3, c = tri[t * 3 + 2]! * 3;
    const abx = coords[b]! - coords[a]!, aby = coords[b + 1]! - coords[a + 1]!, abz = coords[b + 2]! - coords[a + 2]!;
    const acx = coords[c]! - coords[a]!, acy = coords[c + 1]! - coords[a + 1]!, acz = coords[c + 2]! - coords[a + 2]!;
    const nx = aby * acz - abz * acy, ny = abz * acx - abx * acz, nz = abx * acy - aby * acx;
    const area = Math.hypot(nx, ny, nz);
    this.sx += nx;
    this.sy += ny;
    this.sz += nz;
    this.cx += (area * (coords[a]! + coords[b]! + coords[c]!)) / 3;
    this.cy += (area * (coords[a + 1]! + coords[b + 1]! + coords[c + 1]!)) / 3;
    this.cz += (area * (coords[a + 2]! + coords[b + 2]! + coords[c + 2]!)) / 3;
    this.weight += area;
  }

  /**
   * The estimated plane as the file will hold it: normal rounded to the decimals its reach needs,
   * location rounded to the grid. Returns the written normal (unit) and offset n·p of its plane.
   */
  private writtenPlane(): [number, number, number, number] {
    const { coords, tri, members } = this;
    const ox = this.cx / this.weight, oy = this.cy / this.weight, oz = this.cz / this.weight;
    this.originGrid[0] = Math.round(ox * GRID_PER_MM) + 0;
    this.originGrid[1] = Math.round(oy * GRID_PER_MM) + 0;
    this.originGrid[2] = Math.round(oz * GRID_PER_MM) + 0;
    const px = this.originGrid[0]! / GRID_PER_MM, py = this.originGrid[1]! / GRID_PER_MM, pz = this.originGrid[2]! / GRID_PER_MM;
    let reach2 = 0;
    for (let i = 0; i < this.memberCount; i++) {
      for (let k = 0; k < 3; k++) {
        const v = tri[members[i]! * 3 + k]! * 3;
        const dx = coords[v]! - px, dy = coords[v + 1]! - py, dz = coords[v + 2]! - pz;
        reach2 = Math.max(reach2, dx * dx + dy * dy + dz * dz);
      }
    }
    // Twice the estimate's reach: the regrown region may reach a little further than the estimate.
    const decimals = directionDecimals(2 * Math.sqrt(reach2), this.uncertainty);
    this.normalDecimalsUsed = decimals;
    roundDirection(this.sx, this.sy, this.sz, decimals, this.normal, 0);
    const length = Math.hypot(this.normal[0]!, this.normal[1]!, this.normal[2]!);
    const nx = this.normal[0]! / length, ny = this.normal[1]! / length, nz = this.normal[2]! / length;
    return [nx, ny, nz, nx * px + ny * py + nz * pz];
  }

  /** Pass 2: grows from the seed against a fixed plane, skipping banned triangles. */
  private growAgainst(seed: number, nx: number, ny: number, nz: number, d: number): number {
    this.startGrowth(seed);
    if (!this.fits(seed, nx, ny, nz, d)) return 1;
    const { twin, members } = this;
    for (let i = 0; i < this.memberCount; i++) {
      const t = members[i]!;
      for (let k = 0; k < 3; k++) {
        const o = twin[t * 3 + k]!;
        if (o < 0) continue;
        const u = (o / 3) | 0;
        if (!this.available(u) || this.banned[u] === this.seedRound) continue;
        if (this.fits(u, nx, ny, nz, d)) this.addMember(u);
      }
    }
    return this.memberCount;
  }

  private startGrowth(seed: number): void {
    this.growth++;
    this.memberCount = 0;
    this.addMember(seed);
  }

  private addMember(t: number): void {
    this.memberOf[t] = this.growth;
    this.members[this.memberCount++] = t;
  }

  private available(t: number): boolean {
    return this.memberOf[t] !== this.growth && !this.assigned[t];
  }

  private isMember(t: number): boolean {
    return this.memberOf[t] === this.growth;
  }

  /** Whether triangle t faces the plane's way and its three vertices lie within tolerance of it. */
  private fits(t: number, nx: number, ny: number, nz: number, d: number): boolean {
    const { tri, coords, tolerance } = this;
    const a = tri[t * 3]! * 3, b = tri[t * 3 + 1]! * 3, c = tri[t * 3 + 2]! * 3;
    if (Math.abs(nx * coords[a]! + ny * coords[a + 1]! + nz * coords[a + 2]! - d) > tolerance) return false;
    if (Math.abs(nx * coords[b]! + ny * coords[b + 1]! + nz * coords[b + 2]! - d) > tolerance) return false;
    if (Math.abs(nx * coords[c]! + ny * coords[c + 1]! + nz * coords[c + 2]! - d) > tolerance) return false;
    const abx = coords[b]! - coords[a]!, aby = coords[b + 1]! - coords[a + 1]!, abz = coords[b + 2]! - coords[a + 2]!;
    const acx = coords[c]! - coords[a]!, acy = coords[c + 1]! - coords[a + 1]!, acz = coords[c + 2]! - coords[a + 2]!;
    const mx = aby * acz - abz * acy, my = abz * acx - abx * acz, mz = abx * acy - aby * acx;
    return mx * nx + my * ny + mz * nz >= MIN_NORMAL_COSINE * Math.hypot(mx, my, mz);
  }

  private isBoundary(h: number): boolean {
    const o = this.twin[h]!;
    return o < 0 || !this.isMember((o / 3) | 0);
  }

  /**
   * The boundary half-edges leaving pinch vertices: vertices where the region's boundary touches
   * itself (two or more boundary half-edges leave them). Such a face would need a loop through one
   * vertex twice, or two loops sharing a vertex, which readers treat differently or reject.
   */
  private findPinches(): number[] {
    this.vertexRound++;
    const { tri, members, vertexMark, vertexUses } = this;
    const boundary: number[] = [];
    let pinched = false;
    for (let i = 0; i < this.memberCount; i++) {
      const t = members[i]!;
      for (let k = 0; k < 3; k++) {
        const h = t * 3 + k;
        if (!this.isBoundary(h)) continue;
        boundary.push(h);
        const v = tri[h]!;
        if (vertexMark[v] !== this.vertexRound) {
          vertexMark[v] = this.vertexRound;
          vertexUses[v] = 0;
        }
        if (++vertexUses[v]! > 1) pinched = true;
      }
    }
    return pinched ? boundary.filter((h) => vertexUses[tri[h]!]! > 1) : [];
  }

  /**
   * At a pinch vertex the region's triangles around it form two or more fans (sectors), each
   * starting at one of the boundary half-edges leaving the vertex. The seed's sector (or the first)
   * stays; the other sectors' triangles, which all touch the vertex, are banned from this region,
   * which is then regrown. They become faces of their own later.
   */
  private banOtherSectors(pinchEdges: readonly number[], seed: number): void {
    const byVertex = new Map<number, number[][]>();
    for (const h of pinchEdges) {
      const v = this.tri[h]!;
      const sectors = byVertex.get(v) ?? [];
      sectors.push(this.sector(h));
      byVertex.set(v, sectors);
    }
    for (const sectors of byVertex.values()) {
      const keep = Math.max(0, sectors.findIndex((sector) => sector.includes(seed)));
      for (const [i, sector] of sectors.entries()) {
        if (i === keep) continue;
        for (const t of sector) this.banned[t] = this.seedRound;
      }
    }
  }

  /**
   * The member triangles of the sector that starts with boundary half-edge h (leaving vertex v):
   * turning about v across the edges arriving at it, until the arriving edge is a boundary too.
   */
  private sector(h: number): number[] {
    const triangles = [(h / 3) | 0];
    let arriving = previousHalfEdge(h);
    for (let guard = 0; guard < this.memberCount; guard++) {
      const o = this.twin[arriving]!;
      if (o < 0 || !this.isMember((o / 3) | 0)) break;
      triangles.push((o / 3) | 0);
      // o leaves v in its triangle; the edge before it arrives at v.
      arriving = previousHalfEdge(o);
    }
    return triangles;
  }

  /**
   * The region's boundary as loops of half-edges, outer loop first, or undefined when the region is
   * not a disk with holes: exactly one loop must wind counter-clockwise about the normal, the others
   * clockwise (holes), and the Euler characteristic must be 2 minus the number of loops. The loops'
   * areas must also add up to the triangles' (Green's theorem), which guards the tracing itself.
   *
   * Every triangle faces the plane's way (MIN_NORMAL_COSINE), so the region lies flat without folds;
   * it could still overlap itself only by stacking two sheets of the surface within the tolerance of
   * each other, which no valid solid does.
   */
  private traceLoops(nx: number, ny: number, nz: number): number[][] | undefined {
    const { tri, members, coords } = this;
    const loops: number[][] = [];
    let boundaryCount = 0;
    let triangleArea = 0;
    this.vertexRound++;
    let vertices = 0;
    for (let i = 0; i < this.memberCount; i++) {
      const t = members[i]!;
      triangleArea += this.projectedArea(t, nx, ny, nz);
      for (let k = 0; k < 3; k++) {
        const h = t * 3 + k;
        const v = tri[h]!;
        if (this.vertexMark[v] !== this.vertexRound) {
          this.vertexMark[v] = this.vertexRound;
          vertices++;
        }
        if (!this.isBoundary(h)) continue;
        boundaryCount++;
        if (this.traced[h] === this.growth) continue;
        const loop = this.traceLoop(h);
        if (!loop) return undefined;
        loops.push(loop);
      }
    }
    const edges = (3 * this.memberCount + boundaryCount) / 2;
    if (vertices - edges + this.memberCount !== 2 - loops.length) return undefined;

    let outer = -1;
    let loopArea = 0;
    for (let l = 0; l < loops.length; l++) {
      const loop = loops[l]!;
      if (loop.length < 3) return undefined;
      let ax = 0, ay = 0, az = 0;
      const o = tri[loop[0]!]! * 3;
      for (let i = 1; i + 1 < loop.length; i++) {
        const p = tri[loop[i]!]! * 3;
        const q = tri[loop[i + 1]!]! * 3;
        const ux = coords[p]! - coords[o]!, uy = coords[p + 1]! - coords[o + 1]!, uz = coords[p + 2]! - coords[o + 2]!;
        const wx = coords[q]! - coords[o]!, wy = coords[q + 1]! - coords[o + 1]!, wz = coords[q + 2]! - coords[o + 2]!;
        ax += uy * wz - uz * wy;
        ay += uz * wx - ux * wz;
        az += ux * wy - uy * wx;
      }
      const area = (ax * nx + ay * ny + az * nz) / 2;
      if (area > 0) {
        if (outer >= 0) return undefined;
        outer = l;
      } else if (!(area < 0)) {
        return undefined;
      }
      loopArea += area;
    }
    if (outer < 0 || Math.abs(loopArea - triangleArea) > 1e-9 * triangleArea) return undefined;
    if (outer > 0) loops.unshift(loops.splice(outer, 1)[0]!);
    return loops;
  }

  /** Follows boundary half-edges from h until it comes back; undefined if it never does. */
  private traceLoop(start: number): number[] | undefined {
    const loop: number[] = [];
    let h = start;
    do {
      if (this.traced[h] === this.growth || loop.length > 3 * this.memberCount) return undefined;
      this.traced[h] = this.growth;
      loop.push(h);
      h = this.nextBoundary(h);
      if (h < 0) return undefined;
    } while (h !== start);
    return loop;
  }

  /**
   * The boundary half-edge that follows h: turning about h's end vertex through the region's
   * triangles until the next edge out of the region. Without pinches there is exactly one.
   */
  private nextBoundary(h: number): number {
    let e = nextHalfEdge(h);
    for (let guard = 0; guard <= this.memberCount; guard++) {
      if (this.isBoundary(e)) return e;
      e = nextHalfEdge(this.twin[e]!);
    }
    return -1;
  }

  /** Triangle t's area projected onto the plane with unit normal n (positive when it faces the same way). */
  private projectedArea(t: number, nx: number, ny: number, nz: number): number {
    const { tri, coords } = this;
    const a = tri[t * 3]! * 3, b = tri[t * 3 + 1]! * 3, c = tri[t * 3 + 2]! * 3;
    const abx = coords[b]! - coords[a]!, aby = coords[b + 1]! - coords[a + 1]!, abz = coords[b + 2]! - coords[a + 2]!;
    const acx = coords[c]! - coords[a]!, acy = coords[c + 1]! - coords[a + 1]!, acz = coords[c + 2]! - coords[a + 2]!;
    return ((aby * acz - abz * acy) * nx + (abz * acx - abx * acz) * ny + (abx * acy - aby * acx) * nz) / 2;
  }
}
