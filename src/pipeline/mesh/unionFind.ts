/**
 * The root of `v`'s set in a union-find forest stored as parent indices, compressing the path on the
 * way so later look-ups are nearly constant time (connected components of million-triangle meshes).
 */
export function findRoot(parent: Uint32Array, v: number): number {
  let r = v;
  while (parent[r] !== r) r = parent[r]!;
  while (parent[v] !== r) {
    const next = parent[v]!;
    parent[v] = r;
    v = next;
  }
  return r;
}
