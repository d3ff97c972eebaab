/**
 * Marching cubes over a dense scalar grid, producing a closed, consistently oriented surface.
 *
 * The case table is derived here at module load rather than transcribed: every cube face is cut
 * into segments by one fixed rule, the segments chain into loops, and the loops are triangulated.
 * Because a face's segments depend only on that face's four corners, the two cells sharing a face
 * always agree on them, which is what makes the result watertight across cells.
 *
 * Ambiguous faces (inside corners on one diagonal, outside on the other) join the inside corners.
 * Inside is then 18-connected and outside 6-connected, a consistent digital-topology pair, and thin
 * solid features stay in one piece, which matters more for printable output than thin gaps do.
 *
 * Everything outside the grid counts as outside, so a solid that reaches the boundary is closed by
 * a flat cap lying exactly on the boundary samples.
 */

// Corner c of a cell sits at offsets (c & 1, (c >> 1) & 1, (c >> 2) & 1) along x, y, z.
// Edge e runs along axis e >> 2; its two low bits give the offsets on the other two axes in
// ascending axis order: x edges (dy, dz), y edges (dx, dz), z edges (dx, dy).

interface CaseTable {
  /** Triangles of case c are the edge triples in edges[offsets[c] .. offsets[c + 1]). */
  readonly offsets: Uint16Array;
  readonly edges: Uint8Array;
}

function edgeBetween(p: number, q: number): number {
  const diff = p ^ q;
  const axis = diff === 1 ? 0 : diff === 2 ? 1 : 2;
  const base = p & q;
  const others = [0, 1, 2].filter((a) => a !== axis);
  const r = ((base >> others[0]!) & 1) | (((base >> others[1]!) & 1) << 1);
  return axis * 4 + r;
}

function edgeCorners(e: number): [number, number] {
  const axis = e >> 2;
  const others = [0, 1, 2].filter((a) => a !== axis);
  const c0 = ((e & 1) << others[0]!) | (((e >> 1) & 1) << others[1]!);
  return [c0, c0 | (1 << axis)];
}

/** The six faces, each as four corners counter-clockwise seen from outside the cube. */
function cubeFaces(): number[][] {
  const faces: number[][] = [];
  for (let axis = 0; axis < 3; axis++) {
    const b = (axis + 1) % 3;
    const c = (axis + 2) % 3;
    for (let side = 0; side < 2; side++) {
      // (b, c, axis) is right-handed, so this (b, c) square is counter-clockwise seen from +axis.
      const square = [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ].map(([u, v]) => (side << axis) | (u! << b) | (v! << c));
      faces.push(side === 1 ? square : square.reverse());
    }
  }
  return faces;
}

/** Faces an edge lies on, as a bit set over (axis * 2 + side). */
function edgeFaceMask(e: number): number {
  const [c0] = edgeCorners(e);
  let mask = 0;
  for (let a = 0; a < 3; a++) {
    if (a === e >> 2) continue;
    mask |= 1 << (a * 2 + ((c0 >> a) & 1));
  }
  return mask;
}

function edgeMidpoint(e: number): [number, number, number] {
  const [c0, c1] = edgeCorners(e);
  return [
    ((c0 & 1) + (c1 & 1)) / 2,
    (((c0 >> 1) & 1) + ((c1 >> 1) & 1)) / 2,
    (((c0 >> 2) & 1) + ((c1 >> 2) & 1)) / 2,
  ];
}

function triangleQuality(a: number[], b: number[], c: number[]): number {
  const ab = [b[0]! - a[0]!, b[1]! - a[1]!, b[2]! - a[2]!];
  const ac = [c[0]! - a[0]!, c[1]! - a[1]!, c[2]! - a[2]!];
  const bc = [c[0]! - b[0]!, c[1]! - b[1]!, c[2]! - b[2]!];
  const cx = ab[1]! * ac[2]! - ab[2]! * ac[1]!;
  const cy = ab[2]! * ac[0]! - ab[0]! * ac[2]!;
  const cz = ab[0]! * ac[1]! - ab[1]! * ac[0]!;
  const area = 0.5 * Math.hypot(cx, cy, cz);
  const sq = (v: number[]): number => v[0]! * v[0]! + v[1]! * v[1]! + v[2]! * v[2]!;
  return (4 * Math.sqrt(3) * area) / (sq(ab) + sq(ac) + sq(bc));
}

