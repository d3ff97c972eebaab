/**
 * A cursor over ASCII text held as bytes, for the text mesh formats (OBJ, ASCII STL, ASCII PLY).
 * Working on bytes avoids decoding a large file into a string and splitting it into millions of
 * small strings; numbers are parsed in place.
 */

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** Exact powers of ten: a double times or over one of these is correctly rounded. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Largest integer a double holds exactly. */
const EXACT = 2 ** 53;

export function isBlank(b: number): boolean {
  return b === SPACE || b === TAB || b === CR || b === VT || b === FF;
}

export function isWhitespace(b: number): boolean {
  return b === LF || isBlank(b);
}

export class TextCursor {
  pos = 0;

  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  peek(): number {
    return this.pos < this.end ? this.bytes[this.pos]! : -1;
  }

  /** Skips spaces and tabs (and a CR, so CRLF files read like LF files), not line feeds. */
  skipBlanks(): void {
    while (this.pos < this.end && isBlank(this.bytes[this.pos]!)) this.pos++;
  }

  /** Skips every kind of whitespace, line feeds included. */
  skipWhitespace(): void {
    while (this.pos < this.end && isWhitespace(this.bytes[this.pos]!)) this.pos++;
  }

  /** After skipBlanks: whether the line (or the file) ends here. */
  atLineEnd(): boolean {
    this.skipBlanks();
    return this.pos >= this.end || this.bytes[this.pos] === LF;
  }

  /** Moves past the next line feed (or to the end). */
  skipLine(): void {
    const next = this.bytes.indexOf(LF, this.pos);
    this.pos = next < 0 || next >= this.end ? this.end : next + 1;
  }

  /** The next whitespace-delimited token as a string (for keywords and names: short ones). */
  word(): string {
    this.skipBlanks();
    const start = this.pos;
    while (this.pos < this.end && !isWhitespace(this.bytes[this.pos]!)) this.pos++;
    return latin1(this.bytes, start, this.pos);
  }

  /** The rest of the line, trimmed, without moving past its line feed. */
  restOfLine(): string {
    this.skipBlanks();
    const start = this.pos;
    while (this.pos < this.end && this.bytes[this.pos] !== LF) this.pos++;
    return latin1(this.bytes, start, this.pos).trim();
  }

  /**
   * The next token as a number: a decimal with optional sign, fraction and exponent, parsed in place
   * when the digits fit a double exactly; anything else ("nan", "1e400", 20-digit mantissas) goes
   * through Number(). NaN when the token is not a number or there is no token on this line.
   * The token ends at whitespace or at `stop` (OBJ's "/").
   */
  number(stop = -1): number {
    this.skipBlanks();
    const bytes = this.bytes;
    const start = this.pos;
    let i = start;
    let negative = false;
    let b = i < this.end ? bytes[i]! : -1;
    if (b === MINUS || b === PLUS) {
      negative = b === MINUS;
      b = ++i < this.end ? bytes[i]! : -1;
    }
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    while (b >= ZERO && b <= NINE) {
      mantissa = mantissa * 10 + (b - ZERO);
      digits++;
      b = ++i < this.end ? bytes[i]! : -1;
    }
    if (b === DOT) {
      b = ++i < this.end ? bytes[i]! : -1;
      while (b >= ZERO && b <= NINE) {
        mantissa = mantissa * 10 + (b - ZERO);
        digits++;
        scale--;
        b = ++i < this.end ? bytes[i]! : -1;
      }
    }
    if (digits > 0 && (b === LOWER_E || b === UPPER_E)) {
      let j = i + 1;
      let c = j < this.end ? bytes[j]! : -1;
      let expNegative = false;
      if (c === MINUS || c === PLUS) {
        expNegative = c === MINUS;
        c = ++j < this.end ? bytes[j]! : -1;
      }
      let exponent = 0;
      let expDigits = 0;
      while (c >= ZERO && c <= NINE) {
        exponent = exponent * 10 + (c - ZERO);
        expDigits++;
        c = ++j < this.end ? bytes[j]! : -1;
      }
      if (expDigits > 0) {
        scale += expNegative ? -exponent : exponent;
        i = j;
        b = c;
      }
    }
    const clean = digits > 0 && (b === -1 || b === stop || isWhitespace(b));
    if (clean && mantissa <= EXACT && scale >= -22 && scale <= 22) {
      this.pos = i;
      const value = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
      return negative ? -value : value;
    }
    // Rare forms: too many digits, huge exponents, "inf"/"nan", or garbage.
    while (i < this.end && bytes[i] !== stop && !isWhitespace(bytes[i]!)) i++;
    this.pos = i;
    if (i === start) return NaN;
    const text = latin1(bytes, start, i);
    return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  }

  /** 1-based line number of a byte offset, for error messages (counts line feeds, so only on error). */
  lineOf(offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < this.end; i++) if (this.bytes[i] === LF) line++;
    return line;
  }
}

export function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 4096)));
  }
  return text;
}
