/**
 * The ViT position table for 512² inputs, as transformers 4.35 computes it (ViTEmbeddings.
 * interpolate_pos_encoding with interpolate_pos_encoding=True), done once at conversion time and stored
 * as a constant of the encoder graph.
 *
 * Trap: 4.35 calls F.interpolate with scale_factor ((h0 + 0.1)/g, (w0 + 0.1)/g) rather than a size, and
 * PyTorch maps output to input coordinates with that scale, not with the size ratio:
 * src = (dst + 0.5) · g / (h0 + 0.1) − 0.5. Later transformers pass size=(h0, w0), whose numbers differ
 * by up to ~0.4 on TripoSR's table; TripoSR was trained and released with 4.35.
 *
 * Bicubic as PyTorch's upsample_bicubic2d (align_corners=False): Keys' cubic convolution with a = −0.75,
 * source coordinates not clamped, and the four taps per axis read with their indices clamped to the
 * grid (border replication). PyTorch computes the coordinate in float32 from the float32 inverse scale;
 * that is reproduced here so the taps and weights agree to the last bit of the coordinate.
 */

const A = -0.75;

/** Keys' cubic convolution weights for the taps at offsets −1, 0, 1, 2 from floor(x), t = x − floor(x). */
function cubicWeights(t: number): [number, number, number, number] {
  const near = (x: number): number => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| ≤ 1
  const far = (x: number): number => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

interface AxisTaps {
  readonly index: Int32Array; // [out × 4], clamped
  readonly weight: Float64Array; // [out × 4]
}

function axisTaps(inSize: number, outSize: number, scaleFactor: number): AxisTaps {
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  const scale = Math.fround(1 / scaleFactor);
  for (let o = 0; o < outSize; o++) {
    const src = Math.fround(Math.fround(scale * Math.fround(o + 0.5)) - 0.5);
    const base = Math.floor(src);
    const w = cubicWeights(Math.fround(src - base));
    for (let k = 0; k < 4; k++) {
      index[o * 4 + k] = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
      weight[o * 4 + k] = w[k]!;
    }
  }
  return { index, weight };
}

/**
 * Bicubically resizes a square grid of `channels`-wide vectors, stored token-major ([g·g, channels], row
 * by row), to [outH·outW, channels] with PyTorch's scale_factor semantics.
 */
export function resizeBicubic(
  grid: Float32Array,
  side: number,
  channels: number,
  outH: number,
  outW: number,
  scaleH: number,
  scaleW: number,
): Float32Array {
  if (grid.length !== side * side * channels) throw new Error(`grid has ${grid.length} values, expected ${side}²×${channels}`);
  const ys = axisTaps(side, outH, scaleH);
  const xs = axisTaps(side, outW, scaleW);
  const out = new Float32Array(outH * outW * channels);
  const row = new Float64Array(channels);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const dst = (oy * outW + ox) * channels;
      const acc = new Float64Array(channels);
      for (let ky = 0; ky < 4; ky++) {
        const iy = ys.index[oy * 4 + ky]!;
        const wy = ys.weight[oy * 4 + ky]!;
        row.fill(0);
        for (let kx = 0; kx < 4; kx++) {
          const src = (iy * side + xs.index[ox * 4 + kx]!) * channels;
          const wx = xs.weight[ox * 4 + kx]!;
          for (let c = 0; c < channels; c++) row[c]! += wx * grid[src + c]!;
        }
        for (let c = 0; c < channels; c++) acc[c]! += wy * row[c]!;
      }
      out.set(acc, dst);
    }
  }
  return out;
}

/**
 * transformers 4.35's interpolated position table for an image of `height`×`width` pixels.
 * `table` is position_embeddings as stored, [1, 1 + g², hidden] (CLS first); the result is
 * [1 + (height/patch)·(width/patch), hidden], CLS row unchanged.
 */
export function interpolatePositionEmbeddings(
  table: Float32Array,
  hidden: number,
  height: number,
  width: number,
  patch: number,
): Float32Array {
  const positions = table.length / hidden - 1;
  const h0 = Math.floor(height / patch);
  const w0 = Math.floor(width / patch);
  // 4.35 returns the table as it is when the grids already agree (square images only).
  if (positions === h0 * w0 && height === width) return table.slice();
  const side = Math.sqrt(positions);
  if (!Number.isInteger(side)) throw new Error(`position table of ${positions} entries is not a square grid`);
  const scaleH = (h0 + 0.1) / side;
  const scaleW = (w0 + 0.1) / side;
  // PyTorch sizes the output floor(in × scale); with the +0.1 that is h0, w0 for any realistic grid.
  if (Math.floor(side * scaleH) !== h0 || Math.floor(side * scaleW) !== w0) {
    throw new Error(`scale_factor ${scaleH} does not give a ${h0}×${w0} grid from ${side}×${side}`);
  }
  const resized = resizeBicubic(table.subarray(hidden), side, hidden, h0, w0, scaleH, scaleW);
  const out = new Float32Array((1 + h0 * w0) * hidden);
  out.set(table.subarray(0, hidden), 0);
  out.set(resized, hidden);
  return out;
}
