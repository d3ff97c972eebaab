/**
 * Byte-level text assembly for the STEP writer. A 500 k-triangle file has some six million entities
 * and twenty million numbers; formatting each through a JavaScript string (toFixed, template
 * literals, join) costs more than everything else the writer does, and an array of millions of short
 * strings costs gigabytes. Everything written is ASCII, so it goes straight into one growing byte
 * buffer instead.
 */

/** 10^0 … 10^15: every scale a fixed-point number is written with. */
const POW10: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Largest magnitude of a scaled integer we format: beyond 2^53 the digits would not be exact. */
const MAX_SCALED = 2 ** 53;

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
    this.used = writeDigits(this.buffer, this.used, n);
  }

  /** `#id`, an entity reference. */
  ref(id: number): void {
    this.reserve(18);
    this.buffer[this.used] = 35; // '#'
    this.used = id < 2147483648 ? writeDigits32(this.buffer, this.used + 1, id) : writeDigits(this.buffer, this.used + 1, id);
  }

  /**
   * The STEP real `scaled / 10^decimals`: fixed point, trailing zeros dropped, always with the '.'
   * that tells a real from an integer, never in exponent form. `scaled` must be an integer; writing
   * the integer rather than a float makes the text exactly the value the caller reasoned about.
   */
  fixed(scaled: number, decimals: number): void {
    if (!Number.isInteger(scaled) || Math.abs(scaled) >= MAX_SCALED) {
      throw new RangeError(`Cannot write ${scaled}e-${decimals} exactly as a STEP real.`);
    }
    this.reserve(36);
    const b = this.buffer;
    let at = this.used;
    let magnitude = scaled;
    if (scaled < 0) {
      b[at++] = 45; // '-'
      magnitude = -scaled;
    }
    if (magnitude < 2147483648 && decimals <= 9) {
      this.used = writeFixed32(b, at, magnitude | 0, decimals);
      return;
    }
    const unit = POW10[decimals]!;
    let whole = Math.floor(magnitude / unit);
    let fraction = magnitude - whole * unit;
    // The division can round across an integer near 2^53; the exact remainder puts it right.
    if (fraction < 0) {
      whole -= 1;
      fraction += unit;
    } else if (fraction >= unit) {
      whole += 1;
      fraction -= unit;
    }
    at = writeDigits(b, at, whole);
    b[at++] = 46; // '.'
    if (fraction !== 0) {
      let digits = decimals;
      while (fraction % 10 === 0) {
        fraction /= 10;
        digits--;
      }
      // Zero-padded on the left to its place after the point.
      for (let i = at + digits - 1; i >= at; i--) {
        const digit = fraction % 10;
        b[i] = 48 + digit;
        fraction = (fraction - digit) / 10;
      }
      at += digits;
    }
    this.used = at;
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

/** Writes the decimal digits of a non-negative integer at `at`; returns the position after them. */
function writeDigits(b: Uint8Array, at: number, n: number): number {
  if (n < 2147483648) return writeDigits32(b, at, n | 0);
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let i = at + digits;
  let v = n;
  while (v > 0) {
    const digit = v % 10;
    b[--i] = 48 + digit;
    v = (v - digit) / 10;
  }
  return at + digits;
}

/** writeDigits for int32 values, in int32 arithmetic: the common case (ids, coordinates), several times faster. */
function writeDigits32(b: Uint8Array, at: number, v: number): number {
  const end = at + digitCount(v);
  let i = end;
  do {
    const q = (v / 10) | 0;
    b[--i] = 48 + v - q * 10;
    v = q;
  } while (v > 0);
  return end;
}

function digitCount(v: number): number {
  if (v < 100000) return v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  return v < 10000000 ? (v < 1000000 ? 6 : 7) : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** `v / 10^decimals` as a STEP real (int32 v, decimals <= 9): whole part, '.', fraction without trailing zeros. */
function writeFixed32(b: Uint8Array, at: number, v: number, decimals: number): number {
  const unit = POW10[decimals]!;
  const whole = (v / unit) | 0;
  let fraction = v - whole * unit;
  at = writeDigits32(b, at, whole);
  b[at++] = 46; // '.'
  if (fraction === 0) return at;
  let digits = decimals;
  for (let q = (fraction / 10) | 0; fraction === q * 10; q = (fraction / 10) | 0) {
    fraction = q;
    digits--;
  }
  // Zero-padded on the left to its place after the point.
  for (let i = at + digits - 1; i >= at; i--) {
    const q = (fraction / 10) | 0;
    b[i] = 48 + fraction - q * 10;
    fraction = q;
  }
  return at + digits;
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
