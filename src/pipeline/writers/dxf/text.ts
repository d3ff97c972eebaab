/**
 * Output assembly shared by the DXF writers: number formatting, group-code pairs, and a writer that
 * puts ASCII straight into byte chunks.
 */
import { decimalDigitCount, decimalText, decimalTextBound, writeDecimal, writeUint } from '../numberText.js';

/** CRLF, as AutoCAD writes it; every reader accepts it. */
export const EOL = '\r\n';

/** Bytes per chunk: large enough that sealing is rare, small enough to waste little at the end. */
const CHUNK_BYTES = 1 << 22;

/**
 * Appends ASCII text to a list of byte chunks. Writing bytes rather than concatenating strings keeps
 * the hot loops free of string allocation and lifts V8's limit of about 512 M characters per string,
 * which a few million 3DFACEs pass. Callers reserve room for a record with `reserve` first, so the
 * per-piece writes never check for space.
 */
export class DxfWriter {
  private chunk: Uint8Array;
  private at = 0;
  private readonly sealed: Uint8Array[] = [];
  private sealedBytes = 0;

  /**
   * `expectedBytes`: the writer's estimate of the file size. The first chunk gets that much, so a
   * good estimate leaves one chunk and the bytes need no copy at the end; a low one only costs more
   * chunks.
   */
  constructor(expectedBytes = CHUNK_BYTES) {
    this.chunk = Buffer.allocUnsafeSlow(Math.max(1024, Math.ceil(expectedBytes)));
  }

  /** Makes sure the next `bytes` bytes fit in the current chunk. */
  reserve(bytes: number): void {
    if (this.at + bytes <= this.chunk.length) return;
    this.seal();
    this.chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes));
  }

  /** ASCII text of any length (checks for room itself). */
  text(s: string): void {
    this.reserve(s.length);
    this.put(s);
  }

  /** ASCII text within room already reserved. */
  put(s: string): void {
    const c = this.chunk;
    let p = this.at;
    for (let i = 0; i < s.length; i++) c[p++] = s.charCodeAt(i);
    this.at = p;
  }

  /**
   * One vertex, within room already reserved: `x` + its x text + `y` + y text + `z` + z text + CRLF,
   * where x, y and z are the group-code lines (y and z with the line break before them).
   */
  putVertex(coordinates: FormattedCoordinates, v: number, x: string, y: string, z: string): void {
    const { bytes, offsets } = coordinates;
    const i = v * 3;
    this.put(x);
    this.putBytes(bytes, offsets[i]!, offsets[i + 1]!);
    this.put(y);
    this.putBytes(bytes, offsets[i + 1]!, offsets[i + 2]!);
    this.put(z);
    this.putBytes(bytes, offsets[i + 2]!, offsets[i + 3]!);
    this.put(EOL);
  }

  /** Entry i of an index table, within room already reserved. */
  putIndex(table: IndexText, i: number): void {
    this.putBytes(table.bytes, table.offsets[i]!, table.offsets[i + 1]!);
  }

  /** Bytes from..to of `source`, within room already reserved. */
  putBytes(source: Uint8Array, from: number, to: number): void {
    const c = this.chunk;
    let p = this.at;
    for (let i = from; i < to; i++) c[p++] = source[i]!;
    this.at = p;
  }

  /** The bytes written, in order; the writer must not be used afterwards. */
  finish(): { chunks: Uint8Array[]; length: number } {
    this.seal();
    return { chunks: this.sealed, length: this.sealedBytes };
  }

  private seal(): void {
    if (this.at === 0) return;
    this.sealed.push(this.chunk.subarray(0, this.at));
    this.sealedBytes += this.at;
    this.at = 0;
  }
}

/**
 * The coordinates of every vertex a triangle uses, formatted once as ASCII however many triangles
 * share the vertex: coordinate k of vertex v is bytes[offsets[3v + k] .. offsets[3v + k + 1]).
 * Unused vertices have empty text.
 */
