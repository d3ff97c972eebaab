import type { Mesh } from '../mesh/mesh.js';
import { checkFinitePositions, finishMesh, IndexList } from './build.js';
import { triangulatePolygon } from './polygon.js';
import { latin1, TextCursor } from './text.js';

/**
 * PLY reader: ascii, binary_little_endian and binary_big_endian. From the `vertex` element it takes
 * x, y, z (any numeric type) and red, green, blue when all three are there (integers scaled from
 * their type's range, floats taken as 0..1); from the `face` element the `vertex_indices` (or
 * `vertex_index`) list, of any count and index type, n-gons triangulated. Everything else is
 * stepped over, which in binary files means computing each skipped property's size, lists included.
 */

export interface PlyRead {
  readonly mesh: Mesh;
  readonly notes: string[];
}

type ScalarType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

const TYPE_NAMES: Record<string, ScalarType> = {
  char: 'int8', int8: 'int8',
  uchar: 'uint8', uint8: 'uint8',
  short: 'int16', int16: 'int16',
  ushort: 'uint16', uint16: 'uint16',
  int: 'int32', int32: 'int32',
  uint: 'uint32', uint32: 'uint32',
  float: 'float32', float32: 'float32',
  double: 'float64', float64: 'float64',
};

const TYPE_SIZES: Record<ScalarType, number> = {
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8,
};

interface PropertyDef {
  readonly name: string;
  readonly type: ScalarType;
  /** Present for `property list <countType> <type> name`. */
  readonly countType?: ScalarType;
}

interface ElementDef {
  readonly name: string;
  readonly count: number;
  readonly properties: PropertyDef[];
}

type Format = 'ascii' | 'binary_little_endian' | 'binary_big_endian';

interface Header {
  readonly format: Format;
  readonly elements: ElementDef[];
  /** Byte offset of the first data byte. */
  readonly dataStart: number;
}

export function readPly(bytes: Uint8Array): PlyRead {
  const header = parseHeader(bytes);
  const notes: string[] = [];
  const source: ValueSource =
    header.format === 'ascii'
      ? new AsciiSource(bytes, header.dataStart)
      : new BinarySource(bytes, header.dataStart, header.format === 'binary_little_endian');
  const data = readBody(header.elements, source, notes);
  checkFinitePositions(data.positions, 'PLY');
  const indices = triangulate(data);
  const raw: Mesh = data.colors ? { positions: data.positions, indices, colors: data.colors } : { positions: data.positions, indices };
  return { mesh: finishMesh(raw, notes), notes };
}

// ---------------------------------------------------------------------------------------------
// Header

function parseHeader(bytes: Uint8Array): Header {
  const end = findHeaderEnd(bytes);
  const lines = latin1(bytes, 0, end.textEnd).split(/\r\n|\r|\n/);
  if (lines[0]?.trim() !== 'ply') throw new RangeError('Not a PLY file: it does not start with "ply".');
  let format: Format | undefined;
  const elements: ElementDef[] = [];
  for (let i = 1; i < lines.length; i++) {
    const words = lines[i]!.trim().split(/\s+/);
    const keyword = words[0];
    if (keyword === 'format') {
      if (words[1] !== 'ascii' && words[1] !== 'binary_little_endian' && words[1] !== 'binary_big_endian') {
        throw new RangeError(`PLY format "${words[1] ?? ''}" is not ascii, binary_little_endian or binary_big_endian.`);
      }
      if (words[2] !== '1.0') throw new RangeError(`PLY version "${words[2] ?? ''}" is not supported (only 1.0).`);
      format = words[1];
    } else if (keyword === 'element') {
      const count = Number(words[2]);
      if (words.length < 3 || !Number.isSafeInteger(count) || count < 0) {
        throw new RangeError(`PLY header line ${i + 1}: bad element declaration "${lines[i]!.trim()}".`);
      }
      elements.push({ name: words[1]!, count, properties: [] });
    } else if (keyword === 'property') {
      const element = elements.at(-1);
      if (!element) throw new RangeError(`PLY header line ${i + 1}: a property before any element.`);
      element.properties.push(propertyOf(words, i + 1));
    } else if (keyword !== 'comment' && keyword !== 'obj_info' && keyword !== '' && keyword !== 'end_header') {
      throw new RangeError(`PLY header line ${i + 1}: unknown keyword "${keyword}".`);
    }
  }
  if (!format) throw new RangeError('The PLY header has no format line.');
  return { format, elements, dataStart: end.dataStart };
}

/** Where "end_header" and its line break end. */
function findHeaderEnd(bytes: Uint8Array): { textEnd: number; dataStart: number } {
  const marker = 'end_header';
  const limit = Math.min(bytes.length, 1 << 20); // headers are small; do not scan a whole binary file
  for (let i = 0; i + marker.length <= limit; i++) {
    if (bytes[i] !== 0x65 || (i > 0 && bytes[i - 1] !== 0x0a && bytes[i - 1] !== 0x0d)) continue;
    let match = true;
    for (let k = 1; k < marker.length && match; k++) match = bytes[i + k] === marker.charCodeAt(k);
    if (!match) continue;
    let at = i + marker.length;
    while (at < bytes.length && (bytes[at] === 0x20 || bytes[at] === 0x09)) at++;
    if (bytes[at] === 0x0d) at++;
    if (bytes[at] === 0x0a) at++;
    return { textEnd: i + marker.length, dataStart: at };
  }
  throw new RangeError('The PLY header has no "end_header" line (truncated or not a PLY file).');
}

