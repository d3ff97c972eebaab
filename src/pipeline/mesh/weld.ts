import type { Mesh } from './mesh.js';

/**
 * Merges vertices whose positions coincide exactly, so that a surface stored as separate triangles
 * (STL) or with per-corner attributes (OBJ v/vt/vn, glTF seams) comes out connected: a closed mesh
 * then has every edge shared by two triangles.
 *
 * - Exact means equal float32 values; +0 and -0 count as equal. No tolerance: a tolerance would also
 *   join vertices that are meant to be apart (thin walls), and would depend on the file's units.
 * - The first vertex of each group (in vertex order) gives the merged vertex its colour and normal.
 * - Triangles that weld down to a repeated index (zero-area slivers) are dropped, and so are vertices
 *   no triangle uses; surviving vertices keep their relative order.
 *
 * Keys are the float32 bit patterns in an open-addressing hash table: no strings, no Map.
 */
export function weldVertices(mesh: Mesh): Mesh {
  const vertexCount = mesh.positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  if (mesh.colors && mesh.colors.length !== mesh.positions.length) {
    throw new RangeError('Mesh colors length does not match positions.');
  }
  if (mesh.normals && mesh.normals.length !== mesh.positions.length) {
    throw new RangeError('Mesh normals length does not match positions.');
  }
  const representative = representatives(mesh.positions, vertexCount);
  return compact(mesh, usedRepresentatives(mesh.indices, representative));
}

/** For each vertex, the first vertex at the same position. */
function representatives(positions: Float32Array, vertexCount: number): Uint32Array {
  // -0 and +0 differ in their bits but not in value: normalise a copy before reading bits.
  const keys = new Float32Array(positions.length);
  for (let i = 0; i < positions.length; i++) keys[i] = positions[i]! + 0;
  const bits = new Uint32Array(keys.buffer);

  let size = 16;
  while (size < vertexCount * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  const representative = new Uint32Array(vertexCount);
  for (let v = 0; v < vertexCount; v++) {
    const x = bits[v * 3]!;
    const y = bits[v * 3 + 1]!;
    const z = bits[v * 3 + 2]!;
    let slot = hash(x, y, z) & mask;
    for (;;) {
      const other = slots[slot]!;
      if (other < 0) {
        slots[slot] = v;
        representative[v] = v;
        break;
      }
      if (bits[other * 3] === x && bits[other * 3 + 1] === y && bits[other * 3 + 2] === z) {
        representative[v] = other;
        break;
      }
      slot = (slot + 1) & mask; // linear probing: the table is at most half full
    }
  }
  return representative;
}

/** Mixes three 32-bit words (multiply-xorshift); the low bits index the table. */
function hash(x: number, y: number, z: number): number {
  let h = Math.imul(x, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ y, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13) ^ z, 0xc2b2ae3d);
  return h ^ (h >>> 16);
}

/**
 * Rewrites every index to its representative and marks the representatives still used by a triangle
 * with three distinct corners. Returns the remapped triangles (degenerate ones removed) and the marks.
 */
function usedRepresentatives(indices: Uint32Array, representative: Uint32Array): { triangles: Uint32Array; used: Uint8Array } {
  if (indices.length % 3 !== 0) throw new RangeError('Mesh indices length is not a multiple of 3.');
  const vertexCount = representative.length;
  const triangles = new Uint32Array(indices.length);
  const used = new Uint8Array(vertexCount);
  let n = 0;
  for (let t = 0; t < indices.length; t += 3) {
    const ia = indices[t]!, ib = indices[t + 1]!, ic = indices[t + 2]!;
    if (ia >= vertexCount || ib >= vertexCount || ic >= vertexCount) {
      throw new RangeError(`Mesh index out of range in triangle ${t / 3}.`);
    }
    const a = representative[ia]!, b = representative[ib]!, c = representative[ic]!;
    if (a === b || b === c || a === c) continue;
    triangles[n++] = a;
    triangles[n++] = b;
    triangles[n++] = c;
    used[a] = used[b] = used[c] = 1;
  }
  return { triangles: triangles.subarray(0, n), used };
}

function compact(mesh: Mesh, kept: { triangles: Uint32Array; used: Uint8Array }): Mesh {
  const { triangles, used } = kept;
  const vertexCount = used.length;
  const newIndex = new Uint32Array(vertexCount);
  let count = 0;
  for (let v = 0; v < vertexCount; v++) if (used[v]) newIndex[v] = count++;

  const positions = new Float32Array(count * 3);
  const colors = mesh.colors ? new Float32Array(count * 3) : undefined;
  const normals = mesh.normals ? new Float32Array(count * 3) : undefined;
  for (let v = 0; v < vertexCount; v++) {
    if (!used[v]) continue;
    const from = v * 3;
    const to = newIndex[v]! * 3;
    positions[to] = mesh.positions[from]!;
    positions[to + 1] = mesh.positions[from + 1]!;
    positions[to + 2] = mesh.positions[from + 2]!;
    if (colors) copy3(colors, to, mesh.colors!, from);
    if (normals) copy3(normals, to, mesh.normals!, from);
  }
  const indices = new Uint32Array(triangles.length);
  for (let i = 0; i < triangles.length; i++) indices[i] = newIndex[triangles[i]!]!;

  const out: { positions: Float32Array; indices: Uint32Array; colors?: Float32Array; normals?: Float32Array } = { positions, indices };
  if (colors) out.colors = colors;
  if (normals) out.normals = normals;
  return out;
}

function copy3(to: Float32Array, at: number, from: Float32Array, start: number): void {
  to[at] = from[start]!;
  to[at + 1] = from[start + 1]!;
  to[at + 2] = from[start + 2]!;
}
