import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';

/**
 * Binary STL writer. The mesh arrives in the CAD frame (Z up, millimetres), which is what slicers
 * assume for STL, so coordinates are written as they are.
 *
 * Layout: an 80-byte header, a uint32 triangle count, then per triangle 50 bytes: the facet normal,
 * three corners (all float32 little-endian) and a uint16 attribute, always 0. STL has no colour
 * standard every reader agrees on, so colours are not written.
 */

export interface StlOptions {
  /** Recorded in the header. */
  readonly name: string;
  /** Recorded in the header. */
  readonly generator: string;
}

const HEADER_BYTES = 80;
const RECORD_BYTES = 50;

export function encodeStl(mesh: Mesh, options: StlOptions): Uint8Array {
  const vertexCount = mesh.positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  const p = mesh.positions;
  const triangles = distinctTriangles(mesh.indices, vertexCount);

  const out = new Uint8Array(HEADER_BYTES + 4 + (triangles.length / 3) * RECORD_BYTES);
  out.set(headerBytes(options));
  const dv = new DataView(out.buffer);
  let offset = HEADER_BYTES + 4;
  let written = 0;
  for (let t = 0; t < triangles.length; t += 3) {
    const a = triangles[t]! * 3;
    const b = triangles[t + 1]! * 3;
    const c = triangles[t + 2]! * 3;
    const ax = p[a]!, ay = p[a + 1]!, az = p[a + 2]!;
    const bx = p[b]!, by = p[b + 1]!, bz = p[b + 2]!;
    const cx = p[c]!, cy = p[c + 1]!, cz = p[c + 2]!;
    if (!Number.isFinite(ax + ay + az + bx + by + bz + cx + cy + cz)) {
      throw new RangeError(`Mesh positions contain a non-finite value in triangle ${t / 3}.`);
    }
    // The normal is the triangle's own: STL readers and slicers use it, not vertex normals.
    const ux = bx - ax, uy = by - ay, uz = bz - az;
    const vx = cx - ax, vy = cy - ay, vz = cz - az;
    const nx = uy * vz - uz * vy;
    const ny = uz * vx - ux * vz;
    const nz = ux * vy - uy * vx;
    const length = Math.sqrt(nx * nx + ny * ny + nz * nz);
    // A triangle without area (collinear or coincident corners) has no normal, covers nothing, and
    // makes slicers report errors: leave it out.
    if (!(length > 0)) continue;
    dv.setFloat32(offset, nx / length, true);
    dv.setFloat32(offset + 4, ny / length, true);
    dv.setFloat32(offset + 8, nz / length, true);
    dv.setFloat32(offset + 12, ax, true);
    dv.setFloat32(offset + 16, ay, true);
    dv.setFloat32(offset + 20, az, true);
    dv.setFloat32(offset + 24, bx, true);
    dv.setFloat32(offset + 28, by, true);
    dv.setFloat32(offset + 32, bz, true);
    dv.setFloat32(offset + 36, cx, true);
    dv.setFloat32(offset + 40, cy, true);
    dv.setFloat32(offset + 44, cz, true);
    // Attribute bytes stay 0: the array starts zeroed.
    offset += RECORD_BYTES;
    written++;
  }
  dv.setUint32(HEADER_BYTES, written, true);
  return offset === out.length ? out : out.slice(0, offset);
}

/**
 * 80 ASCII bytes, space padded. It must not begin with "solid": many readers decide "ASCII STL" from
 * those five bytes alone. Ours always begins with "Binary STL".
 */
function headerBytes(options: StlOptions): Uint8Array {
  const text = `Binary STL; ${options.name}; mm, Z up; ${options.generator}`;
  const bytes = new Uint8Array(HEADER_BYTES).fill(0x20);
  const n = Math.min(text.length, HEADER_BYTES);
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    bytes[i] = code >= 0x20 && code < 0x7f ? code : 0x3f; // printable ASCII, else "?"
  }
  return bytes;
}
