/**
 * Decimal text for the text formats (OBJ, DXF, STEP), written as ASCII straight into byte buffers.
 *
 * Every number is fixed point, never exponent form: some R12 DXF readers misparse "1e-07", and STEP
 * and OBJ readers differ on whether they take it at all. Trailing zeros of the fraction are dropped,
 * and no number is ever written as "-0". Number#toString and toFixed are avoided in the hot paths:
 * a large file holds tens of millions of numbers, and making a string for each costs more than
 * everything else its writer does.
 *
 * What legitimately differs between the formats is an argument: how many decimals, and whether a
 * whole number keeps its point (STEP needs "1." to tell a REAL from an INTEGER; OBJ and DXF write "1").
 */

/** Whether a whole number is written with its point: "1." (STEP's REALs) or "1". */
export type DecimalPoint = 'always' | 'when-fractional';

/** The most decimals a number is written with: at 16, even 1 would scale past 2^53, where integers stop being exact. */
export const MAX_DECIMALS = 15;

const POW10: readonly number[] = Array.from({ length: MAX_DECIMALS + 1 }, (_, i) => 10 ** i);

/** Integers below this are exact in a double, so their digits can be computed. */
const EXACT_LIMIT = 2 ** 53;
/** Below this, digits come from int32 arithmetic, several times cheaper than doubles. */
const INT32_LIMIT = 2 ** 31;
/**
 * The most bytes writeScaledDecimal lays out: a sign, then 16 digits (below 2^53) and the point, or
 * "0." and 15 decimals.
 */
export const SCALED_DECIMAL_MAX_CHARS = 18;

/** Splits a scaled integer below 2^53 into two int32 halves. */
const BILLION = 1e9;

const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

/** "00" to "99": two digits per division halves the divisions. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/**
 * Writes `x` rounded to `decimals` places, half away from zero, at `at`; returns the end. Throws on
 * NaN and infinities, which no text format can hold. `out` needs room for decimalTextBound(|x|,
 * decimals) bytes from `at`: digits are laid out at full width before the fraction's zeros are
 * trimmed, so bytes past the returned end may be overwritten.
 *
 * The rounding is of x·10^decimals as a double, which is exact wherever that product is below 2^53;
 * beyond it the value's own digits are written exactly (a double that large is a whole number, or has
 * fewer fractional bits than the decimals asked for).
 *
 * Kept small so V8 inlines it into the writers' loops: only int32 values then cross a call, where a
 * double would be boxed, one allocation per number. Everything unusual (NaN, infinities, an unknown
 * count of decimals, products past 2^53) fails both comparisons and takes the slow path.
 */
export function writeDecimal(out: Uint8Array, at: number, x: number, decimals: number, point: DecimalPoint): number {
  const scaled = Math.round((x < 0 ? -x : x) * POW10[decimals]!);
  if (scaled < INT32_LIMIT) {
    // A negative that rounds to zero (and -0 itself) is written "0".
    if (scaled !== 0 && x < 0) out[at++] = MINUS;
    return writeSmallScaled(out, at, scaled, decimals, point);
  }
  if (scaled < EXACT_LIMIT) {
    if (x < 0) out[at++] = MINUS;
    const high = Math.floor(scaled / BILLION);
    return writeLargeScaled(out, at, high, scaled - high * BILLION, decimals, point);
  }
  return writeUnusualDecimal(out, at, x, decimals, point);
}

/** writeDecimal for what it does not take: products past 2^53, and the values and decimals it rejects. */
function writeUnusualDecimal(out: Uint8Array, at: number, x: number, decimals: number, point: DecimalPoint): number {
  if (!Number.isFinite(x)) throw new RangeError(`Cannot write the non-finite number ${x} as decimal text.`);
  checkDecimals(decimals);
  return writeExactDecimal(out, at, x, decimals, point);
}

/**
 * Writes `scaled / 10^decimals` at `at`; returns the end. `scaled` must be an integer below 2^53 in
 * magnitude: callers that round once and reason about the integer (STEP's grid coordinates) get
 * exactly that value as text. `out` needs room for SCALED_DECIMAL_MAX_CHARS bytes from `at`.
 */
export function writeScaledDecimal(out: Uint8Array, at: number, scaled: number, decimals: number, point: DecimalPoint): number {
  if (!Number.isInteger(scaled) || !(Math.abs(scaled) < EXACT_LIMIT)) {
    throw new RangeError(`Cannot write ${scaled}e-${decimals} exactly as decimal text.`);
  }
  checkDecimals(decimals);
  let magnitude = scaled;
  if (scaled < 0) {
    out[at++] = MINUS;
    magnitude = -scaled;
  }
  if (magnitude < INT32_LIMIT) return writeSmallScaled(out, at, magnitude, decimals, point);
  const high = Math.floor(magnitude / BILLION);
  return writeLargeScaled(out, at, high, magnitude - high * BILLION, decimals, point);
}

