import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decimalDigitCount,
  decimalText,
  decimalTextBound,
  writeDecimal,
  writeScaledDecimal,
  writeUint,
  type DecimalPoint,
} from '../../src/pipeline/writers/numberText.js';

/** writeDecimal's text, written after a marker so a write before `at` would show. */
function written(x: number, decimals: number, point: DecimalPoint = 'when-fractional'): string {
  const out = new Uint8Array(8 + decimalTextBound(Number.isFinite(x) ? x : 0, decimals)).fill(0x7e);
  const end = writeDecimal(out, 3, x, decimals, point);
  assert.equal(Buffer.from(out.subarray(0, 3)).toString('latin1'), '~~~', 'nothing written before at');
  return Buffer.from(out.subarray(3, end)).toString('latin1');
}

function scaledText(scaled: number, decimals: number, point: DecimalPoint): string {
  const out = new Uint8Array(40);
  return Buffer.from(out.subarray(0, writeScaledDecimal(out, 0, scaled, decimals, point))).toString('latin1');
}

/**
 * What the printer promises, by way of BigInt and strings rather than its digit loops: the integer
 * round(|x|·10^d) with a point d places from the end, the fraction's zeros trimmed.
 */
function reference(x: number, decimals: number): string {
  const scaled = Math.round(Math.abs(x) * 10 ** decimals);
  if (scaled === 0) return '0';
  const digits = BigInt(scaled).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${x < 0 ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('decimal text for the text formats', () => {
  it('never writes a negative zero', () => {
    assert.equal(written(-0, 6), '0');
    assert.equal(written(-0, 6, 'always'), '0.');
    assert.equal(written(-4e-7, 6), '0', 'a negative that rounds to zero');
    assert.equal(scaledText(-0, 3, 'always'), '0.');
  });

  it('keeps small values positional where the decimals reach them, and rounds them away where not', () => {
    assert.equal(String(1e-7), '1e-7', 'what Number#toString would have written');
    assert.equal(written(1e-7, 6), '0');
    assert.equal(written(1e-7, 7), '0.0000001');
    assert.equal(written(-1e-7, 15), '-0.0000001');
    assert.equal(written(0.05, 6), '0.05');
  });

  it('writes large values with all their digits, never in exponent form', () => {
    assert.equal(String(1e21), '1e+21');
    assert.equal(written(1e21, 6), '1000000000000000000000');
    assert.equal(written(-1e21, 0, 'always'), '-1000000000000000000000.');
    // float32's largest value: 39 digits, exactly.
    assert.equal(written(3.4028234663852886e38, 6), '340282346638528859811704183484516925440');
    // A fractional double past 2^53 / 10^6: its exact binary value, rounded to 6 places.
    assert.equal(written(123456789012.34567, 6), (123456789012.34567).toFixed(6).replace(/0+$/, ''));
  });

  it('writes integers without a point unless the format needs one', () => {
    assert.equal(written(42, 6), '42');
    assert.equal(written(42, 6, 'always'), '42.');
    assert.equal(written(-7, 0), '-7');
    assert.equal(written(2 ** 31, 6), '2147483648');
    assert.equal(written(2 ** 31, 0, 'always'), '2147483648.');
    assert.equal(written(9007199254, 6), '9007199254');
  });

  it('rounds half away from zero at the last digit, carrying into the whole part', () => {
    // Binary-exact ties, so the tie is really there.
    assert.equal(written(0.125, 2), '0.13');
    assert.equal(written(-0.125, 2), '-0.13');
    assert.equal(written(2.5, 0), '3');
    assert.equal(written(-2.5, 0), '-3');
    assert.equal(written(0.0625, 3), '0.063');
    assert.equal(written(9.9999996, 6), '10');
    assert.equal(written(-999.9999996, 6, 'always'), '-1000.');
    assert.equal(written(1.2344999, 4), '1.2345');
    assert.equal(written(1.23444, 4), '1.2344');
  });

  it('rejects NaN and infinities, and decimals it cannot write', () => {
    for (const x of [NaN, Infinity, -Infinity]) {
      assert.throws(() => written(x, 6), RangeError);
      assert.throws(() => decimalText(x, 6), /non-finite/);
      assert.throws(() => scaledText(x, 6, 'always'), RangeError);
    }
    for (const decimals of [-1, 16, 1.5]) assert.throws(() => written(1, decimals), /decimals/);
  });

  it('agrees with a BigInt reference across magnitudes, signs and decimals', () => {
    const next = random(7);
    for (let i = 0; i < 20_000; i++) {
      const decimals = Math.floor(next() * 16);
      // Magnitudes from 1e-9 to 1e16, so products fall on both sides of 2^31 and of 2^53.
      const x = (next() < 0.5 ? -1 : 1) * 10 ** (next() * 25 - 9);
      const text = written(x, decimals);
      assert.match(text, /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/, `${x} at ${decimals}`);
      if (Math.abs(x) * 10 ** decimals < 2 ** 53) assert.equal(text, reference(x, decimals), `${x} at ${decimals}`);
      assert.ok(text.length <= decimalTextBound(Math.abs(x), decimals), `bound for ${x} at ${decimals}`);
      assert.ok(Math.abs(Number(text) - x) <= 0.5 * 10 ** -decimals + Math.abs(x) * 2 ** -52, `${text} is ${x} to ${decimals} places`);
    }
    // float32 values, as the meshes hold them, written as the OBJ and DXF writers write them.
    const floats = new Float32Array(20_000).map(() => (next() - 0.5) * 10 ** (next() * 12 - 3));
    for (const x of floats) assert.equal(written(x, 6), reference(x, 6), `${x}`);
  });

  it('decimalText gives the same text as the byte writer', () => {
    assert.equal(decimalText(-12.5, 6), '-12.5');
    assert.equal(decimalText(1e300, 2).length, 301);
    assert.equal(decimalText(0.5, 1, 'always'), '0.5');
  });
});

describe('STEP reals from scaled integers', () => {
  it('writes scaled / 10^decimals exactly, with the point STEP requires', () => {
    assert.equal(scaledText(12345, 3, 'always'), '12.345');
    assert.equal(scaledText(12000, 3, 'always'), '12.');
    assert.equal(scaledText(12000, 3, 'when-fractional'), '12');
    assert.equal(scaledText(5, 3, 'always'), '0.005');
    assert.equal(scaledText(-5, 3, 'always'), '-0.005');
    assert.equal(scaledText(0, 0, 'always'), '0.');
    assert.equal(scaledText(2 ** 31, 6, 'always'), '2147.483648');
    assert.equal(scaledText(2 ** 53 - 1, 15, 'always'), '9.007199254740991');
    assert.equal(scaledText(-(2 ** 53 - 1), 0, 'always'), '-9007199254740991.');
    assert.equal(scaledText(1, 15, 'always'), '0.000000000000001');
    assert.equal(scaledText(3_000_000_000, 12, 'always'), '0.003');
    assert.equal(scaledText(12_000_000_000, 9, 'always'), '12.');
  });

  it('refuses what it cannot write exactly', () => {
    assert.throws(() => scaledText(0.5, 3, 'always'), RangeError);
    assert.throws(() => scaledText(2 ** 53, 3, 'always'), RangeError);
    assert.throws(() => scaledText(1, 16, 'always'), RangeError);
  });

  it('agrees with BigInt arithmetic across the whole range', () => {
    const next = random(11);
    for (let i = 0; i < 20_000; i++) {
      const decimals = Math.floor(next() * 16);
      const scaled = Math.floor(next() * 2 ** (next() * 53)) * (next() < 0.5 ? -1 : 1);
      const digits = BigInt(Math.abs(scaled)).toString().padStart(decimals + 1, '0');
      const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
      const expected = `${scaled < 0 ? '-' : ''}${digits.slice(0, digits.length - decimals)}.${fraction}`;
      assert.equal(scaledText(scaled, decimals, 'always'), expected, `${scaled}e-${decimals}`);
    }
  });
});

describe('integers', () => {
  it('writes every digit count up to 2^53', () => {
    const out = new Uint8Array(20);
    for (let n = 1, digits = 1; n < 2 ** 53; n = n * 10, digits++) {
      for (const v of [n - 1, n, n + 1, Math.min(n * 10 - 1, 2 ** 53 - 1)]) {
        if (v < 0) continue;
        assert.equal(Buffer.from(out.subarray(0, writeUint(out, 0, v))).toString('latin1'), String(v));
        assert.equal(decimalDigitCount(v), String(v).length, `${v}`);
      }
    }
    for (const v of [2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1]) {
      assert.equal(Buffer.from(out.subarray(0, writeUint(out, 0, v))).toString('latin1'), String(v));
    }
  });
});
