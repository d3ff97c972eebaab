/**
 * Output assembly shared by the DXF writers: number formatting, group-code pairs, and a writer that
 * puts ASCII straight into byte chunks.
 */

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
        if (at + MAX_FIXED_LENGTH > bytes.length) {
          const grown = new Uint8Array(bytes.length * 2);
          grown.set(bytes.subarray(0, at));
          bytes = grown;
        }
        // writeFixed, unrolled so that no double crosses a call (V8 would box each one).
        const x = positions[i]!;
        const magnitude = Math.abs(x);
        let end: number;
        if (magnitude < FAST_LIMIT) {
          const micro = Math.round(magnitude * 1e6);
          const whole = Math.floor(micro / 1e6);
          end = writeFixedParts(bytes, at, x < 0 && micro !== 0, whole, micro - whole * 1e6);
        } else {
          end = writeFixed(bytes, at, x);
        }
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
  const bytes = new Uint8Array(count * digitCount(first + count) + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    at = writeDigits(bytes, at, first + i);
    offsets[i + 1] = at;
  }
  return { bytes, offsets };
}

/** Text length of vertex v's three coordinates. */
export function vertexTextLength(coordinates: FormattedCoordinates, v: number): number {
  return coordinates.offsets[v * 3 + 3]! - coordinates.offsets[v * 3]!;
}

/** Decimal digits of a non-negative integer. */
export function digitCount(n: number): number {
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  return digits;
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

/** Below this magnitude x·10⁶ is an exact integer in a double, so fixed point needs no toFixed. */
const FAST_LIMIT = 1e9;

/** Longest text writeFixed produces: sign, 15 integer digits, point, 6 decimals. */
const MAX_FIXED_LENGTH = 23;

const scratch = new Uint8Array(MAX_FIXED_LENGTH);

/**
 * Fixed-point with up to 6 decimals, trailing zeros dropped: 1 nm at millimetre units, well past what
 * float32 input carries, and never in exponent form, which some R12 readers misparse.
 */
export function formatNumber(x: number): string {
  const end = writeFixed(scratch, 0, x);
  return String.fromCharCode(...scratch.subarray(0, end));
}

/**
 * formatNumber's text written as ASCII into `out` at `at`; returns the end. Below 10⁹ it rounds x·10⁶
 * half away from zero and writes the digits itself (no string is made); above, toFixed rounds the
 * exact binary value. The two differ only on ties below 10⁻⁶.
 */
function writeFixed(out: Uint8Array, at: number, x: number): number {
  checkCoordinate(x);
  const magnitude = Math.abs(x);
  if (magnitude >= FAST_LIMIT) return writeLargeFixed(out, at, x);
  const micro = Math.round(magnitude * 1e6);
  const whole = Math.floor(micro / 1e6);
  return writeFixedParts(out, at, x < 0 && micro !== 0, whole, micro - whole * 1e6);
}

function checkCoordinate(x: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`Cannot write a non-finite coordinate (${x}) to DXF.`);
  if (Math.abs(x) >= 1e15) throw new RangeError(`Coordinate ${x} is too large for DXF.`);
}

function writeLargeFixed(out: Uint8Array, at: number, x: number): number {
  const s = x.toFixed(6);
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (s.charCodeAt(end - 1) === 46 /* . */) end--;
  for (let i = 0; i < end; i++) out[at++] = s.charCodeAt(i);
  return at;
}

/**
 * A fixed-point number from its parts: whole < 10⁹ and millionths < 10⁶, both integers. Taking the
 * parts rather than the double keeps hot callers from boxing a number per call.
 */
function writeFixedParts(out: Uint8Array, at: number, negative: boolean, whole: number, millionths: number): number {
  let fraction = millionths | 0;
  if (negative) out[at++] = 45; // '-'
  at = writeDigits(out, at, whole);
  if (fraction === 0) return at;
  out[at++] = 46; // '.'
  let digits = 6;
  let shorter = (fraction / 10) | 0;
  while (shorter * 10 === fraction) {
    fraction = shorter;
    shorter = (fraction / 10) | 0;
    digits--;
  }
  // The kept decimals, right to left, zero-padded on the left.
  for (let i = at + digits - 1; i >= at; i--) {
    const next = (fraction / 10) | 0;
    out[i] = 48 + fraction - next * 10;
    fraction = next;
  }
  return at + digits;
}

/**
 * A non-negative integer below 2³¹ in decimal (indices and the whole part of coordinates below 10⁹);
 * returns the end. 32-bit arithmetic keeps the digit loop cheap.
 */
function writeDigits(out: Uint8Array, at: number, n: number): number {
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
  let m = n | 0;
  for (let i = at + digits - 1; i > at; i--) {
    const next = (m / 10) | 0;
    out[i] = 48 + m - next * 10;
    m = next;
  }
  out[at] = 48 + m;
  return at + digits;
}

/** Upper-case hexadecimal, as DXF writes handles. */
export function hexHandle(n: number): string {
  return n.toString(16).toUpperCase();
}
