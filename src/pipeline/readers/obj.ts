import type { Mesh } from '../mesh/mesh.js';
import { checkFinitePositions, finishMesh, FloatList, IndexList } from './build.js';
import { triangulatePolygon } from './polygon.js';
import { TextCursor } from './text.js';

/**
 * Wavefront OBJ reader: `v x y z [r g b]` and `f` lines in all four corner forms (v, v/vt, v//vn,
 * v/vt/vn), with negative (relative) indices. Every object and group is merged into one mesh;
 * texture coordinates, normals, materials, lines and points are not needed for a solid and are
 * skipped, each kind named once in the notes.
 */

export interface ObjRead {
  readonly mesh: Mesh;
  readonly notes: string[];
}

const LF = 0x0a;
const HASH = 0x23;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;

interface Parsed {
  positions: FloatList;
  colors: FloatList;
  /** Number of `v` lines that carried a colour. */
  coloured: number;
  /** Face corners (0-based position indices, resolved), polygon after polygon. */
  corners: IndexList;
  /** Corner count of each polygon. */
  sizes: IndexList;
  objects: number;
  groups: number;
  skipped: Map<string, number>;
}

export function readObj(bytes: Uint8Array): ObjRead {
  const parsed = parse(joinContinuations(bytes));
  const notes: string[] = [];
  const positions = parsed.positions.toArray();
  checkFinitePositions(positions, 'OBJ');
  const vertexCount = positions.length / 3;
  const indices = triangulate(parsed, positions, vertexCount);
  const colors = vertexColours(parsed, vertexCount, notes);
  describe(parsed, notes);
  const raw: Mesh = colors ? { positions, indices, colors } : { positions, indices };
  return { mesh: finishMesh(raw, notes), notes };
}

/** A backslash at the end of a line continues it on the next (rare, but in the format). */
function joinContinuations(bytes: Uint8Array): Uint8Array {
  let at = bytes.indexOf(BACKSLASH);
  if (at < 0) return bytes;
  const copy = bytes.slice();
  while (at >= 0) {
    let next = at + 1;
    if (copy[next] === 0x0d) next++;
    if (copy[next] === LF) copy.fill(0x20, at, next + 1);
    at = copy.indexOf(BACKSLASH, at + 1);
  }
  return copy;
}

function parse(bytes: Uint8Array): Parsed {
  const text = new TextCursor(bytes);
  const estimate = Math.max(1024, bytes.length >> 5);
  const parsed: Parsed = {
    positions: new FloatList(estimate),
    colors: new FloatList(16),
    coloured: 0,
    corners: new IndexList(estimate),
    sizes: new IndexList(estimate >> 2),
    objects: 0,
    groups: 0,
    skipped: new Map(),
  };
  const polygon: number[] = [];
  while (!text.atEnd()) {
    text.skipWhitespace();
    if (text.atEnd()) break;
    const lineStart = text.pos;
    const first = bytes[lineStart]!;
    if (first === HASH) {
      text.skipLine();
      continue;
    }
    const keyword = keywordAt(bytes, lineStart, text);
    if (keyword === 'v') readVertex(text, parsed, lineStart);
    else if (keyword === 'f') readFace(text, parsed, polygon, lineStart);
    else if (keyword === 'o') parsed.objects++;
    else if (keyword === 'g') parsed.groups++;
    else if (keyword !== 's') parsed.skipped.set(keyword, (parsed.skipped.get(keyword) ?? 0) + 1);
    text.skipLine();
  }
  return parsed;
}

/** The line's keyword; the common one-letter ones are recognised without making a string. */
function keywordAt(bytes: Uint8Array, at: number, text: TextCursor): string {
  const next = at + 1 < bytes.length ? bytes[at + 1]! : LF;
  if (next === 0x20 || next === 0x09) {
    text.pos = at + 1;
    const c = bytes[at]!;
    if (c === 0x76) return 'v';
    if (c === 0x66) return 'f';
    text.pos = at;
  }
  return text.word();
}

function readVertex(text: TextCursor, parsed: Parsed, lineStart: number): void {
  const x = text.number();
  const y = text.number();
  const z = text.number();
  if (Number.isNaN(x) || Number.isNaN(y) || Number.isNaN(z)) {
    throw new RangeError(`OBJ line ${text.lineOf(lineStart)}: a vertex needs three numbers.`);
  }
  const index = parsed.positions.length / 3;
  parsed.positions.push3(x, y, z);
  if (text.atLineEnd()) return;
  // Four numbers: x y z w (homogeneous weight, ignored). Six or seven: x y z r g b [a].
  const fourth = text.number();
  if (text.atLineEnd()) return;
  const g = text.number();
  const b = text.number();
  if (Number.isNaN(fourth) || Number.isNaN(g) || Number.isNaN(b)) return;
  // Vertices before the first coloured one are marked uncoloured (-1), filled in lazily here.
  parsed.colors.fill3(-1, -1, -1, index - parsed.colors.length / 3);
  parsed.colors.push3(fourth, g, b);
  parsed.coloured++;
}