function propertyOf(words: string[], line: number): PropertyDef {
  const typeOf = (name: string | undefined): ScalarType => {
    const type = name === undefined ? undefined : TYPE_NAMES[name];
    if (!type) throw new RangeError(`PLY header line ${line}: unknown property type "${name ?? ''}".`);
    return type;
  };
  if (words[1] === 'list') {
    if (words.length < 5) throw new RangeError(`PLY header line ${line}: incomplete list property.`);
    return { name: words[4]!, countType: typeOf(words[2]), type: typeOf(words[3]) };
  }
  if (words.length < 3) throw new RangeError(`PLY header line ${line}: incomplete property.`);
  return { name: words[2]!, type: typeOf(words[1]) };
}

// ---------------------------------------------------------------------------------------------
// Values

interface ValueSource {
  /** The next value of the given type; throws a RangeError naming `where` when the data runs out. */
  read(type: ScalarType, where: () => string): number;
  /** Steps over `n` values of the given type. */
  skip(type: ScalarType, n: number, where: () => string): void;
}

class BinarySource implements ValueSource {
  private readonly dv: DataView;
  private offset: number;

  constructor(bytes: Uint8Array, start: number, private readonly little: boolean) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
  }

  read(type: ScalarType, where: () => string): number {
    const o = this.offset;
    const size = TYPE_SIZES[type];
    if (o + size > this.dv.byteLength) throw new RangeError(`The PLY file is truncated: it ends in ${where()}.`);
    this.offset = o + size;
    switch (type) {
      case 'int8': return this.dv.getInt8(o);
      case 'uint8': return this.dv.getUint8(o);
      case 'int16': return this.dv.getInt16(o, this.little);
      case 'uint16': return this.dv.getUint16(o, this.little);
      case 'int32': return this.dv.getInt32(o, this.little);
      case 'uint32': return this.dv.getUint32(o, this.little);
      case 'float32': return this.dv.getFloat32(o, this.little);
      case 'float64': return this.dv.getFloat64(o, this.little);
    }
  }

  skip(type: ScalarType, n: number, where: () => string): void {
    const next = this.offset + n * TYPE_SIZES[type];
    if (next > this.dv.byteLength) throw new RangeError(`The PLY file is truncated: it ends in ${where()}.`);
    this.offset = next;
  }

  /** Bytes left after the current position. */
  remaining(): number {
    return this.dv.byteLength - this.offset;
  }
}

class AsciiSource implements ValueSource {
  private readonly text: TextCursor;

  constructor(bytes: Uint8Array, start: number) {
    this.text = new TextCursor(bytes, start);
  }

  read(_type: ScalarType, where: () => string): number {
    this.text.skipWhitespace();
    if (this.text.atEnd()) throw new RangeError(`The PLY file is truncated: it ends in ${where()}.`);
    const value = this.text.number();
    if (Number.isNaN(value)) throw new RangeError(`The PLY file has a value that is not a number in ${where()}.`);
    return value;
  }

  skip(type: ScalarType, n: number, where: () => string): void {
    for (let i = 0; i < n; i++) this.read(type, where);
  }
}

// ---------------------------------------------------------------------------------------------
// Body

interface Body {
  positions: Float32Array;
  colors?: Float32Array;
  /** Face corners polygon after polygon, and each polygon's corner count. */
  corners: IndexList;
  sizes: IndexList;
}

/** What a vertex property is used for: 0–2 position, 3–5 colour, -1 nothing. */
const VERTEX_ROLES: Record<string, number> = {
  x: 0, y: 1, z: 2,
  red: 3, green: 4, blue: 5,
  diffuse_red: 3, diffuse_green: 4, diffuse_blue: 5,
};

function readBody(elements: ElementDef[], source: ValueSource, notes: string[]): Body {
  const vertexElement = elements.find((e) => e.name === 'vertex');
  if (!vertexElement) throw new RangeError('The PLY file has no "vertex" element.');
  for (const axis of ['x', 'y', 'z']) {
    if (!vertexElement.properties.some((p) => p.name === axis && !p.countType)) {
      throw new RangeError(`The PLY vertex element has no "${axis}" property.`);
    }
  }
  const body: Body = { positions: new Float32Array(0), corners: new IndexList(), sizes: new IndexList() };
  const ignored: string[] = [];
  for (const element of elements) {
    if (element === vertexElement) readVertices(element, source, body, ignored);
    else if (element.name === 'face' && faceListIndex(element) >= 0) readFaces(element, source, body, ignored);
    else {
      skipElement(element, source);
      if (element.count > 0) ignored.push(`element ${element.name} (${element.count})`);
    }
  }
  if (ignored.length > 0) notes.push(`Ignored PLY data: ${ignored.join(', ')}.`);
  return body;
}