/**
 * Triangulates one loop of edge crossings. A chord joining two crossings that lie on a common cube
 * face is refused: the neighbour across that face could choose the same chord, and the edge would
 * then carry four triangles. Among the allowed triangulations the one with the best worst triangle
 * (judged on edge midpoints) wins, for better-shaped output.
 */
function triangulateLoop(loop: number[]): number[] {
  const n = loop.length;
  const masks = loop.map(edgeFaceMask);
  const mids = loop.map(edgeMidpoint);
  const isSide = (i: number, j: number): boolean => j === i + 1 || (i === 0 && j === n - 1);
  const allowed = (i: number, j: number): boolean => isSide(i, j) || (masks[i]! & masks[j]!) === 0;
  const best: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(-Infinity));
  const split: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(-1));
  for (let i = 0; i + 1 < n; i++) best[i]![i + 1] = Infinity;
  for (let span = 2; span < n; span++) {
    for (let i = 0; i + span < n; i++) {
      const j = i + span;
      if (!allowed(i, j)) continue;
      for (let k = i + 1; k < j; k++) {
        const q = Math.min(best[i]![k]!, best[k]![j]!, triangleQuality(mids[i]!, mids[k]!, mids[j]!));
        if (q > best[i]![j]!) {
          best[i]![j] = q;
          split[i]![j] = k;
        }
      }
    }
  }
  if (!(best[0]![n - 1]! > 0)) throw new Error(`marching cubes: no valid triangulation for loop ${loop.join(',')}`);
  const out: number[] = [];
  const emit = (i: number, j: number): void => {
    if (j - i < 2) return;
    const k = split[i]![j]!;
    out.push(loop[i]!, loop[k]!, loop[j]!);
    emit(i, k);
    emit(k, j);
  };
  emit(0, n - 1);
  return out;
}

function buildCaseTable(): CaseTable {
  const faces = cubeFaces();
  const offsets = new Uint16Array(257);
  const all: number[] = [];
  for (let c = 0; c < 256; c++) {
    const inside = (corner: number): boolean => ((c >> corner) & 1) === 1;
    // Segments run from an edge where the walk enters the inside to one where it leaves, which
    // puts the inside on the right seen from outside the cube; the loops then wind
    // counter-clockwise around the outward normal.
    const next = new Array<number>(12).fill(-1);
    for (const face of faces) {
      const ins = face.map(inside);
      const count = ins.filter(Boolean).length;
      const ambiguous = count === 2 && ins[0] === ins[2];
      for (let k = 0; k < 4; k++) {
        if (ins[k] || !ins[(k + 1) % 4]) continue;
        let partner: number;
        if (ambiguous) {
          // Cut off the outside corner: pair with the crossing just before it.
          partner = (k + 3) % 4;
        } else {
          partner = (k + 1) % 4;
          while (!(ins[partner] && !ins[(partner + 1) % 4])) partner = (partner + 1) % 4;
        }
        const from = edgeBetween(face[k]!, face[(k + 1) % 4]!);
        const to = edgeBetween(face[partner]!, face[(partner + 1) % 4]!);
        if (next[from] !== -1) throw new Error('marching cubes: edge leaves twice');
        next[from] = to;
      }
    }
    const seen = new Array<boolean>(12).fill(false);
    for (let e = 0; e < 12; e++) {
      const [a, b] = edgeCorners(e);
      const crossed = inside(a) !== inside(b);
      if (crossed !== (next[e] !== -1)) throw new Error('marching cubes: unbalanced crossings');
      if (!crossed || seen[e]) continue;
      const loop: number[] = [];
      for (let v = e; !seen[v]; v = next[v]!) {
        seen[v] = true;
        loop.push(v);
      }
      all.push(...triangulateLoop(loop));
    }
    offsets[c + 1] = all.length;
  }
  return { offsets, edges: Uint8Array.from(all) };
}

const TABLE = buildCaseTable();

/** Output arrays, grown geometrically. */
class Output {
  positions = new Float32Array(3 * 4096);
  vertexCount = 0;
  indices = new Uint32Array(3 * 8192);
  indexCount = 0;

  pushVertex(x: number, y: number, z: number): number {
    let p = this.positions;
    const o = 3 * this.vertexCount;
    if (o + 3 > p.length) {
      const bigger = new Float32Array(p.length * 2);
      bigger.set(p);
      this.positions = p = bigger;
    }
    p[o] = x;
    p[o + 1] = y;
    p[o + 2] = z;
    return this.vertexCount++;
  }

