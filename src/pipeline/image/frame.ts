/**
 * TripoSR's framing of the object, reproduced to the float: the network input the extension builds equals
 * the one TripoSR's own code builds from the same RGBA image (test/reference/triposr_framing.py follows
 * that code line by line; test/pipeline/frame.test.ts compares them).
 *
 * TripoSR's steps (run.py, tsr/utils.py):
 * 1. rembg's cutout (only when a background was removed): every channel times the mask, see naiveCutout;
 * 2. resize_foreground: crop to the pixels with alpha > 0 (the crop's end is exclusive, so the last row
 *    and column of the object are dropped), pad to a centred square, pad again to side / ratio;
 * 3. composite on grey 0.5 in float32 and truncate to 8 bits (`(image * 255.0).astype(np.uint8)`);
 * 4. ImagePreprocessor: /255 and F.interpolate to 512² (bilinear, align_corners=False, antialias=True).
 * The padded canvas never exists here: its rows are made one at a time for the resize (torchResize.ts).
 */
import type { DecodedImage } from './decode.js';
import { UserError } from '../errors.js';
import { IMAGE_SIZE } from '../network/contract.js';
import { resizeBilinearAntialias, type PaddedRows } from './torchResize.js';
import { GENERATE_DEFAULTS } from '../generateOptions.js';

/** TripoSR's input: 3 × 512 × 512 floats in [0, 1], channel-major. */
export const NETWORK_IMAGE_SIZE = IMAGE_SIZE;
/**
 * The largest padded canvas accepted. TripoSR would allocate it whole; here its cost is a few rows, but
 * the time still grows with its side, and a ratio small enough to reach this leaves the object a few
 * pixels wide in the 512² input.
 */
const MAX_CANVAS_SIDE = 1 << 16;

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * TripoSR's crop: rows y1..y2 and columns x1..x2 span the pixels with alpha > 0, and the crop is
 * [y1:y2, x1:x2], whose end is exclusive, so the last row and column holding the object are left out
 * (kept for parity). An opaque image counts as alpha 255 everywhere: the crop is the whole image less its
 * last row and column. The box may be 0 wide or high (an object one pixel thin).
 */
export function foregroundBox(image: DecodedImage): Box {
  const { width, height, rgba } = image;
  if (!image.hasTransparency) return { x: 0, y: 0, width: width - 1, height: height - 1 };
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * 4;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (rgba[row + x * 4 + 3] > 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y1 === height) y1 = y;
    y2 = y;
    if (first < x1) x1 = first;
    if (last > x2) x2 = last;
  }
  if (x2 < 0) {
    throw new UserError(
      'The image is fully transparent: there is no object to reconstruct.',
      'Use an image whose object is opaque (a transparent background is fine).',
      'image-empty',
    );
  }
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

/**
 * rembg's default cutout (`naive_cutout`: PIL's Image.composite(image, transparent, mask)), byte for
 * byte: every channel, alpha included, becomes round(c · m / 255) as PIL's integer blend computes it.
 * TripoSR then composites the result on grey with its alpha, so colour is weighted by the mask twice
 * (kept for parity). `rgba` is width × height × 4 bytes, `mask` width × height bytes.
 */
export function naiveCutout(rgba: Uint8Array, mask: Uint8Array, width: number, height: number): Uint8Array {
  const pixels = width * height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`naiveCutout: bad size ${width}×${height}.`);
  }
  if (rgba.length !== pixels * 4) throw new RangeError(`naiveCutout: ${rgba.length} RGBA bytes for ${width}×${height}.`);
  if (mask.length !== pixels) throw new RangeError(`naiveCutout: ${mask.length} mask bytes for ${width}×${height}.`);
  const out = new Uint8Array(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    const m = mask[i];
    const p = i * 4;
    for (let c = 0; c < 4; c++) out[p + c] = div255(rgba[p + c] * m);
  }
  return out;
}

/** PIL's DIV255: a / 255 rounded, for 0 ≤ a ≤ 255². */
function div255(a: number): number {
  const t = a + 128;
  return ((t >> 8) + t) >> 8;
}

/**
 * The tensor the encoder takes: 3 × 512 × 512 float32 values in [0, 1], channel-major, built from an
 * RGBA image whose alpha marks the object, exactly as TripoSR builds it. An opaque image is the object
 * as a whole.
 */