function readFace(text: TextCursor, parsed: Parsed, polygon: number[], lineStart: number): void {
  polygon.length = 0;
  const count = parsed.positions.length / 3;
  while (!text.atLineEnd()) {
    const value = text.number(SLASH);
    if (!Number.isInteger(value) || value === 0) {
      throw new RangeError(`OBJ line ${text.lineOf(lineStart)}: bad vertex index in a face.`);
    }
    // Negative indices count back from the last vertex read so far.
    polygon.push(value > 0 ? value - 1 : count + value);
    if (value < 0 && count + value < 0) {
      throw new RangeError(`OBJ line ${text.lineOf(lineStart)}: relative index ${value} reaches before the first vertex.`);
    }
    skipCornerRest(text);
  }
  if (polygon.length < 3) {
    parsed.skipped.set('f<3', (parsed.skipped.get('f<3') ?? 0) + 1);
    return;
  }
  for (const corner of polygon) parsed.corners.push(corner);
  parsed.sizes.push(polygon.length);
}

/** Skips "/vt/vn" after a position index: those are not needed. */
function skipCornerRest(text: TextCursor): void {
  const bytes = text.bytes;
  while (text.pos < text.end) {
    const b = bytes[text.pos]!;
    if (b === 0x20 || b === 0x09 || b === 0x0d || b === LF) return;
    text.pos++;
  }
}

function triangulate(parsed: Parsed, positions: Float32Array, vertexCount: number): Uint32Array {
  const corners = parsed.corners.data;
  const out = new IndexList(parsed.corners.length);
  let start = 0;
  for (let p = 0; p < parsed.sizes.length; p++) {
    const size = parsed.sizes.data[p]!;
    for (let i = start; i < start + size; i++) {
      const index = corners[i]!;
      if (index >= vertexCount) {
        throw new RangeError(`OBJ face ${p + 1} uses vertex ${index + 1}, but the file has only ${vertexCount} vertices.`);
      }
    }
    // Triangles (nearly every polygon in practice) go straight through, without a view to allocate.
    if (size === 3) out.push3(corners[start]!, corners[start + 1]!, corners[start + 2]!);
    else triangulatePolygon(positions, corners.subarray(start, start + size), out);
    start += size;
  }
  return out.toArray();
}

/**
 * Colours as written (the common convention is 0..1). Files that write 0..255 are recognised by a
 * value above 1 and scaled; vertices without a colour in a partly coloured file (marked -1 while
 * parsing) become white.
 */
function vertexColours(parsed: Parsed, vertexCount: number, notes: string[]): Float32Array | undefined {
  if (parsed.coloured === 0) return undefined;
  parsed.colors.fill3(-1, -1, -1, vertexCount - parsed.colors.length / 3);
  const colors = parsed.colors.toArray();
  let max = 0;
  for (const c of colors) if (c > max) max = c;
  const scale = max > 1 ? 1 / 255 : 1;
  if (scale !== 1) notes.push('Vertex colours above 1 were read as 0-255 values.');
  for (let v = 0; v < colors.length; v += 3) {
    if (colors[v] === -1 && colors[v + 1] === -1 && colors[v + 2] === -1) {
      colors.fill(1, v, v + 3); // a vertex written without colour
      continue;
    }
    for (let k = v; k < v + 3; k++) {
      const c = colors[k]! * scale;
      colors[k] = c > 0 ? (c < 1 ? c : 1) : 0;
    }
  }
  if (parsed.coloured < vertexCount) notes.push(`${vertexCount - parsed.coloured} vertices without a colour were made white.`);
  return colors;
}

function describe(parsed: Parsed, notes: string[]): void {
  if (parsed.objects > 1 || parsed.groups > 1) {
    notes.push(`Merged ${parsed.objects} object(s) and ${parsed.groups} group(s) into one mesh.`);
  }
  const ignored: string[] = [];
  const named: Record<string, string> = {
    vt: 'texture coordinates',
    vn: 'normals (recomputed downstream)',
    l: 'lines',
    p: 'points',
    usemtl: 'materials',
    mtllib: 'material libraries',
    'f<3': 'faces with fewer than 3 corners',
  };
  for (const [keyword, count] of parsed.skipped) {
    ignored.push(`${named[keyword] ?? `"${keyword}" statements`} (${count})`);
  }
  if (ignored.length > 0) notes.push(`Ignored: ${ignored.join(', ')}.`);
}