  /** Makes room for `n` more indices and returns the index array. */
  reserveIndices(n: number): Uint32Array {
    let t = this.indices;
    if (this.indexCount + n > t.length) {
      const bigger = new Uint32Array(t.length * 2);
      bigger.set(t);
      this.indices = t = bigger;
    }
    return t;
  }
}

/**
 * Per-slice state in padded coordinates (index + 1 on every axis, so the pad layer sits at 0 and
 * n + 1). Vertex arrays are indexed J * PZ + K and are only written where an edge is crossed; the
 * case table only ever reads crossed edges, so stale entries elsewhere are never seen.
 */
interface Slice {
  /**
   * Inside flags as bits, W words per padded row (bit K of row J is word J * W + (K >> 5)). Whole
   * words at a time find crossed edges and non-trivial cells, so the work away from the surface is
   * a few word operations per 32 samples.
   */
  bits: Int32Array;
  /** Vertex on the y edge from (J, K) to (J + 1, K). */
  yv: Int32Array;
  /** Vertex on the z edge from (J, K) to (J, K + 1). */
  zv: Int32Array;
  /**
   * Vertex at a boundary sample, shared by all of that sample's edges into the pad (-1 until
   * made): the edges of one sample would otherwise yield coincident vertices where the box's faces
   * meet.
   */
  cap: Int32Array;
}

/** t along an edge from v0 to v1; lands on the inside end when the values are not finite. */
function crossingT(v0: number, v1: number, iso: number): number {
  const t = (iso - v0) / (v1 - v0);
  if (t >= 0 && t <= 1) return t;
  return v0 >= iso ? 0 : 1;
}

/** Bits K and K + 1 of a padded row (K + 1 must still lie in the row). */
function bitPair(bits: Int32Array, rowWord: number, K: number): number {
  const sh = K & 31;
  const w = rowWord + (K >>> 5);
  return sh === 31 ? (bits[w]! >>> 31) | ((bits[w + 1]! & 1) << 1) : (bits[w]! >>> sh) & 3;
}

/**
 * Inside bits of one slice (field samples from `base`) into padded rows 1 .. ny; pad bits stay as
 * they are (zero). A plain top-level function so that it is optimised once and stays monomorphic.
 */
function thresholdSlice(field: Float32Array, base: number, ny: number, nz: number, W: number, iso: number, bits: Int32Array): void {
  for (let J = 1; J <= ny; J++) {
    const fo = base + (J - 1) * nz - 1;
    const rw = J * W;
    // Word w holds padded K in [32w, 32w + 31]; samples exist for K in [1, nz].
    for (let w = 0; w < W; w++) {
      const ks = w === 0 ? 1 : w << 5;
      const ke = Math.min((w << 5) + 31, nz);
      let acc = 0;
      for (let K = ke; K >= ks; K--) acc = (acc << 1) | (field[fo + K]! >= iso ? 1 : 0);
      bits[rw + w] = acc << (ks & 31);
    }
  }
}

/**
 * Extracts the iso-surface of `field` (index (i * ny + j) * nz + k; inside where value >= iso).
 * Positions are in grid index units. The surface is always closed and wound counter-clockwise
 * seen from outside, including where the solid is cut off by the grid boundary.
 */
/** Geometry shared by the per-slice passes, in padded coordinates. */
interface Grid {
  readonly nx: number;
  readonly ny: number;
  readonly nz: number;
  readonly PZ: number;
  readonly W: number;
  readonly iso: number;
}

function capVertex(out: Output, s: Slice, I: number, idx: number, PZ: number): number {
  let v = s.cap[idx]!;
  if (v < 0) {
    const J = (idx / PZ) | 0;
    v = out.pushVertex(I - 1, J - 1, idx - J * PZ - 1);
    s.cap[idx] = v;
  }
  return v;
}

