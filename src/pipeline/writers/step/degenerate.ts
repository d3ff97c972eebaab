/**
 * Removes triangles thinner than the file's uncertainty without opening a closed mesh.
 *
 * A thin triangle is one whose smallest height (twice its area over its longest side) is below the
 * uncertainty: a reader would see a face with no inside. Dropping it outright leaves a crack in a
 * closed mesh wherever its edges were shared, so each kind is resolved so that edges stay paired:
 * - an edge shorter than the uncertainty (two vertices the file calls one point) is collapsed,
 *   merging its ends, after which the triangles on it repeat a vertex and drop out cleanly;
 * - a "cap", whose apex lies on its longest side, is dropped and the neighbour across that side is
 *   split at the apex: the two halves take over the cap's short sides, so every edge is paired again
 *   and no surface moved by more than the cap's height;
 * - whatever is left (a cap with no neighbour, or on a tangle of non-manifold edges) is dropped.
 */

/** Rounds of cap splitting; each resolves every cap whose neighbourhood was untouched. */
const SPLIT_ROUNDS = 4;

export function removeThinTriangles(triangles: Int32Array, coords: Float64Array, vertexCount: number, uncertainty: number): Int32Array {
  let tri = collapseShortEdges(triangles, coords, vertexCount, uncertainty);
  let thin = thinTriangles(tri, coords, uncertainty);
  // Directed-edge keys a·n + b must stay exact doubles; past that size caps are only dropped.
  const canSplit = vertexCount < 2 ** 26;
  for (let round = 0; canSplit && round < SPLIT_ROUNDS && thin.length > 0; round++) {
    tri = splitCaps(tri, thin, coords, vertexCount);
    thin = thinTriangles(tri, coords, uncertainty);
  }
  return dropTriangles(tri, thin);
}

/** Indices of triangles whose smallest height (twice the area over the longest side) is below `uncertainty`. */
function thinTriangles(tri: Int32Array, coords: Float64Array, uncertainty: number): number[] {
  const thin: number[] = [];
  const u2 = uncertainty * uncertainty;
  for (let t = 0; t < tri.length / 3; t++) {
    const a = tri[t * 3]! * 3;
    const b = tri[t * 3 + 1]! * 3;
    const c = tri[t * 3 + 2]! * 3;
    const abx = coords[b]! - coords[a]!, aby = coords[b + 1]! - coords[a + 1]!, abz = coords[b + 2]! - coords[a + 2]!;
    const acx = coords[c]! - coords[a]!, acy = coords[c + 1]! - coords[a + 1]!, acz = coords[c + 2]! - coords[a + 2]!;
    const bcx = acx - abx, bcy = acy - aby, bcz = acz - abz;
    const nx = aby * acz - abz * acy, ny = abz * acx - abx * acz, nz = abx * acy - aby * acx;
    const longest2 = Math.max(abx * abx + aby * aby + abz * abz, acx * acx + acy * acy + acz * acz, bcx * bcx + bcy * bcy + bcz * bcz);
    // Squared on both sides: no square roots for the half million triangles that pass.
    if (nx * nx + ny * ny + nz * nz < u2 * longest2) thin.push(t);
  }
  return thin;
}

function distance2(coords: Float64Array, a: number, b: number): number {
  const dx = coords[a * 3]! - coords[b * 3]!;
  const dy = coords[a * 3 + 1]! - coords[b * 3 + 1]!;
  const dz = coords[a * 3 + 2]! - coords[b * 3 + 2]!;
  return dx * dx + dy * dy + dz * dz;
}

/**
 * Merges the ends of every edge shorter than the uncertainty into the lower-numbered vertex, which
 * keeps its written position (no new coordinates appear). A merge that would move a vertex by the
 * uncertainty or more, through a chain of short edges, is refused.
 */
function collapseShortEdges(tri: Int32Array, coords: Float64Array, vertexCount: number, uncertainty: number): Int32Array {
  const u2 = uncertainty * uncertainty;
  let parent: Int32Array | undefined;
  const find = (p: Int32Array, v: number): number => {
    while (p[v] !== v) {
      p[v] = p[p[v]!]!;
      v = p[v]!;
    }
    return v;
  };
  for (let h = 0; h < tri.length; h++) {
    const a = tri[h]!;
    const b = tri[h % 3 === 2 ? h - 2 : h + 1]!;
    if (distance2(coords, a, b) >= u2) continue;
    if (!parent) {
      parent = new Int32Array(vertexCount);
      for (let v = 0; v < vertexCount; v++) parent[v] = v;
    }
    const ra = find(parent, a);
    const rb = find(parent, b);
    if (ra === rb || distance2(coords, ra, rb) >= u2) continue;
    if (ra < rb) parent[rb] = ra;
    else parent[ra] = rb;
  }
  if (!parent) return tri;
  const out = new Int32Array(tri.length);
  let n = 0;
  for (let t = 0; t < tri.length; t += 3) {
    const a = find(parent, tri[t]!);
    const b = find(parent, tri[t + 1]!);
    const c = find(parent, tri[t + 2]!);
    if (a === b || b === c || a === c) continue;
    out[n++] = a;
    out[n++] = b;
    out[n++] = c;
  }
  return out.slice(0, n);
}

