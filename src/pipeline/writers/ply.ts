import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';

/**
 * Binary little-endian PLY writer (Stanford polygon format), as MeshLab, Blender, CloudCompare and
 * slicers read it. The mesh arrives in the CAD frame (Z up, millimetres, sRGB colours) and is written
 * as is: PLY has no unit, so the frame is stated in a comment.
 *
 *   element vertex N: float x, y, z (+ uchar red, green, blue when the mesh has colours)
 *   element face F:   list uchar int vertex_indices (always 3)
 */

export interface PlyOptions {
  /** Recorded in a header comment. */
  readonly generator: string;
}

export function encodePly(mesh: Mesh, options: PlyOptions): Uint8Array {
  const vertexCount = mesh.positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  checkFinite(mesh.positions);
  const colors = mesh.colors;
  if (colors && colors.length !== mesh.positions.length) {
    throw new RangeError('Mesh colors length does not match positions.');
  }
  const triangles = distinctTriangles(mesh.indices, vertexCount);
  const faceCount = triangles.length / 3;

  const header = headerBytes(vertexCount, faceCount, colors !== undefined, options.generator);
  const vertexBytes = colors ? 15 : 12;
  const out = new Uint8Array(header.length + vertexCount * vertexBytes + faceCount * 13);
  out.set(header);
  let offset = header.length;
  if (colors) offset = writeColouredVertices(out, offset, mesh.positions, colors);
  else offset = writePlainVertices(out, offset, mesh.positions);
  writeFaces(out, offset, triangles);
  return out;
}

function checkFinite(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`Mesh positions contain a non-finite value at ${i}.`);
  }
}

function headerBytes(vertexCount: number, faceCount: number, withColours: boolean, generator: string): Uint8Array {
  const lines = [
    'ply',
    'format binary_little_endian 1.0',
    `comment generator ${printable(generator)}`,
    'comment units millimetres, Z up',
    `element vertex ${vertexCount}`,
    'property float x',
    'property float y',
    'property float z',
    ...(withColours ? ['property uchar red', 'property uchar green', 'property uchar blue'] : []),
    `element face ${faceCount}`,
    'property list uchar int vertex_indices',
    'end_header',
  ];
  const text = lines.join('\n') + '\n';
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** PLY headers are ASCII lines: anything else in a comment could break a reader's header parser. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Without colours the vertex block is the positions array byte for byte (on little-endian hosts). */
function writePlainVertices(out: Uint8Array, offset: number, positions: Float32Array): number {
  if (littleEndianHost) {
    out.set(new Uint8Array(positions.buffer, positions.byteOffset, positions.byteLength), offset);
    return offset + positions.byteLength;
  }
  const dv = new DataView(out.buffer, out.byteOffset);
  for (let i = 0; i < positions.length; i++, offset += 4) dv.setFloat32(offset, positions[i]!, true);
  return offset;
}

function writeColouredVertices(out: Uint8Array, offset: number, positions: Float32Array, colors: Float32Array): number {
  const dv = new DataView(out.buffer, out.byteOffset);
  for (let i = 0; i < positions.length; i += 3) {
    dv.setFloat32(offset, positions[i]!, true);
    dv.setFloat32(offset + 4, positions[i + 1]!, true);
    dv.setFloat32(offset + 8, positions[i + 2]!, true);
    out[offset + 12] = toByte(colors[i]!);
    out[offset + 13] = toByte(colors[i + 1]!);
    out[offset + 14] = toByte(colors[i + 2]!);
    offset += 15;
  }
  return offset;
}

/** [0, 1] to 0..255 by rounding; out-of-range values clamp and NaN becomes 0. (x + 0.5) | 0 rounds
 * like Math.round for these non-negative values at a fraction of its cost. */
function toByte(c: number): number {
  return c > 0 ? (c < 1 ? (c * 255 + 0.5) | 0 : 255) : 0;
}

function writeFaces(out: Uint8Array, offset: number, triangles: Uint32Array): void {
  const dv = new DataView(out.buffer, out.byteOffset);
  for (let t = 0; t < triangles.length; t += 3) {
    out[offset] = 3;
    dv.setInt32(offset + 1, triangles[t]!, true);
    dv.setInt32(offset + 5, triangles[t + 1]!, true);
    dv.setInt32(offset + 9, triangles[t + 2]!, true);
    offset += 13;
  }
}
