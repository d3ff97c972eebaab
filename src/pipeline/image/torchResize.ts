/**
 * PyTorch's `F.interpolate(x, (H, W), mode='bilinear', align_corners=False, antialias=True)` on the CPU
 * in float32, reproduced operation by operation (torch 1.13, aten/src/ATen/native/cpu/UpSampleKernel.cpp
 * and UpSample.h), so that TripoSR's network input can be rebuilt to the last bit rather than to the
 * half-pixel-shifted, 8-bit result of a general-purpose image library.
 *
 * What torch does, and this module with it:
 * - per axis, scale = float32(in) / out; the "antialias" triangle filter is stretched by the scale when
 *   shrinking (support = scale) and is the plain bilinear tent when enlarging (support = 1); each output
 *   sample takes the taps [xmin, xmin + size) around centre = scale · (i + 0.5), normalised to sum 1;
 * - two separable passes, the width first, then the height, each a float32 sum taken tap by tap in
 *   order, the first product starting the sum, some taps fused multiply-adds (see lastUnfusedTap);
 * - every intermediate rounded to float32 exactly where the C++ rounds it (a float times a double
 *   literal is computed in double and rounded once when stored into a float).
 *
 * The source is handed over row by row (see {@link PaddedRows}), so a 12-megapixel photo framed on a
 * large canvas never exists as floats: the width pass runs on one row at a time and the height pass
 * accumulates into the output as rows arrive. Memory: the output, a few rows and the tap tables.
 */

/** A float32 image read one row at a time: a content rectangle inside a canvas of one background colour. */
export interface PaddedRows {
  /** Canvas size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Values per pixel (3 for RGB). */
  readonly channels: number;
  /** The value of every channel of every pixel outside the content (float32 values, one per channel). */
  readonly background: ArrayLike<number>;
  /** Where the content lies on the canvas; it may be the whole canvas. */
  readonly content: ContentBox;
  /**
   * Writes the content's row `y` (0 = the content's top row) into `into`: content.width pixels, each
   * `channels` values (interleaved, x-major). Called at most once per row, top to bottom (a row no
   * output sample reads is skipped).
   */
  readContentRow(y: number, into: Float32Array): void;
}

export interface ContentBox {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Taps of one axis: output i reads input [start[i], start[i] + count[i]) with weights[i · stride + j]. */
export interface AxisTaps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float32Array;
  readonly stride: number;
}

const f32 = Math.fround;

/**
 * The taps and weights torch computes for one axis (`_compute_weights_aa` with the bilinear filter),
 * float32 by float32.
 */
export function axisTaps(inSize: number, outSize: number): AxisTaps {
  checkSize('input', inSize);
  checkSize('output', outSize);
  // area_pixel_compute_scale without a scale factor: float32(in) / out, in float32.
  const scale = f32(inSize / outSize);
  // (interp_size · 0.5) · scale with interp_size 2, computed in double, stored as float.
  const support = scale >= 1 ? f32(1.0 * scale) : 1;
  const invScale = scale >= 1 ? f32(1.0 / scale) : 1;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    // static_cast<int64_t> truncates towards zero; the sums (float ± float) + double round as in C++.
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const size = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    start[i] = xmin;
    count[i] = size;
    const row = i * stride;
    let total = 0;
    for (let j = 0; j < size; j++) {
      // (int64 - float) is float; + 0.5 and · invscale in double; the filter takes a float.
      const w = triangle(f32((f32(j + xmin - center) + 0.5) * invScale));
      weights[row + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) for (let j = 0; j < size; j++) weights[row + j] = f32(weights[row + j] / total);
  }
  return { start, count, weights, stride };
}

/** The bilinear filter torch borrowed from Pillow: 1 − |x| inside (−1, 1), in float32. */
function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? f32(1 - a) : 0;
}

/**
 * Resizes `source` to outWidth × outHeight as torch does (see the module comment) and returns the
 * result planar: channels × outHeight × outWidth float32 values (NCHW without the batch axis).
 */
