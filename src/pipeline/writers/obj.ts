import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';

/**
 * Wavefront OBJ writer. The mesh arrives in the CAD frame (Z up, millimetres, sRGB colours), which is
 * what slicers and most modellers assume for OBJ, so nothing is converted here.
 *
 * Colours go on the `v` line (`v x y z r g b`), the extension MeshLab, Blender and trimesh read.
 * Normals, when present, become `vn` lines shared index-for-index with the positions (`f a//a ...`).
 *
 * Numbers are written straight into a byte buffer with fixed decimals, never through
 * Number#toString (which gives the shortest *double* form of a float32, 17 digits, and can fall into
 * exponent form that some readers reject):
 * - positions: 6 decimals, i.e. 1 nm in millimetres. At |x| ≥ 16 mm a float32's spacing is ≥ 1.9e-6,
 *   so a rounding error of at most 5e-7 reads back to the very same float32; below that the error
 *   stays under half a nanometre, far finer than any printer or CAD tolerance.
 * - normals: 6 decimals (unit vectors; 5e-7 is close to float32's own resolution at 1).
 * - colours: 4 decimals, which reproduce every 8-bit value exactly (error 5e-5 ≪ 1/510).
 */

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
  // " -" + integer digits + "." + 6 decimals; the integer part has at most 10 digits below FAST_LIMIT.
  const number = longest < FAST_LIMIT ? 1 + 1 + 10 + 1 + 6 : 1 + MAX_NUMBER_CHARS;
  let perVertex = 2 + 3 * number;
  if (mesh.colors) perVertex += 3 * 8; // " 0.1234" is 7 characters
  if (mesh.normals) perVertex += 3 + 3 * 10; // "vn" and unit components, " -0.123456"
  const perIndex = 1 + 10 + (mesh.normals ? 2 + 10 : 0);
  return vertexCount * perVertex + triangleCount * (2 + 3 * perIndex + 1) + 16;
}

function writeVertices(out: Uint8Array, at: number, mesh: Mesh): number {
  const p = mesh.positions;
  const colors = mesh.colors;
  for (let i = 0; i < p.length; i += 3) {
    out[at++] = CHAR_V;
    out[at++] = SPACE;
    at = writeFixed(out, at, p[i]!, 6);
    out[at++] = SPACE;
    at = writeFixed(out, at, p[i + 1]!, 6);
    out[at++] = SPACE;
    at = writeFixed(out, at, p[i + 2]!, 6);
    if (colors) {
      out[at++] = SPACE;
      at = writeFixed(out, at, clamp01(colors[i]!), 4);
      out[at++] = SPACE;
      at = writeFixed(out, at, clamp01(colors[i + 1]!), 4);
      out[at++] = SPACE;
      at = writeFixed(out, at, clamp01(colors[i + 2]!), 4);
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
    at = writeFixed(out, at, x, 6);
    out[at++] = SPACE;
    at = writeFixed(out, at, y, 6);
    out[at++] = SPACE;
    at = writeFixed(out, at, z, 6);
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
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const CHAR_V = 0x76;
const CHAR_N = 0x6e;
const CHAR_F = 0x66;

/** Longest fixed-point number written: "-" + up to 39 integer digits (float32 max) + "." + 6. */
const MAX_NUMBER_CHARS = 1 + 39 + 1 + 6;
/** Beyond this, x·10^6 no longer fits a double's 53-bit integer range exactly. */
const FAST_LIMIT = 9e9;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/** "00" to "99": two digits per division halves the divisions. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** Writes a non-negative integer below 2^53 in decimal at `at`; returns the end. */
function writeUint(out: Uint8Array, at: number, n: number): number {
  const end = at + digitCount(n);
  let i = end;
  if (n >= 2147483648) {
    // Beyond int32: peel digits in doubles until the rest fits.
    while (n >= 2147483648) {
      const q = Math.floor(n / 10);
      out[--i] = ZERO + n - q * 10;
      n = q;
    }
  }
  // int32 arithmetic from here: (n / 100) | 0 is much cheaper than Math.floor on doubles.
  while (n >= 100) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) * 2;
    out[--i] = PAIRS[r + 1]!;
    out[--i] = PAIRS[r]!;
    n = q;
  }
  if (n >= 10) {
    out[--i] = PAIRS[n * 2 + 1]!;
    out[--i] = PAIRS[n * 2]!;
  } else {
    out[--i] = ZERO + n;
  }
  return end;
}

function digitCount(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  let count = 7;
  for (let limit = 10000000; n >= limit; limit *= 10) count++;
  return count;
}

/** x rounded to `decimals` places, trailing zeros dropped, never in exponent form; returns the end. */
function writeFixed(out: Uint8Array, at: number, x: number, decimals: number): number {
  const negative = x < 0;
  const magnitude = negative ? -x : x;
  if (magnitude >= FAST_LIMIT) {
    // A float32 this large is a whole number (its spacing is ≥ 1024), so its integer digits are exact.
    if (negative) out[at++] = MINUS;
    const digits = BigInt(magnitude).toString();
    for (let i = 0; i < digits.length; i++) out[at++] = digits.charCodeAt(i);
    return at;
  }
  const scale = POW10[decimals]!;
  const scaled = Math.round(magnitude * scale);
  if (scaled === 0) {
    out[at++] = ZERO; // also turns -0 and tiny negatives into "0"
    return at;
  }
  if (negative) out[at++] = MINUS;
  if (scaled < 2147483648) return writeScaled(out, at, scaled, decimals);
  let whole = Math.floor(scaled / scale);
  let fraction = scaled - whole * scale;
  // Near 9e9 the quotient's last bit can round it up to the next whole number: step back.
  if (fraction < 0) {
    whole--;
    fraction += scale;
  }
  at = writeUint(out, at, whole);
  if (fraction === 0) return at;
  out[at++] = DOT;
  const end = at + decimals;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(fraction / 10);
    out[i] = ZERO + fraction - q * 10;
    fraction = q;
  }
  at = end;
  while (out[at - 1] === ZERO) at--;
  return at;
}

/**
 * The usual case, an int32 `scaled` = round(|x|·10^decimals): its digits are written in one pass from
 * the right, the point slotted in `decimals` places from the end, zeros before it as needed ("0.05");
 * trailing zeros of the fraction (and a bare point) are then taken back.
 */
function writeScaled(out: Uint8Array, at: number, scaled: number, decimals: number): number {
  const digits = digitCount(scaled);
  const wholeDigits = digits > decimals ? digits - decimals : 1; // "0.x" when below 1
  const end = at + wholeDigits + 1 + decimals;
  let i = end;
  let n = scaled;
  for (let k = 0; k < decimals; k++) {
    const q = (n / 10) | 0;
    out[--i] = ZERO + n - q * 10;
    n = q;
  }
  out[--i] = DOT;
  do {
    const q = (n / 10) | 0;
    out[--i] = ZERO + n - q * 10;
    n = q;
  } while (i > at);
  let last = end;
  while (out[last - 1] === ZERO) last--;
  if (out[last - 1] === DOT) last--;
  return last;
}
