import type { Mesh } from '../mesh/mesh.js';
import { finishMesh, FloatList } from './build.js';
import { TextCursor } from './text.js';

/**
 * STL reader, binary and ASCII. STL stores every triangle with its own three corners, so the result
 * is always welded (see finishMesh): a closed part comes out closed. Facet normals are ignored (the
 * winding is what defines the outside; normals are recomputed downstream).
 *
 * Telling the two apart: a binary file is exactly 84 + 50·n bytes for the count n at byte 80. Many
 * binary exporters nevertheless start their 80-byte header with "solid", so the word alone decides
 * nothing; the size does, and when both agree the first bytes after the header must read as text
 * for the file to count as ASCII.
 */

export interface StlRead {
  readonly mesh: Mesh;
  readonly notes: string[];
}

const HEADER_BYTES = 80;
const RECORD_BYTES = 50;

export function readStl(bytes: Uint8Array): StlRead {
  const notes: string[] = [];
  const kind = classify(bytes, notes);
  const raw = kind === 'ascii' ? readAscii(bytes) : readBinary(bytes);
  return { mesh: finishMesh(raw, notes), notes };
}

function classify(bytes: Uint8Array, notes: string[]): 'ascii' | 'binary' {
  const solid = startsWithSolid(bytes);
  if (bytes.length < HEADER_BYTES + 4) {
    if (solid) return 'ascii';
    throw new RangeError(`The STL file is truncated: ${bytes.length} bytes, while a binary STL needs at least 84.`);
  }
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(HEADER_BYTES, true);
  const expected = HEADER_BYTES + 4 + RECORD_BYTES * count;
  if (expected === bytes.length) return solid && textAfterHeader(bytes) ? 'ascii' : 'binary';
  if (solid && textAfterHeader(bytes)) return 'ascii';
  if (bytes.length < expected) {
    throw new RangeError(
      `The binary STL file is truncated: its header announces ${count} triangles (${expected} bytes) but the file has ${bytes.length} bytes.`,
    );
  }
  const extra = bytes.length - expected;
  if (extra % RECORD_BYTES === 0) {
    throw new RangeError(
      `The binary STL triangle count does not match the file: the header says ${count} triangles but the file holds ${count + extra / RECORD_BYTES}.`,
    );
  }
  notes.push(`Ignored ${extra} bytes after the last triangle of the binary STL.`);
  return 'binary';
}

function startsWithSolid(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  const word = 'solid';
  for (let k = 0; k < word.length; k++) {
    const b = bytes[i + k];
    if (b === undefined || (b | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** Whether the bytes just past the 80-byte header are printable text, as in an ASCII STL. */
function textAfterHeader(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 1024);
  for (let i = HEADER_BYTES; i < end; i++) {
    const b = bytes[i]!;
    if (b > 0x7e || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

function readBinary(bytes: Uint8Array): Mesh {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(HEADER_BYTES, true);
  const positions = new Float32Array(count * 9);
  let offset = HEADER_BYTES + 4;
  for (let t = 0; t < count; t++) {
    const base = t * 9;
    // Skip the 12-byte facet normal; read the three corners.
    for (let k = 0; k < 9; k++) {
      const value = dv.getFloat32(offset + 12 + k * 4, true);
      if (!Number.isFinite(value)) {
        throw new RangeError(`The binary STL has a non-finite coordinate in triangle ${t}.`);
      }
      positions[base + k] = value;
    }
    offset += RECORD_BYTES;
  }
  return { positions, indices: sequence(count * 3) };
}

function sequence(n: number): Uint32Array {
  const indices = new Uint32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  return indices;
}

/**
 * ASCII: `solid name` { `facet normal n n n` `outer loop` `vertex x y z`… `endloop` `endfacet` }
 * `endsolid name`, possibly several solids (merged). Keywords are matched case-insensitively; a loop
 * of more than three corners (some writers emit quads) is fanned.
 */
function readAscii(bytes: Uint8Array): Mesh {
  const text = new TextCursor(bytes);
  const positions = new FloatList(Math.max(1024, bytes.length >> 4));
  const triangles: number[] = [];
  let loopStart = -1;
  let facet = 0;
  while (!text.atEnd()) {
    text.skipWhitespace();
    if (text.atEnd()) break;
    const at = text.pos;
    const word = text.word().toLowerCase();
    switch (word) {
      case 'solid':
      case 'endsolid':
        text.skipLine(); // the solid's name
        break;
      case 'facet':
        facet++;
        text.skipLine(); // "normal nx ny nz": not used
        break;
      case 'outer':
        loopStart = positions.length / 3;
        text.skipLine();
        break;
      case 'vertex': {
        const x = text.number();
        const y = text.number();
        const z = text.number();
        if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) {
          throw new RangeError(`ASCII STL line ${text.lineOf(at)}: a vertex needs three finite numbers.`);
        }
        if (loopStart < 0) throw new RangeError(`ASCII STL line ${text.lineOf(at)}: a vertex outside "outer loop".`);
        positions.push3(x, y, z);
        break;
      }
      case 'endloop': {
        const end = positions.length / 3;
        if (end - loopStart < 3) throw new RangeError(`ASCII STL facet ${facet} has fewer than three vertices.`);
        for (let i = loopStart + 1; i + 1 < end; i++) triangles.push(loopStart, i, i + 1);
        loopStart = -1;
        break;
      }
      case 'endfacet':
        break;
      default:
        throw new RangeError(`ASCII STL line ${text.lineOf(at)}: unexpected "${word.slice(0, 40)}".`);
    }
  }
  if (loopStart >= 0) throw new RangeError('The ASCII STL file is truncated: it ends inside a facet.');
  return { positions: positions.toArray(), indices: Uint32Array.from(triangles) };
}