/**
 * One round of cap resolution. For a cap (p, q, m) with longest side p→q and apex m, the neighbour
 * (q, p, x) becomes (q, m, x) and (m, p, x) when both short sides q→m and m→p are shared (m→q and
 * p→m exist elsewhere); otherwise the cap is only dropped, as it then borders nothing a split would
 * mend (a flap hanging off an edge, or a cap on the mesh's border). A neighbour is split once per
 * round; caps whose neighbour was already taken wait for the next round.
 */
function splitCaps(tri: Int32Array, thin: readonly number[], coords: Float64Array, vertexCount: number): Int32Array {
  const key = (a: number, b: number): number => a * vertexCount + b;
  // Only the directed edges the caps ask about are looked up, so a mesh with one cap pays one pass.
  const wanted = new Map<number, number>();
  const caps: { t: number; p: number; q: number; m: number }[] = [];
  const isThin = new Set(thin);
  for (const t of thin) {
    const [p, q, m] = longestSideFirst(tri, coords, t);
    caps.push({ t, p, q, m });
    wanted.set(key(q, p), -1);
    wanted.set(key(m, q), -1);
    wanted.set(key(p, m), -1);
  }
  for (let h = 0; h < tri.length; h++) {
    const k = key(tri[h]!, tri[h % 3 === 2 ? h - 2 : h + 1]!);
    const seen = wanted.get(k);
    if (seen === undefined) continue;
    // A directed edge used twice is non-manifold: no unique neighbour to split.
    wanted.set(k, seen === -1 ? h : -2);
  }
  const grown: number[] = [];
  const drop = new Set<number>();
  const taken = new Set<number>();
  for (const { t, p, q, m } of caps) {
    if (taken.has(t)) continue;
    const across = wanted.get(key(q, p))!;
    const shortSidesShared = wanted.get(key(m, q))! >= 0 && wanted.get(key(p, m))! >= 0;
    if (across < 0 || !shortSidesShared) {
      drop.add(t);
      taken.add(t);
      continue;
    }
    const n = (across / 3) | 0;
    if (taken.has(n) || drop.has(n) || isThin.has(n)) continue;
    const x = tri[n * 3 + ((across % 3) + 2) % 3]!;
    // In place: (q, m, x); appended: (m, p, x). Both keep the neighbour's winding.
    tri[n * 3] = q;
    tri[n * 3 + 1] = m;
    tri[n * 3 + 2] = x;
    grown.push(m, p, x);
    drop.add(t);
    taken.add(t);
    taken.add(n);
  }
  const out = new Int32Array(tri.length + grown.length);
  out.set(tri);
  out.set(grown, tri.length);
  return dropTriangles(out, [...drop]);
}

/** The triangle's vertices rotated so the longest side comes first: [p, q, apex]. */
function longestSideFirst(tri: Int32Array, coords: Float64Array, t: number): [number, number, number] {
  const v = [tri[t * 3]!, tri[t * 3 + 1]!, tri[t * 3 + 2]!];
  let best = 0;
  let bestLength = -1;
  for (let k = 0; k < 3; k++) {
    const length = distance2(coords, v[k]!, v[(k + 1) % 3]!);
    if (length > bestLength) {
      bestLength = length;
      best = k;
    }
  }
  return [v[best]!, v[(best + 1) % 3]!, v[(best + 2) % 3]!];
}

function dropTriangles(tri: Int32Array, drop: readonly number[]): Int32Array {
  if (drop.length === 0) return tri;
  const gone = new Uint8Array(tri.length / 3);
  for (const t of drop) gone[t] = 1;
  const out = new Int32Array(tri.length - drop.length * 3);
  let n = 0;
  for (let t = 0; t < gone.length; t++) {
    if (gone[t]) continue;
    out[n++] = tri[t * 3]!;
    out[n++] = tri[t * 3 + 1]!;
    out[n++] = tri[t * 3 + 2]!;
  }
  return out;
}