/** writeDecimal as a string, for the few numbers written outside a byte buffer (file headers). */
export function decimalText(x: number, decimals: number, point: DecimalPoint = 'when-fractional'): string {
  const needed = decimalTextBound(Number.isFinite(x) ? x : 0, decimals); // writeDecimal rejects the rest
  if (scratch.length < needed) scratch = new Uint8Array(needed);
  const end = writeDecimal(scratch, 0, x, decimals, point);
  return String.fromCharCode(...scratch.subarray(0, end));
}

let scratch = new Uint8Array(64);

/**
 * The most characters writeDecimal writes for any number of magnitude up to `largest`: the sign,
 * the whole part (one digit more where rounding carries, 9.9999996 → "10"), the point and the decimals.
 * Writers size their buffers with it once instead of checking room per number.
 */
export function decimalTextBound(largest: number, decimals: number): number {
  if (!Number.isFinite(largest)) throw new RangeError(`No text bound for ${largest}.`);
  const wholeDigits = BigInt(Math.ceil(Math.abs(largest))).toString().length;
  return 1 + wholeDigits + 1 + decimals;
}

/** Writes a non-negative integer below 2^53 in decimal at `at`; returns the end. */
export function writeUint(out: Uint8Array, at: number, n: number): number {
  const end = at + decimalDigitCount(n);
  let i = end;
  // Beyond int32: peel digits in doubles until the rest fits.
  while (n >= INT32_LIMIT) {
    const q = Math.floor(n / 10);
    out[--i] = ZERO + (n - q * 10); // not (ZERO + n) - …, which rounds near 2^53
    n = q;
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

/** Decimal digits of a non-negative integer. */
export function decimalDigitCount(n: number): number {
  if (n < 100000) return n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : n < 10000 ? 4 : 5;
  if (n < 10000000000) return n < 10000000 ? (n < 1000000 ? 6 : 7) : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
  let count = 11;
  for (let limit = 1e11; n >= limit; limit *= 10) count++;
  return count;
}

function checkDecimals(decimals: number): void {
  if (POW10[decimals] === undefined) throw new RangeError(`Cannot write ${decimals} decimals; 0 to ${MAX_DECIMALS} are possible.`);
}

/**
 * `v` = |value|·10^decimals below 2^31, the usual case. Its digits are written right to left with the
 * point slotted in `decimals` places from the end (zeros before it as needed: "0.05"), every division
 * by the constant 10, which V8 turns into a multiplication; the fraction's trailing zeros are then
 * taken back. Splitting off the whole part by 10^decimals instead costs a true division per number,
 * which made formatting a DXF file's coordinates some 40 % slower.
 */
function writeSmallScaled(out: Uint8Array, at: number, v: number, decimals: number, point: DecimalPoint): number {
  const digits = decimalDigitCount(v);
  const end = at + (digits > decimals ? digits - decimals : 1) + 1 + decimals;
  let i = end;
  let n = v;
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
  return trimFraction(out, end, point);
}

/**
 * writeSmallScaled for 2^31 ≤ v < 2^53, taken as v = high·10^9 + low so that both halves are int32
 * (a double would be boxed to cross the call). The caller's division can round a quotient just below
 * a whole number up to it, leaving `high` one too large and `low` negative; that is put right first.
 */
function writeLargeScaled(out: Uint8Array, at: number, high: number, low: number, decimals: number, point: DecimalPoint): number {
  if (low < 0) {
    high -= 1;
    low += BILLION;
  }
  const digits = 9 + decimalDigitCount(high);
  const end = at + (digits > decimals ? digits - decimals : 1) + 1 + decimals;
  let i = end;
  let written = 0;
  // Nine digits of the low half (zero-padded), then the high half's, then zeros up to the point.
  let n = low;
  for (; written < 9; written++) {
    if (written === decimals) out[--i] = DOT;
    const q = (n / 10) | 0;
    out[--i] = ZERO + n - q * 10;
    n = q;
  }
  n = high;
  for (; i > at; written++) {
    if (written === decimals) out[--i] = DOT;
    const q = (n / 10) | 0;
    out[--i] = ZERO + n - q * 10;
    n = q;
  }
  return trimFraction(out, end, point);
}

/** Takes back the fraction's trailing zeros, and the point itself when nothing follows it and `point` allows. */
function trimFraction(out: Uint8Array, end: number, point: DecimalPoint): number {
  let last = end;
  while (out[last - 1] === ZERO) last--;
  if (out[last - 1] === DOT && point === 'when-fractional') last--;
  return last;
}

/**
 * |x|·10^decimals at or past 2^53. A whole x gets its exact digits (BigInt never switches to exponent
 * form, as Number#toString does from 1e21); a fractional one is below 2^52, where toFixed is exact and
 * still positional.
 */
function writeExactDecimal(out: Uint8Array, at: number, x: number, decimals: number, point: DecimalPoint): number {
  const magnitude = x < 0 ? -x : x;
  if (x < 0) out[at++] = MINUS;
  let text = Number.isInteger(magnitude) ? BigInt(magnitude).toString() : magnitude.toFixed(decimals);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  if (point === 'always' && !text.includes('.')) out[at++] = DOT;
  return at;
}
