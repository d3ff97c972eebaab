/**
 * The rembg family of salient-object networks (U²-Net, U²-Net-p, IS-Net, BiRefNet): what each expects
 * and how its output becomes a mask, reproduced from rembg's sessions (rembg/sessions/base.py
 * `normalize`, and each session's `predict`) so that a mask made here is rembg's mask, byte for byte.
 *
 * rembg works in Pillow and numpy, and the details that decide the bytes are theirs:
 * - the input is `img.convert('RGB')` (alpha dropped, not composited), resized with Pillow's 8-bit
 *   LANCZOS, divided by the resized image's own maximum (not by 255), then `(x − mean) / std` in float64
 *   and cast to float32;
 * - the output's channel 0 goes through an optional sigmoid (BiRefNet) and a min–max normalisation,
 *   both in numpy float32, is truncated to 8 bits by `(pred * 255).astype('uint8')`, and the 'L'
 *   image is resized back to the photo's size with Pillow's LANCZOS.
 */
import type { DecodedImage } from './decode.js';
import { pilResize, pilResizeRgbOfRgba } from './pilResample.js';
import type { SegmentationNetwork } from './backgroundOptions.js';

// Named in backgroundOptions.ts, which the extension host can load without this module's code.
export { SEGMENTATION_NETWORKS, type SegmentationNetwork } from './backgroundOptions.js';

/** What a network takes and what rembg applies to its first output before normalising it. */
export interface SegmentationRecipe {
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Per-channel (R, G, B) mean subtracted from the max-normalised pixel. */
  readonly mean: readonly [number, number, number];
  /** Per-channel divisor after the mean. */
  readonly std: readonly [number, number, number];
  /** BiRefNet returns logits, which rembg passes through a sigmoid; the others return probabilities. */
  readonly activation: 'none' | 'sigmoid';
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * Values as rembg's sessions pass them to `normalize`: u2net.py and u2netp.py (320², ImageNet
 * mean/std), dis_general_use.py (1024², ImageNet mean with std 1: IS-Net was trained that way),
 * birefnet_general.py, which birefnet_general_lite.py inherits (1024², ImageNet mean/std, sigmoid).
 */
export const SEGMENTATION_RECIPES: Readonly<Record<SegmentationNetwork, SegmentationRecipe>> = {
  u2net: { inputWidth: 320, inputHeight: 320, mean: IMAGENET_MEAN, std: IMAGENET_STD, activation: 'none' },
  u2netp: { inputWidth: 320, inputHeight: 320, mean: IMAGENET_MEAN, std: IMAGENET_STD, activation: 'none' },
  'isnet-general-use': { inputWidth: 1024, inputHeight: 1024, mean: IMAGENET_MEAN, std: [1, 1, 1], activation: 'none' },
  'birefnet-general-lite': { inputWidth: 1024, inputHeight: 1024, mean: IMAGENET_MEAN, std: IMAGENET_STD, activation: 'sigmoid' },
};

/**
 * The network input [1, 3, inputHeight, inputWidth] for `image`, as rembg's `normalize` builds it.
 * The divisor is `max(np.max(im_ary), 1e-6)`: the brightest byte of the resized image (an all-black
 * image divides 0 by 1e-6 and stays 0). Each value is `((byte / max) − mean) / std` in double, then
 * rounded to float32, exactly the operations numpy performs.
 */
export function segmentationInput(image: DecodedImage, recipe: SegmentationRecipe): Float32Array {
  const outW = recipe.inputWidth;
  const outH = recipe.inputHeight;
  const resized = pilResizeRgbOfRgba(image.rgba, image.width, image.height, outW, outH, 'lanczos');
  let brightest = 0;
  for (let i = 0; i < resized.length; i++) if (resized[i]! > brightest) brightest = resized[i]!;
  const divisor = Math.max(brightest, 1e-6);
  const plane = outW * outH;
  const tensor = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = recipe.mean[c]!;
    const std = recipe.std[c]!;
    const base = c * plane;
    for (let p = 0; p < plane; p++) tensor[base + p] = (resized[p * 3 + c]! / divisor - mean) / std;
  }
  return tensor;
}

/** A foreground mask at the source image's size, and the raw range it was normalised from. */
export interface SegmentationMask {
  /** width × height bytes, 0 (background) … 255 (object), like rembg's 'L' mask. */
  readonly mask: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Largest output value after the activation, before normalisation (float32). */
  readonly peak: number;
  /** Smallest output value after the activation, before normalisation (float32). */
  readonly floor: number;
}

/**
 * rembg's `predict` after the network: channel 0 of the first output (`output` holds it first, as an
 * ONNX [1, C, H, W] tensor does), the recipe's activation, `(pred − min) / (max − min)` in float32,
 * `(pred * 255).astype('uint8')` (truncation), then Pillow's LANCZOS resize of that 'L' image to
 * width × height.
 *
 * A constant output (max = min) makes rembg divide 0 by 0: every value is NaN, and numpy's NaN →
 * uint8 cast gives 0 on x86, so rembg's mask is all zeros there. This returns the same all-zero mask
 * (and does so for any non-finite range) instead of depending on the cast; `peak` and `floor` still
 * report the range, so the caller can tell "nothing found" apart.
 */