export function networkInput(image: DecodedImage, foregroundRatio = GENERATE_DEFAULTS.foregroundRatio): Float32Array {
  checkForegroundRatio(foregroundRatio);
  const box = foregroundBox(image);
  if (box.width === 0 || box.height === 0) {
    throw new UserError(
      `The object is only one pixel ${box.width === 0 ? 'wide' : 'high'}: TripoSR's crop leaves nothing of it.`,
      'Use an image in which the object is larger.',
      'image-empty',
    );
  }
  const side = Math.max(box.width, box.height);
  // int(size / ratio) in double precision, as Python divides.
  const canvas = Math.trunc(side / foregroundRatio);
  if (canvas > MAX_CANVAS_SIDE) {
    throw new UserError(
      `The foreground ratio ${foregroundRatio} would frame this ${side}-pixel object on a ${canvas}-pixel canvas, larger than ${MAX_CANVAS_SIDE}.`,
      ['Use a larger foreground ratio (', { option: 'foregroundRatio' }, '; TripoSR uses 0.85).'],
      'invalid-option',
    );
  }
  const margin = Math.floor((canvas - side) / 2);
  const rows = framedRows(image, box, {
    left: Math.floor((side - box.width) / 2) + margin,
    top: Math.floor((side - box.height) / 2) + margin,
    side: canvas,
  });
  return resizeBilinearAntialias(rows, NETWORK_IMAGE_SIZE, NETWORK_IMAGE_SIZE);
}

/** The 512² RGB image (8-bit, rounded, interleaved) of a network input, for `<name>.input.png`. */
export function networkInputPreview(tensor: Float32Array): Uint8Array {
  const plane = NETWORK_IMAGE_SIZE * NETWORK_IMAGE_SIZE;
  if (tensor.length !== 3 * plane) throw new RangeError(`networkInputPreview: ${tensor.length} values, expected ${3 * plane}.`);
  const rgb = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) rgb[i * 3 + c] = Math.min(255, Math.max(0, Math.round(tensor[c * plane + i] * 255)));
  }
  return rgb;
}

function checkForegroundRatio(ratio: number): void {
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio <= 0 || ratio > 1) {
    throw new UserError(
      `The foreground ratio must be a number above 0 and at most 1, got ${String(ratio)}.`,
      'Use a value such as 0.85 (TripoSR\'s default): the share of the frame the object\'s longer side fills.',
      'invalid-option',
    );
  }
}

/**
 * run.py's grey composite of one 8-bit channel value under an 8-bit alpha, in float32 as numpy computes
 * it, truncated to 8 bits: indexed [alpha · 256 + value]. The truncation turns some opaque values into
 * value − 1 (their float32 /255·255 falls just short).
 */
const GREY_COMPOSITE: Uint8Array = (() => {
  const f32 = Math.fround;
  const table = new Uint8Array(256 * 256);
  for (let a = 0; a < 256; a++) {
    const alpha = f32(a / 255);
    const grey = f32(f32(1 - alpha) * 0.5);
    for (let v = 0; v < 256; v++) {
      const mixed = f32(f32(f32(v / 255) * alpha) + grey);
      table[a * 256 + v] = Math.trunc(f32(mixed * 255));
    }
  }
  return table;
})();

/** ImagePreprocessor's `np.array(image).astype(np.float32) / 255.0` for each byte. */
const UNIT: Float32Array = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/**
 * resize_foreground's canvas after the grey composite, row by row: the crop at (left, top) of a square
 * of `side` pixels whose padding (alpha 0) composites to the grey of alpha 0.
 */
function framedRows(image: DecodedImage, box: Box, place: { left: number; top: number; side: number }): PaddedRows {
  const { rgba, width } = image;
  const opaque = !image.hasTransparency;
  const background = UNIT[GREY_COMPOSITE[0]];
  return {
    width: place.side,
    height: place.side,
    channels: 3,
    background: [background, background, background],
    content: { left: place.left, top: place.top, width: box.width, height: box.height },
    readContentRow(y: number, into: Float32Array): void {
      let p = ((box.y + y) * width + box.x) * 4;
      for (let x = 0, q = 0; x < box.width; x++, p += 4, q += 3) {
        const row = (opaque ? 255 : rgba[p + 3]) * 256;
        into[q] = UNIT[GREY_COMPOSITE[row + rgba[p]]];
        into[q + 1] = UNIT[GREY_COMPOSITE[row + rgba[p + 1]]];
        into[q + 2] = UNIT[GREY_COMPOSITE[row + rgba[p + 2]]];
      }
    },
  };
}
