import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';
import { decimalDigitCount, decimalTextBound, writeDecimal, writeUint } from './numberText.js';

/**
 * Wavefront OBJ writer. The mesh arrives in the CAD frame (Z up, millimetres, sRGB colours), which is
 * what slicers and most modellers assume for OBJ, so nothing is converted here.
 *
 * Colours go on the `v` line (`v x y z r g b`), the extension MeshLab, Blender and trimesh read.
 * Normals, when present, become `vn` lines shared index-for-index with the positions (`f a//a ...`).
 *
 * Numbers are written straight into a byte buffer with fixed decimals (numberText.ts), never through
 * Number#toString (which gives the shortest *double* form of a float32, 17 digits, and can fall into
 * exponent form that some readers reject):
 * - positions: 6 decimals, i.e. 1 nm in millimetres. At |x| ≥ 16 mm a float32's spacing is ≥ 1.9e-6,
 *   so a rounding error of at most 5e-7 reads back to the very same float32; below that the error
 *   stays under half a nanometre, far finer than any printer or CAD tolerance.
 * - normals: 6 decimals (unit vectors; 5e-7 is close to float32's own resolution at 1).
 * - colours: 4 decimals, which reproduce every 8-bit value exactly (error 5e-5 ≪ 1/510).
 */
const POSITION_DECIMALS = 6;
const NORMAL_DECIMALS = 6;
const COLOUR_DECIMALS = 4;

export interface ObjOptions {
  /** Object name, written as `o name`. */
  readonly name: string;
  /** Written in the comment header. */
  readonly generator: string;
}

export function encodeObj(mesh: Mesh, options: ObjOptions): string {
  const vertexCount = mesh.positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  const longest = largestMagnitude(mesh.positions);
  if (mesh.colors && mesh.colors.length !== mesh.positions.length) {
    throw new RangeError('Mesh colors length does not match positions.');
  }
  if (mesh.normals && mesh.normals.length !== mesh.positions.length) {
    throw new RangeError('Mesh normals length does not match positions.');
  }
  const triangles = distinctTriangles(mesh.indices, vertexCount);

  const header =
    `# ${oneLine(options.generator)}\n` +
    '# Units: millimetres, Z up\n' +
    `# ${vertexCount} vertices, ${triangles.length / 3} triangles\n` +
    `o ${oneLine(options.name) || 'mesh'}\n`;

  const body = new Uint8Array(bodyCapacity(vertexCount, triangles.length / 3, mesh, longest));
  let length = writeVertices(body, 0, mesh);
  if (mesh.normals) length = writeNormals(body, length, mesh.normals);
  length = writeFaces(body, length, triangles, mesh.normals !== undefined);
  // The body is pure ASCII: Node's ascii decoding makes a one-byte string without UTF-8 validation.
  return header + Buffer.from(body.buffer, body.byteOffset, length).toString('ascii');
}

/** Names and generators end up after a keyword on one line: no line breaks may survive. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

/** The largest |coordinate|, after checking that every one is finite. */
function largestMagnitude(values: Float32Array): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`Mesh positions contain a non-finite value at ${i}.`);
    const m = v < 0 ? -v : v;
    if (m > largest) largest = m;
  }
  return largest;
}

/** Upper bound of the body size: every number at its longest, so the sink never grows. */
function bodyCapacity(vertexCount: number, triangleCount: number, mesh: Mesh, longest: number): number {
  let perVertex = 2 + 3 * (1 + decimalTextBound(longest, POSITION_DECIMALS)); // "v" and " x y z"
  if (mesh.colors) perVertex += 3 * (1 + decimalTextBound(1, COLOUR_DECIMALS));
  if (mesh.normals) perVertex += 3 + 3 * (1 + decimalTextBound(1, NORMAL_DECIMALS)); // "vn" and unit components
  const indexDigits = decimalDigitCount(vertexCount);
  const perIndex = 1 + indexDigits + (mesh.normals ? 2 + indexDigits : 0);
  return vertexCount * perVertex + triangleCount * (2 + 3 * perIndex + 1) + 16;
}

function writeVertices(out: Uint8Array, at: number, mesh: Mesh): number {
  const p = mesh.positions;
  const colors = mesh.colors;
  for (let i = 0; i < p.length; i += 3) {
    out[at++] = CHAR_V;
    out[at++] = SPACE;
    at = writeNumber(out, at, p[i]!, POSITION_DECIMALS);
    out[at++] = SPACE;
    at = writeNumber(out, at, p[i + 1]!, POSITION_DECIMALS);
    out[at++] = SPACE;
    at = writeNumber(out, at, p[i + 2]!, POSITION_DECIMALS);
    if (colors) {
      out[at++] = SPACE;
      at = writeNumber(out, at, clamp01(colors[i]!), COLOUR_DECIMALS);
      out[at++] = SPACE;
      at = writeNumber(out, at, clamp01(colors[i + 1]!), COLOUR_DECIMALS);
      out[at++] = SPACE;
      at = writeNumber(out, at, clamp01(colors[i + 2]!), COLOUR_DECIMALS);
    }
    out[at++] = NEWLINE;
  }
  return at;
}

/** Unit normals; one that has no direction (zero, NaN, infinite) is written as 0 0 0, which readers
 * take as "no normal" instead of failing on the token. */
function writeNormals(out: Uint8Array, at: number, normals: Float32Array): number {
  for (let i = 0; i < normals.length; i += 3) {
    let x = normals[i]!;
    let y = normals[i + 1]!;
    let z = normals[i + 2]!;
    const length = Math.sqrt(x * x + y * y + z * z);
    if (length > 0 && length < Infinity) {
      x /= length;
      y /= length;
      z /= length;
    } else {
      x = y = z = 0;
    }
    out[at++] = CHAR_V;
    out[at++] = CHAR_N;
    out[at++] = SPACE;
    at = writeNumber(out, at, x, NORMAL_DECIMALS);
    out[at++] = SPACE;
    at = writeNumber(out, at, y, NORMAL_DECIMALS);
    out[at++] = SPACE;
    at = writeNumber(out, at, z, NORMAL_DECIMALS);
    out[at++] = NEWLINE;
  }
  return at;
}

function writeFaces(out: Uint8Array, at: number, triangles: Uint32Array, withNormals: boolean): number {
  for (let t = 0; t < triangles.length; t += 3) {
    out[at++] = CHAR_F;
    for (let k = 0; k < 3; k++) {
      out[at++] = SPACE;
      const start = at;
      at = writeUint(out, at, triangles[t + k]! + 1); // OBJ counts from 1
      if (withNormals) {
        // "a//a": the normal shares the position's index; copy the digits just written.
        const end = at;
        out[at++] = SLASH;
        out[at++] = SLASH;
        for (let d = start; d < end; d++) out[at++] = out[d]!;
      }
    }
    out[at++] = NEWLINE;
  }
  return at;
}

function clamp01(c: number): number {
  return c > 0 ? (c < 1 ? c : 1) : 0; // also maps NaN to 0
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const SLASH = 0x2f;
const CHAR_V = 0x76;
const CHAR_N = 0x6e;
const CHAR_F = 0x66;

/** OBJ readers take a plain "1" for whole numbers. */
function writeNumber(out: Uint8Array, at: number, x: number, decimals: number): number {
  return writeDecimal(out, at, x, decimals, 'when-fractional');
}
