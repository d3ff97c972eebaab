/**
 * The triangles that name three distinct vertices, after checking every index is in range. Every writer
 * starts from these: a triangle that repeats a vertex draws nothing, and validators flag each one.
 * When nothing is dropped (the usual case) the input array itself comes back, uncopied: callers read it
 * and must not write to it.
 */
export function distinctTriangles(indices: Uint32Array, vertexCount: number): Uint32Array {
  if (indices.length % 3 !== 0) throw new RangeError('Mesh indices length is not a multiple of 3.');
  let clean = true;
  for (let t = 0; t < indices.length && clean; t += 3) {
    const a = indices[t]!, b = indices[t + 1]!, c = indices[t + 2]!;
    clean = a < vertexCount && b < vertexCount && c < vertexCount && a !== b && b !== c && a !== c;
  }
  if (clean) return indices;
  const kept = new Uint32Array(indices.length);
  let n = 0;
  for (let t = 0; t < indices.length; t += 3) {
    const a = indices[t]!;
    const b = indices[t + 1]!;
    const c = indices[t + 2]!;
    if (a >= vertexCount || b >= vertexCount || c >= vertexCount) {
      throw new RangeError(`Mesh index out of range in triangle ${t / 3}.`);
    }
    if (a === b || b === c || a === c) continue;
    kept[n++] = a;
    kept[n++] = b;
    kept[n++] = c;
  }
  return kept.subarray(0, n);
}