function readVertices(element: ElementDef, source: ValueSource, body: Body, ignored: string[]): void {
  const roles = element.properties.map((p) => (p.countType ? -1 : (VERTEX_ROLES[p.name] ?? -1)));
  const hasColour = [3, 4, 5].every((r) => roles.includes(r));
  element.properties.forEach((p, i) => {
    const role = roles[i]!;
    if (role < 0 || (role >= 3 && !hasColour)) ignored.push(`vertex.${p.name}`);
  });
  const scales = element.properties.map((p) => colourScale(p.type));
  const count = element.count;
  const positions = new Float32Array(count * 3);
  const colors = hasColour ? new Float32Array(count * 3) : undefined;
  let v = 0;
  const where = (): string => `vertex ${v + 1} of ${count}`; // 1-based for people
  for (; v < count; v++) {
    for (let k = 0; k < element.properties.length; k++) {
      const property = element.properties[k]!;
      if (property.countType) {
        source.skip(property.type, source.read(property.countType, where), where);
        continue;
      }
      const value = source.read(property.type, where);
      const role = roles[k]!;
      if (role < 0) continue;
      if (role < 3) positions[v * 3 + role] = value;
      else if (colors) colors[v * 3 + role - 3] = clamp01(value * scales[k]!);
    }
  }
  body.positions = positions;
  if (colors) body.colors = colors;
}

/** Integer colours span their type's range; float colours are already 0..1. */
function colourScale(type: ScalarType): number {
  switch (type) {
    case 'uint8': return 1 / 255;
    case 'int8': return 1 / 127;
    case 'uint16': return 1 / 65535;
    case 'int16': return 1 / 32767;
    case 'uint32': return 1 / 4294967295;
    case 'int32': return 1 / 2147483647;
    default: return 1;
  }
}

function clamp01(c: number): number {
  return c > 0 ? (c < 1 ? c : 1) : 0;
}

function faceListIndex(element: ElementDef): number {
  return element.properties.findIndex((p) => p.countType !== undefined && (p.name === 'vertex_indices' || p.name === 'vertex_index'));
}

function readFaces(element: ElementDef, source: ValueSource, body: Body, ignored: string[]): void {
  const list = faceListIndex(element);
  element.properties.forEach((p, i) => {
    if (i !== list) ignored.push(`face.${p.name}`);
  });
  let f = 0;
  let small = 0;
  const where = (): string => `face ${f + 1} of ${element.count}`;
  for (; f < element.count; f++) {
    for (let k = 0; k < element.properties.length; k++) {
      const property = element.properties[k]!;
      if (!property.countType) {
        source.read(property.type, where);
        continue;
      }
      const n = source.read(property.countType, where);
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`The PLY file has a bad list length ${n} in ${where()}.`);
      if (k !== list) {
        source.skip(property.type, n, where);
        continue;
      }
      for (let c = 0; c < n; c++) {
        const index = source.read(property.type, where);
        if (!Number.isInteger(index) || index < 0) throw new RangeError(`The PLY file has a bad vertex index ${index} in ${where()}.`);
        if (n >= 3) body.corners.push(index);
      }
      if (n >= 3) body.sizes.push(n);
      else small++;
    }
  }
  if (small > 0) ignored.push(`${small} face(s) with fewer than 3 corners`);
}

function skipElement(element: ElementDef, source: ValueSource): void {
  let i = 0;
  const where = (): string => `element "${element.name}" (${i + 1} of ${element.count})`;
  const fixed = element.properties.every((p) => !p.countType);
  if (fixed && source instanceof BinarySource) {
    // Fixed-size records: one bounds check for the whole element, naming the record cut short.
    const record = element.properties.reduce((sum, p) => sum + TYPE_SIZES[p.type], 0);
    if (record * element.count > source.remaining()) {
      i = Math.floor(source.remaining() / record);
      throw new RangeError(`The PLY file is truncated: it ends in ${where()}.`);
    }
    source.skip('uint8', record * element.count, where);
    return;
  }
  for (; i < element.count; i++) {
    for (const p of element.properties) {
      if (p.countType) source.skip(p.type, source.read(p.countType, where), where);
      else source.read(p.type, where);
    }
  }
}

function triangulate(body: Body): Uint32Array {
  const vertexCount = body.positions.length / 3;
  const out = new IndexList(body.corners.length);
  const corners = body.corners.data;
  let start = 0;
  for (let p = 0; p < body.sizes.length; p++) {
    const size = body.sizes.data[p]!;
    for (let i = start; i < start + size; i++) {
      const index = corners[i]!;
      if (index >= vertexCount) {
        throw new RangeError(`PLY face ${p + 1} uses vertex ${index}, but the file has only ${vertexCount} vertices.`);
      }
    }
    // Triangles (nearly every polygon in practice) go straight through, without a view to allocate.
    if (size === 3) out.push3(corners[start]!, corners[start + 1]!, corners[start + 2]!);
    else triangulatePolygon(body.positions, corners.subarray(start, start + size), out);
    start += size;
  }
  return out.toArray();
}