export function resizeBilinearAntialias(source: PaddedRows, outWidth: number, outHeight: number): Float32Array {
  const { width, height, channels, content } = source;
  checkSize('width', width);
  checkSize('height', height);
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`resizeBilinearAntialias: bad channel count ${channels}.`);
  checkContent(content, width, height);
  if (source.background.length < channels) throw new RangeError('resizeBilinearAntialias: one background value per channel is needed.');
  const across = axisTaps(width, outWidth);
  const down = axisTaps(height, outHeight);
  const plane = outWidth * outHeight;
  const out = new Float32Array(channels * plane);

  // One canvas row: the padding is written once, the content part is overwritten row by row.
  const row = new Float32Array(width * channels);
  for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) row[x * channels + c] = source.background[c];
  const contentRow = row.subarray(content.left * channels, (content.left + content.width) * channels);
  // The width pass of a row of pure padding: the same for every such row, and for every output sample
  // whose taps all fall in the padding.
  const backgroundRow = new Float32Array(outWidth * channels);
  resizeRow(row, channels, across, backgroundRow, 0, outWidth);
  const rowOut = new Float32Array(outWidth * channels);
  // Output columns whose taps touch the content: outside them a content row resizes like the padding.
  const [firstTouched, endTouched] = touchedRange(across, content.left, content.left + content.width);

  const readers = outputsReading(down, height);
  for (let y = 0; y < height; y++) {
    const first = readers.offsets[y];
    const end = readers.offsets[y + 1];
    if (first === end) continue;
    let resized = backgroundRow;
    const contentY = y - content.top;
    if (contentY >= 0 && contentY < content.height) {
      source.readContentRow(contentY, contentRow);
      rowOut.set(backgroundRow);
      resizeRow(row, channels, across, rowOut, firstTouched, endTouched);
      resized = rowOut;
    }
    for (let k = first; k < end; k++) accumulateRow(resized, readers.outputs[k], y, down, channels, outWidth, plane, out);
  }
  return out;
}

/** The width pass for output samples [from, to) of one row (interleaved in, interleaved out). */
function resizeRow(row: Float32Array, channels: number, taps: AxisTaps, into: Float32Array, from: number, to: number): void {
  const { start, count, weights, stride } = taps;
  for (let o = from; o < to; o++) {
    const base = start[o] * channels;
    const n = count[o];
    const plainEnd = lastUnfusedTap(n) + 1;
    const wRow = o * stride;
    for (let c = 0; c < channels; c++) {
      let at = base + c;
      let sum = f32(row[at] * weights[wRow]);
      let j = 1;
      for (; j < plainEnd; j++) {
        at += channels;
        sum = f32(sum + f32(row[at] * weights[wRow + j]));
      }
      for (; j < n; j++) {
        at += channels;
        // A fused multiply-add: the product of two floats is exact in double.
        sum = f32(sum + row[at] * weights[wRow + j]);
      }
      into[o * channels + c] = sum;
    }
  }
}

/**
 * The last tap, counting from 1, whose product is rounded before it is added. torch's tap loop
 * (`output += t * wts`) is compiled by GCC into four-wide vector multiplies with the additions kept in
 * order, then a scalar remainder that GCC contracts into fused multiply-adds: the first multiple of four
 * of taps 1..n−1 round their products, the rest do not. Measured on torch 1.13's AVX2 kernel (Debian's
 * build), where it makes the results identical bit for bit; another build may differ in the last bit.
 */
function lastUnfusedTap(taps: number): number {
  return (taps - 1) & ~3;
}

