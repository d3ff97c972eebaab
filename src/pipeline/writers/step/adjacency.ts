/**
 * Edge adjacency of a triangle list. Half-edge h = 3t + k runs from corner k of triangle t to corner
 * k + 1 (mod 3); with counter-clockwise triangles each half-edge has the surface on its left.
 */
export interface Adjacency {
  /** Per half-edge, the opposite half-edge when its edge is manifold (used once each way), else -1. */
  readonly twin: Int32Array;
  /** Per half-edge, its undirected edge (0 … edgeCount - 1). */
  readonly edgeOf: Int32Array;
  readonly edgeCount: number;
}

/** The half-edge after h in its triangle. */
export function nextHalfEdge(h: number): number {
  return h % 3 === 2 ? h - 2 : h + 1;
}

/** The half-edge before h in its triangle. */
export function previousHalfEdge(h: number): number {
  return h % 3 === 0 ? h + 2 : h - 1;
}

/**
 * Pairs half-edges through an open-addressing table keyed by the two vertex numbers: no strings, no
 * Map, about 40 bytes per triangle.
 */
export function buildAdjacency(tri: Int32Array): Adjacency {
  const halfEdges = tri.length;
  let size = 16;
  while (size < halfEdges * 4 / 3) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  const low = new Int32Array(halfEdges);
  const high = new Int32Array(halfEdges);
  const first = new Int32Array(halfEdges);
  const second = new Int32Array(halfEdges);
  const uses = new Int32Array(halfEdges);
  const edgeOf = new Int32Array(halfEdges);
  let edgeCount = 0;
  for (let h = 0; h < halfEdges; h++) {
    const a = tri[h]!;
    const b = tri[nextHalfEdge(h)]!;
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    let slot = hashPair(lo, hi) & mask;
    let e = -1;
    for (;;) {
      const found = slots[slot]!;
      if (found < 0) break;
      if (low[found] === lo && high[found] === hi) {
        e = found;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (e < 0) {
      e = edgeCount++;
      slots[slot] = e;
      low[e] = lo;
      high[e] = hi;
      first[e] = h;
    } else if (uses[e] === 1) {
      second[e] = h;
    }
    uses[e]!++;
    edgeOf[h] = e;
  }
  const twin = new Int32Array(halfEdges).fill(-1);
  for (let e = 0; e < edgeCount; e++) {
    if (uses[e] !== 2) continue;
    const h1 = first[e]!;
    const h2 = second[e]!;
    // Both ways round: a second use in the same direction means a flipped neighbour, not a pair.
    if (tri[h1] !== tri[nextHalfEdge(h2)]) continue;
    twin[h1] = h2;
    twin[h2] = h1;
  }
  return { twin, edgeOf, edgeCount };
}

function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
