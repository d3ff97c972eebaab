/**
 * Byte-level text assembly for the STEP writer. A 500 k-triangle file has some six million entities
 * and twenty million numbers; formatting each through a JavaScript string (toFixed, template
 * literals, join) costs more than everything else the writer does, and an array of millions of short
 * strings costs gigabytes. Everything written is ASCII, so it goes straight into one growing byte
 * buffer instead.
 */
import { SCALED_DECIMAL_MAX_CHARS, writeScaledDecimal, writeUint } from '../numberText.js';

export class AsciiWriter {
  private buffer: Uint8Array;
  private used = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(Math.max(4096, Math.ceil(capacity)));
  }

  get length(): number {
    return this.used;
  }

  /** An ASCII string, character by character (callers never pass anything else). */
  text(s: string): void {
    const n = s.length;
    this.reserve(n);
    const b = this.buffer;
    let at = this.used;
    for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i);
    this.used = at;
  }

  /** Pre-encoded ASCII (see ascii()), for the fixed pieces of text written millions of times. */
  raw(piece: Uint8Array): void {
    const n = piece.length;
    this.reserve(n);
    this.buffer.set(piece, this.used);
    this.used += n;
  }

  /** One ASCII character by code. */
  char(code: number): void {
    this.reserve(1);
    this.buffer[this.used++] = code;
  }

  /** A non-negative integer in decimal. */
  uint(n: number): void {
    this.reserve(17);
    this.used = writeUint(this.buffer, this.used, n);
  }

  /** `#id`, an entity reference. */
  ref(id: number): void {
    this.reserve(18);
    this.buffer[this.used] = 35; // '#'
    this.used = writeUint(this.buffer, this.used + 1, id);
  }

  /**
   * The STEP real `scaled / 10^decimals`: fixed point, with the '.' that tells a real from an integer
   * even when nothing follows it. `scaled` must be an integer; writing the integer rather than a float
   * makes the text exactly the value the caller reasoned about.
   */
  fixed(scaled: number, decimals: number): void {
    this.reserve(SCALED_DECIMAL_MAX_CHARS);
    this.used = writeScaledDecimal(this.buffer, this.used, scaled, decimals, 'always');
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.used);
  }

  private reserve(extra: number): void {
    if (this.used + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.used + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
  }
}

/** An ASCII string as bytes, for the fixed pieces of text written millions of times. */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * A quoted STEP string. Apostrophes and backslashes are doubled; anything outside printable ASCII
 * goes through the \X2\ (UTF-16) and \X4\ (UTF-32) escapes of ISO 10303-21, so the file stays ASCII.
 */
export function stepString(value: string): string {
  let out = "'";
  let wide = '';
  let wider = '';
  const flush = (): void => {
    if (wide) out += `\\X2\\${wide}\\X0\\`;
    if (wider) out += `\\X4\\${wider}\\X0\\`;
    wide = '';
    wider = '';
  };
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += ch === "'" ? "''" : ch === '\\' ? '\\\\' : ch;
    } else if (code <= 0xffff) {
      if (wider) flush();
      wide += code.toString(16).toUpperCase().padStart(4, '0');
    } else {
      if (wide) flush();
      wider += code.toString(16).toUpperCase().padStart(8, '0');
    }
  }
  flush();
  return `${out}'`;
}

/** ISO 8601 in UTC, to the second, as FILE_NAME expects. */
export function stepTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}+00:00`;
}