/** Adds input row y's share to output row `o` of the height pass (the first tap starts the sum). */
function accumulateRow(
  resized: Float32Array,
  o: number,
  y: number,
  down: AxisTaps,
  channels: number,
  outWidth: number,
  plane: number,
  out: Float32Array,
): void {
  const j = y - down.start[o];
  const w = down.weights[o * down.stride + j];
  const rowBase = o * outWidth;
  const fused = j > lastUnfusedTap(down.count[o]);
  for (let c = 0; c < channels; c++) {
    const dst = c * plane + rowBase;
    // Float32Array stores round the double result once, as float32 arithmetic would.
    if (j === 0) {
      for (let x = 0; x < outWidth; x++) out[dst + x] = resized[x * channels + c] * w;
    } else if (fused) {
      for (let x = 0; x < outWidth; x++) out[dst + x] = out[dst + x] + resized[x * channels + c] * w;
    } else {
      for (let x = 0; x < outWidth; x++) out[dst + x] = out[dst + x] + f32(resized[x * channels + c] * w);
    }
  }
}

/** For each input row, the output rows whose taps read it, in increasing order (CSR layout). */
function outputsReading(taps: AxisTaps, inSize: number): { offsets: Int32Array; outputs: Int32Array } {
  const outSize = taps.start.length;
  const offsets = new Int32Array(inSize + 1);
  for (let o = 0; o < outSize; o++) for (let j = 0; j < taps.count[o]; j++) offsets[taps.start[o] + j + 1]++;
  for (let y = 0; y < inSize; y++) offsets[y + 1] += offsets[y];
  const outputs = new Int32Array(offsets[inSize]);
  const fill = offsets.slice(0, inSize);
  for (let o = 0; o < outSize; o++) for (let j = 0; j < taps.count[o]; j++) outputs[fill[taps.start[o] + j]++] = o;
  return { offsets, outputs };
}

/** The output samples [first, end) whose taps reach input columns [from, to). */
function touchedRange(taps: AxisTaps, from: number, to: number): [number, number] {
  let first = -1;
  let end = -1;
  for (let o = 0; o < taps.start.length; o++) {
    const s = taps.start[o];
    if (s < to && s + taps.count[o] > from) {
      if (first < 0) first = o;
      end = o + 1;
    }
  }
  return first < 0 ? [0, 0] : [first, end];
}

/** A whole float32 image, interleaved (x-major, channel-minor), as rows for the resize. */
export function interleavedRows(data: Float32Array, width: number, height: number, channels: number): PaddedRows {
  if (data.length !== width * height * channels) {
    throw new RangeError(`interleavedRows: ${data.length} values for ${width}×${height}×${channels}.`);
  }
  const rowLength = width * channels;
  return {
    width,
    height,
    channels,
    background: new Float32Array(channels),
    content: { left: 0, top: 0, width, height },
    readContentRow: (y, into) => into.set(data.subarray(y * rowLength, (y + 1) * rowLength)),
  };
}

/** A planar float32 image (channels × height × width, as torch holds NCHW) as rows for the resize. */
export function planarRows(data: Float32Array, width: number, height: number, channels: number): PaddedRows {
  if (data.length !== width * height * channels) {
    throw new RangeError(`planarRows: ${data.length} values for ${width}×${height}×${channels}.`);
  }
  const plane = width * height;
  return {
    width,
    height,
    channels,
    background: new Float32Array(channels),
    content: { left: 0, top: 0, width, height },
    readContentRow: (y, into) => {
      for (let c = 0; c < channels; c++) {
        const from = c * plane + y * width;
        for (let x = 0; x < width; x++) into[x * channels + c] = data[from + x];
      }
    },
  };
}

function checkSize(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`resizeBilinearAntialias: ${what} must be a positive integer, got ${n}.`);
}

function checkContent(box: ContentBox, width: number, height: number): void {
  const ok =
    [box.left, box.top, box.width, box.height].every(Number.isInteger) &&
    box.left >= 0 &&
    box.top >= 0 &&
    box.width >= 1 &&
    box.height >= 1 &&
    box.left + box.width <= width &&
    box.top + box.height <= height;
  if (!ok) throw new RangeError(`resizeBilinearAntialias: content box ${JSON.stringify(box)} is not inside ${width}×${height}.`);
}
