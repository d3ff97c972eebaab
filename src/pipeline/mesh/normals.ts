/**
 * Area-weighted vertex normals: each triangle adds its unnormalised cross product, whose length is
 * twice its area, so large faces dominate and slivers barely count. Vertices with no usable
 * neighbourhood get +z so downstream writers never see NaN or zero-length normals.
 */
export function vertexNormals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const vertexCount = Math.floor(positions.length / 3);
  const sum = new Float64Array(3 * vertexCount);
  for (let f = 0; f + 2 < indices.length; f += 3) {
    const a = indices[f]!;
    const b = indices[f + 1]!;
    const c = indices[f + 2]!;
    if (a >= vertexCount || b >= vertexCount || c >= vertexCount) {
      throw new RangeError(`vertexNormals: triangle ${f / 3} indexes past ${vertexCount} vertices`);
    }
    const ax = positions[3 * a]!, ay = positions[3 * a + 1]!, az = positions[3 * a + 2]!;
    const ux = positions[3 * b]! - ax, uy = positions[3 * b + 1]! - ay, uz = positions[3 * b + 2]! - az;
    const wx = positions[3 * c]! - ax, wy = positions[3 * c + 1]! - ay, wz = positions[3 * c + 2]! - az;
    const nx = uy * wz - uz * wy;
    const ny = uz * wx - ux * wz;
    const nz = ux * wy - uy * wx;
    sum[3 * a] += nx;
    sum[3 * a + 1] += ny;
    sum[3 * a + 2] += nz;
    sum[3 * b] += nx;
    sum[3 * b + 1] += ny;
    sum[3 * b + 2] += nz;
    sum[3 * c] += nx;
    sum[3 * c + 1] += ny;
    sum[3 * c + 2] += nz;
  }
  const normals = new Float32Array(3 * vertexCount);
  for (let v = 0; v < vertexCount; v++) {
    const x = sum[3 * v]!, y = sum[3 * v + 1]!, z = sum[3 * v + 2]!;
    const len = Math.hypot(x, y, z);
    if (len > 0 && Number.isFinite(len)) {
      normals[3 * v] = x / len;
      normals[3 * v + 1] = y / len;
      normals[3 * v + 2] = z / len;
    } else {
      normals[3 * v + 2] = 1;
    }
  }
  return normals;
}