export interface FormattedCoordinates {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  /** Length of the longest coordinate, to reserve room for records. */
  readonly longest: number;
}

export function formatCoordinates(positions: Float32Array, used: Uint8Array): FormattedCoordinates {
  const offsets = new Uint32Array(positions.length + 1);
  // Most coordinates of a millimetre model take 8–11 characters; the buffer grows when they don't.
  let bytes = new Uint8Array(Math.max(64, positions.length * 11));
  let at = 0;
  let longest = 0;
  for (let v = 0; v < used.length; v++) {
    for (let k = 0; k < 3; k++) {
      const i = v * 3 + k;
      if (used[v]) {
        if (at + MAX_COORDINATE_CHARS > bytes.length) {
          const grown = new Uint8Array(bytes.length * 2);
          grown.set(bytes.subarray(0, at));
          bytes = grown;
        }
        const x = positions[i]!;
        if (!writableCoordinate(x)) throw coordinateError(x);
        const end = writeDecimal(bytes, at, x, DECIMALS, 'when-fractional');
        if (end - at > longest) longest = end - at;
        at = end;
      }
      offsets[i + 1] = at;
    }
  }
  return { bytes, offsets, longest };
}

/** Decimal text of the integers first .. first + count - 1, entry i at bytes[offsets[i] .. offsets[i + 1]). */
export interface IndexText {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
}

/** Face records name each vertex many times: its index is formatted once, like its coordinates. */
export function formatIndices(first: number, count: number): IndexText {
  const offsets = new Uint32Array(count + 1);
  const bytes = new Uint8Array(count * decimalDigitCount(first + count) + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    at = writeUint(bytes, at, first + i);
    offsets[i + 1] = at;
  }
  return { bytes, offsets };
}

/** Text length of vertex v's three coordinates. */
export function vertexTextLength(coordinates: FormattedCoordinates, v: number): number {
  return coordinates.offsets[v * 3 + 3]! - coordinates.offsets[v * 3]!;
}

/** One group code and value per pair of arguments, each on its own line. */
export function tags(...items: readonly (string | number)[]): string {
  let s = '';
  for (let i = 0; i < items.length; i += 2) s += `${items[i]}${EOL}${items[i + 1]}${EOL}`;
  return s;
}

/** A point as three group codes: base (x), base + 10 (y), base + 20 (z). */
export function pointTags(base: number, x: number, y: number, z: number): (string | number)[] {
  return [base, formatNumber(x), base + 10, formatNumber(y), base + 20, formatNumber(z)];
}

/**
 * Up to 6 decimals, trailing zeros dropped: 1 nm at millimetre units, well past what float32 input
 * carries. Exponent form, which some R12 readers misparse, never appears (numberText.ts).
 */
const DECIMALS = 6;

/** Beyond this the file would be of no use to a CAD program (and past 1e15, 6 decimals exceed a double's digits). */
const MAX_COORDINATE = 1e15;

const MAX_COORDINATE_CHARS = decimalTextBound(MAX_COORDINATE, DECIMALS);

/** A number of the drawing (coordinate, view size) as DXF text. */
export function formatNumber(x: number): string {
  if (!writableCoordinate(x)) throw coordinateError(x);
  return decimalText(x, DECIMALS);
}

/** One comparison, which NaN fails too: it runs for every coordinate of the file. */
function writableCoordinate(x: number): boolean {
  return Math.abs(x) < MAX_COORDINATE;
}

/** Kept out of writableCoordinate so the check stays small enough to inline. */
function coordinateError(x: number): RangeError {
  return new RangeError(Number.isFinite(x) ? `Coordinate ${x} is too large for DXF.` : `Cannot write a non-finite coordinate (${x}) to DXF.`);
}

/** Upper-case hexadecimal, as DXF writes handles. */
export function hexHandle(n: number): string {
  return n.toString(16).toUpperCase();
}