function loadSlice(field: Float32Array, g: Grid, out: Output, s: Slice, I: number): void {
  const { nx, ny, nz, PZ, W, iso } = g;
  const { bits, yv, zv, cap } = s;
  bits.fill(0);
  if (I === 0 || I === nx + 1) return;
  // Caps are only ever asked for at boundary samples: anywhere in the first and last slices, and
  // on rows 1 and ny and columns 1 and nz of the others, so only those need resetting.
  if (I === 1 || I === nx) cap.fill(-1);
  else {
    cap.fill(-1, PZ, 2 * PZ);
    cap.fill(-1, ny * PZ, (ny + 1) * PZ);
    for (let J = 2; J < ny; J++) {
      cap[J * PZ + 1] = -1;
      cap[J * PZ + nz] = -1;
    }
  }
  const i = I - 1;
  const base = i * ny * nz;
  thresholdSlice(field, base, ny, nz, W, iso, bits);

  // Rows 0 and ny + 1 are the pad, so edges into them end on caps.
  for (let J = 0; J <= ny; J++) {
    const r0 = J * W;
    for (let w = 0; w < W; w++) {
      let d = bits[r0 + w]! ^ bits[r0 + W + w]!;
      while (d !== 0) {
        const low = d & -d;
        d ^= low;
        const K = (w << 5) + 31 - Math.clz32(low);
        const idx = J * PZ + K;
        if (J === 0) yv[idx] = capVertex(out, s, I, idx + PZ, PZ);
        else if (J === ny) yv[idx] = capVertex(out, s, I, idx, PZ);
        else {
          const f0 = base + (J - 1) * nz + (K - 1);
          yv[idx] = out.pushVertex(i, J - 1 + crossingT(field[f0]!, field[f0 + nz]!, iso), K - 1);
        }
      }
    }
  }
  for (let J = 1; J <= ny; J++) {
    const r0 = J * W;
    for (let w = 0; w < W; w++) {
      const cur = bits[r0 + w]!;
      const next = w + 1 < W ? bits[r0 + w + 1]! : 0;
      let d = cur ^ ((cur >>> 1) | (next << 31));
      while (d !== 0) {
        const low = d & -d;
        d ^= low;
        const K = (w << 5) + 31 - Math.clz32(low);
        const idx = J * PZ + K;
        if (K === 0) zv[idx] = capVertex(out, s, I, idx + 1, PZ);
        else if (K === nz) zv[idx] = capVertex(out, s, I, idx, PZ);
        else {
          const f0 = base + (J - 1) * nz + (K - 1);
          zv[idx] = out.pushVertex(i, J - 1, K - 1 + crossingT(field[f0]!, field[f0 + 1]!, iso));
        }
      }
    }
  }
}

/** Vertices on the x edges between slices A (at I) and B (at I + 1). */
function xEdges(field: Float32Array, g: Grid, out: Output, A: Slice, B: Slice, I: number, xv: Int32Array): void {
  const { nx, ny, nz, PZ, W, iso } = g;
  const bA = A.bits;
  const bB = B.bits;
  const fA = (I - 1) * ny * nz;
  for (let J = 1; J <= ny; J++) {
    const r0 = J * W;
    for (let w = 0; w < W; w++) {
      let d = bA[r0 + w]! ^ bB[r0 + w]!;
      while (d !== 0) {
        const low = d & -d;
        d ^= low;
        const K = (w << 5) + 31 - Math.clz32(low);
        const idx = J * PZ + K;
        if (I === 0) xv[idx] = capVertex(out, B, I + 1, idx, PZ);
        else if (I === nx) xv[idx] = capVertex(out, A, I, idx, PZ);
        else {
          const f0 = fA + (J - 1) * nz + (K - 1);
          xv[idx] = out.pushVertex(I - 1 + crossingT(field[f0]!, field[f0 + ny * nz]!, iso), J - 1, K - 1);
        }
      }
    }
  }
}

