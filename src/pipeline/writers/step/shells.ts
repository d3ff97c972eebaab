import type { Adjacency } from './adjacency.js';
import type { FaceSet } from './faces.js';

export interface Shells {
  readonly count: number;
  /** Per face, its shell. */
  readonly shellOf: Int32Array;
  /** Per shell, 1 when every edge of it is used exactly once in each direction. */
  readonly closed: Uint8Array;
}

/**
 * Groups faces into edge-connected shells. A shell is closed only when each of its edges is used once
 * in each direction: both watertight and consistently oriented, which the shell of a solid must be.
 * Worked out on the triangles, which is the same thing: a face's inner edges are all paired, and
 * every edge between faces is an edge between two of their triangles.
 */
export function findShells(tri: Int32Array, adjacency: Adjacency, faces: FaceSet): Shells {
  const { twin, edgeOf, edgeCount } = adjacency;
  const triangles = tri.length / 3;
  const parent = new Int32Array(triangles);
  for (let t = 0; t < triangles; t++) parent[t] = t;
  const find = (t: number): number => {
    while (parent[t] !== t) {
      parent[t] = parent[parent[t]!]!;
      t = parent[t]!;
    }
    return t;
  };
  const firstTriangle = new Int32Array(edgeCount).fill(-1);
  for (let h = 0; h < tri.length; h++) {
    const e = edgeOf[h]!;
    const t = (h / 3) | 0;
    const other = firstTriangle[e]!;
    if (other < 0) {
      firstTriangle[e] = t;
      continue;
    }
    const a = find(t);
    const b = find(other);
    if (a !== b) parent[a < b ? b : a] = a < b ? a : b;
  }
  const open = new Uint8Array(triangles);
  for (let h = 0; h < tri.length; h++) {
    if (twin[h]! < 0) open[find((h / 3) | 0)] = 1;
  }
  const shellOfRoot = new Int32Array(triangles).fill(-1);
  const shellOf = new Int32Array(faces.count);
  const closed: number[] = [];
  for (let f = 0; f < faces.count; f++) {
    const root = find(faces.faceTriangle[f]!);
    if (shellOfRoot[root]! < 0) {
      shellOfRoot[root] = closed.length;
      closed.push(open[root] ? 0 : 1);
    }
    shellOf[f] = shellOfRoot[root]!;
  }
  return { count: closed.length, shellOf, closed: Uint8Array.from(closed) };
}