export function segmentationMask(
  output: Float32Array,
  outputWidth: number,
  outputHeight: number,
  recipe: SegmentationRecipe,
  width: number,
  height: number,
): SegmentationMask {
  const plane = outputWidth * outputHeight;
  if (!Number.isInteger(plane) || plane < 1 || output.length < plane) {
    throw new RangeError(`segmentationMask: an output of ${output.length} values cannot hold a ${outputWidth}×${outputHeight} map.`);
  }
  const pred = output.slice(0, plane);
  if (recipe.activation === 'sigmoid') for (let i = 0; i < plane; i++) pred[i] = rembgSigmoid(pred[i]!);
  let peak = -Infinity;
  let floor = Infinity;
  for (let i = 0; i < plane; i++) {
    const v = pred[i]!;
    // np.max / np.min propagate NaN.
    if (v !== v) {
      peak = floor = NaN;
      break;
    }
    if (v > peak) peak = v;
    if (v < floor) floor = v;
  }
  const range = Math.fround(peak - floor);
  const small = new Uint8Array(plane);
  if (range > 0 && range < Infinity) {
    for (let i = 0; i < plane; i++) {
      const unit = Math.fround(Math.fround(pred[i]! - floor) / range);
      small[i] = Math.fround(unit * 255); // the byte store truncates, as astype("uint8") does
    }
  }
  const mask = pilResize(small, outputWidth, outputHeight, 1, width, height, 'lanczos');
  return { mask, width, height, peak, floor };
}

/**
 * `1 / (1 + np.exp(-x))` on a float32 value, as rembg's BiRefNet session computes it: every operation
 * in float32, and `np.exp` as numpy's SIMD float32 kernel computes it (the one numpy uses on x86 with
 * AVX2+FMA3 or AVX-512F; Debian 12's numpy 1.24 here). That kernel is not libm's expf: a Cody–Waite
 * reduction and a rational minimax approximation with fused multiply-adds, which differs from the
 * correctly rounded value (by up to 2.5 ulp) for between one input in ten and one in three in our
 * samples, enough to move a mask byte after the `* 255` truncation. It is reproduced here operation
 * by operation; it agreed bit for bit with numpy 1.24 on 174 million inputs (every 13th float32 of
 * magnitude below 110, and 2 million random ones). A numpy without that kernel uses libm,
 * and its masks may then differ from these by one level at a few pixels.
 */
export function rembgSigmoid(x: number): number {
  const e = numpyExpFloat32(Math.fround(-x));
  return Math.fround(1 / Math.fround(1 + e));
}

// numpy's float32 exp constants (npy_math's NPY_*f, as float32).
const EXP_XMAX = Math.fround(88.72283935546875);
const EXP_XMIN = Math.fround(-103.97208404541015625);
const LOG2E = Math.fround(1.442695040888963407359924681001892137);
const RINT_MAGIC = Math.fround(12582912); // 0x1.8p23: adding and subtracting it rounds to an integer
const LN2_HIGH = Math.fround(-6.93145752e-1);
const LN2_LOW = Math.fround(-1.42860677e-6);
const P0 = Math.fround(9.999999999980870924916e-1);
const P1 = Math.fround(7.257664613233124478488e-1);
const P2 = Math.fround(2.473615434895520810817e-1);
const P3 = Math.fround(5.114512081637298353406e-2);
const P4 = Math.fround(6.757896990527504603057e-3);
const P5 = Math.fround(5.082762527590693718096e-4);
const Q0 = Math.fround(1);
const Q1 = Math.fround(-2.742335390411667452936e-1);
const Q2 = Math.fround(2.159509375685829852307e-2);

function numpyExpFloat32(x: number): number {
  if (x !== x) return NaN;
  if (x >= EXP_XMAX) return Infinity;
  if (x <= EXP_XMIN) return 0;
  // numpy writes x·log2e + magic as a multiply then an add; GCC contracts the pair into one fused
  // multiply-add (its default -ffp-contract=fast), which decides the rounding when x·log2e is near n + ½.
  const k = Math.fround(fma32(x, LOG2E, RINT_MAGIC) - RINT_MAGIC);
  let r = fma32(k, LN2_HIGH, x);
  r = fma32(k, LN2_LOW, r);
  let num = fma32(P5, r, P4);
  num = fma32(num, r, P3);
  num = fma32(num, r, P2);
  num = fma32(num, r, P1);
  num = fma32(num, r, P0);
  let den = fma32(Q2, r, Q1);
  den = fma32(den, r, Q0);
  // scalef: poly × 2^k, one rounding (to a subnormal when k is very negative).
  return Math.fround(Math.fround(num / den) * POWERS_OF_TWO[k - MIN_EXPONENT]!);
}

// k = rint(x·log2 e) for x in (EXP_XMIN, EXP_XMAX) lies in [−150, 128].
const MIN_EXPONENT = -150;
const POWERS_OF_TWO = Float64Array.from({ length: 128 - MIN_EXPONENT + 1 }, (_, i) => 2 ** (i + MIN_EXPONENT));

/**
 * A float32 fused multiply-add: a × b + c rounded once. The product of two float32 values is exact in
 * double; the double sum may round, and rounding that again to float32 can go the wrong way only when
 * the double lands exactly halfway between two float32 values, which the sum's exact error settles.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = Math.fround(s);
  const d = s - r;
  const other = r + 2 * d;
  // Unless s lies exactly halfway to the next float32 (`other`), rounding s is rounding a × b + c.
  if (d === 0 || Math.fround(other) !== other) return r;
  const t = s - p;
  const err = p - (s - t) + (c - t); // what the double sum dropped (TwoSum)
  return err !== 0 && err > 0 === d > 0 ? other : r;
}