/** Triangles of the cells between slices A (at I) and B (at I + 1). */
function emitCells(g: Grid, out: Output, A: Slice, B: Slice, I: number, xv: Int32Array): void {
  const { nx, ny, nz, PZ, W } = g;
  const offsets = TABLE.offsets;
  const edges = TABLE.edges;
  const bA = A.bits;
  const bB = B.bits;
  const yA = A.yv;
  const yB = B.yv;
  const zA = A.zv;
  const zB = B.zv;
  const padX = I === 0 || I === nx;
  for (let J = 0; J <= ny; J++) {
    const padY = J === 0 || J === ny;
    // Cells with two or more axes in the pad contain only collinear crossings (all on one box
    // edge line) and, with cap vertices merged per sample, only zero-area triangles; the caps on
    // either side meet directly without them.
    if (padX && padY) continue;
    const padXY = padX || padY;
    const w0 = J * W;
    const w1 = w0 + W;
    let any = bA[w0]! | bB[w0]! | bA[w1]! | bB[w1]!;
    let all = bA[w0]! & bB[w0]! & bA[w1]! & bB[w1]!;
    for (let w = 0; w < W; w++) {
      let anyNext = 0;
      let allNext = 0;
      if (w + 1 < W) {
        anyNext = bA[w0 + w + 1]! | bB[w0 + w + 1]! | bA[w1 + w + 1]! | bB[w1 + w + 1]!;
        allNext = bA[w0 + w + 1]! & bB[w0 + w + 1]! & bA[w1 + w + 1]! & bB[w1 + w + 1]!;
      }
      // Bit K: cell (J, K) has an inside corner and is not entirely inside.
      let cells = (any | (any >>> 1) | (anyNext << 31)) & ~(all & ((all >>> 1) | (allNext << 31)));
      any = anyNext;
      all = allNext;
      while (cells !== 0) {
        const low = cells & -cells;
        cells ^= low;
        const K = (w << 5) + 31 - Math.clz32(low);
        if (padXY && (K === 0 || K === nz)) continue;
        const a0 = bitPair(bA, w0, K);
        const b0 = bitPair(bB, w0, K);
        const a1 = bitPair(bA, w1, K);
        const b1 = bitPair(bB, w1, K);
        const c =
          (a0 & 1) | ((b0 & 1) << 1) | ((a1 & 1) << 2) | ((b1 & 1) << 3) | ((a0 >> 1) << 4) | ((b0 >> 1) << 5) | ((a1 >> 1) << 6) | ((b1 >> 1) << 7);
        const o0 = offsets[c]!;
        const end = offsets[c + 1]!;
        const t = out.reserveIndices(end - o0);
        let n = out.indexCount;
        const b = J * PZ + K;
        for (let o = o0; o < end; o++) {
          const e = edges[o]!;
          let v: number;
          // Edge e: axis e >> 2, low bits the offsets on the other two axes (see the top of the file).
          switch (e) {
            case 0: v = xv[b]!; break;
            case 1: v = xv[b + PZ]!; break;
            case 2: v = xv[b + 1]!; break;
            case 3: v = xv[b + 1 + PZ]!; break;
            case 4: v = yA[b]!; break;
            case 5: v = yB[b]!; break;
            case 6: v = yA[b + 1]!; break;
            case 7: v = yB[b + 1]!; break;
            case 8: v = zA[b]!; break;
            case 9: v = zB[b]!; break;
            case 10: v = zA[b + PZ]!; break;
            default: v = zB[b + PZ]!; break;
          }
          t[n++] = v;
        }
        out.indexCount = n;
      }
    }
  }
}

/**
 * Extracts the iso-surface of `field` (index (i * ny + j) * nz + k; inside where value >= iso).
 * Positions are in grid index units. The surface is always closed and wound counter-clockwise
 * seen from outside, including where the solid is cut off by the grid boundary.
 */
export function marchingCubes(
  field: Float32Array,
  dims: readonly [number, number, number],
  iso: number,
): { positions: Float32Array; indices: Uint32Array } {
  const [nx, ny, nz] = dims;
  for (const n of dims) {
    if (!Number.isInteger(n) || n < 2) throw new RangeError(`marchingCubes: grid dimensions must be integers >= 2, got ${dims.join('x')}`);
  }
  if (field.length !== nx * ny * nz) {
    throw new RangeError(`marchingCubes: field has ${field.length} values, expected ${nx * ny * nz}`);
  }
  const PY = ny + 2;
  const PZ = nz + 2;
  const W = (PZ + 31) >>> 5;
  const size = PY * PZ;
  const g: Grid = { nx, ny, nz, PZ, W, iso };
  const out = new Output();

  const newSlice = (): Slice => ({
    bits: new Int32Array(PY * W),
    yv: new Int32Array(size),
    zv: new Int32Array(size),
    cap: new Int32Array(size),
  });

  let A = newSlice();
  let B = newSlice();
  const xv = new Int32Array(size);
  loadSlice(field, g, out, B, 0);

  for (let I = 0; I <= nx; I++) {
    const swap = A;
    A = B;
    B = swap;
    loadSlice(field, g, out, B, I + 1);
    xEdges(field, g, out, A, B, I, xv);
    emitCells(g, out, A, B, I, xv);
  }

  return { positions: out.positions.slice(0, 3 * out.vertexCount), indices: out.indices.slice(0, out.indexCount) };
}
