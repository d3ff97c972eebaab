/**
 * The stand-in for TripoSR: an encoder/decoder pair with TripoSR's exact input/output contract whose
 * result is known in closed form, so the whole pipeline (session, surface extraction, colouring,
 * writers) can be built and tested before the real graphs exist. Generated, never committed.
 *
 * Encoder (image [1,3,512,512] RGB in [0,1] → scene_codes [1,3,40,64,64]):
 *   m = mean RGB (ReduceMean over H, W); luma = 0.299 r + 0.587 g + 0.114 b;
 *   ρ = 0.30 + 0.30·luma (sphere radius in normalised units, world radius 0.87·ρ).
 *   On every plane: channel 0 = u², channel 1 = v² at each texel centre, where (u, v) are GridSample's
 *   align_corners=0 coordinates of the texel (u = (2·col + 1)/64 − 1 along the width, v likewise along
 *   the height); channels 2–4 = m; channel 5 = ρ²; channels 6–39 = 0. Everything is computed in-graph
 *   (ReduceMean, MatMul, Expand, ConstantOfShape, Concat) so the codes really depend on the image.
 *
 * Decoder (scene_codes, points [1,P,3] world units → density [1,P,1], color [1,P,3]) mirrors TripoSR's
 * sampling: p_n = p / 0.87; plane 0 sampled at (x, y), plane 1 at (x, z), plane 2 at (y, z) with one
 * batched GridSample (bilinear, zeros padding, align_corners 0) over the planes as a batch of 3, exactly
 * as TripoSR folds planes into the batch; features [1,120,P] plane-major (plane·40 + channel). A fixed
 * [5 × 120] MatMul then reads
 *   r² = plane0.ch0 (x²) + plane0.ch1 (y²) + plane1.ch1 (z²),  R² = plane0.ch5,  colour = plane0.ch2..4
 * and the heads are density = 25·exp(8·(1 − r²/R²)), color = Clip(colour, 0, 1).
 *
 * Refinement over a plain 25·exp(8·(R² − r²)): dividing by R² makes the centre density 25·e⁸ ≈ 7.5e4
 * for every image (a dark image would otherwise give only ~51 at the centre, barely "inside"), and the
 * surface is still exactly where r² = R², i.e. density 25 on the sphere |p_n| = ρ.
 *
 * Error analysis (what standinExpectation's tolerance comes from):
 * - Inside the texel-centre range (|u| ≤ 63/64) bilinear interpolation of u² is linear interpolation
 *   between texel centres h = 2/64 apart. For a convex function it overestimates, by at most h²/4
 *   (= 1/4096). r² sums three such terms, so r²_est ∈ [r², r² + 3h²/4], while R² and colour (constant
 *   channels) are exact. The crossing therefore sits at a true r in [√(ρ² − 3h²/4), ρ]: up to 1.2e-3
 *   normalised (1.1e-3 world) inside the nominal sphere for ρ = 0.3, less for larger ρ, never outside.
 * - Zero padding: within the last half texel (|u| > 63/64) the missing neighbour reads 0, so u² falls
 *   towards 0 there and every channel of that plane (R² included) is scaled by the in-bounds weight.
 *   Writing plane-0 weights as Wu·Wv: if x is in the padded band, plane 0 contributes
 *   Wv·Wu·(ρ² − (63/64)²) − Wu·(y term) < 0; if only y is, likewise; if only z is, plane 1's v² term is
 *   at least ½·(63/64)² ≈ 0.4845 while R² ≤ ρ². So no spurious inside region appears near the box
 *   faces, edges or corners as long as ρ² < ½·(63/64)², i.e. ρ < 0.696; here ρ ≤ 0.6.
 * - Since r²_est ≥ r² everywhere inside the box, nothing outside the true sphere reads as inside.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraphBuilder, int64s } from './onnx/graphBuilder.js';

export const STANDIN_OPSET = 17;
export const STANDIN_CONTRACT = 1;

const PLANES = 3;
const CHANNELS = 40;
const RES = 64;
const BOX = 0.87;
const IMAGE = 512;

const LUMA: readonly [number, number, number] = [0.299, 0.587, 0.114];
const RHO_BASE = 0.3;
const RHO_GAIN = 0.3;
const DENSITY_GAIN = 8;
const ISO = 25;

/** Texel-centre coordinate in GridSample's align_corners=0 convention. */
function texelCentre(index: number): number {
  return (2 * index + 1) / RES - 1;
}

function buildEncoder(): Uint8Array {
  const g = new GraphBuilder('standin_encoder');
  const image = g.input('image', 'float32', [1, 3, IMAGE, IMAGE]);
  g.output('scene_codes', 'float32', [1, PLANES, CHANNELS, RES, RES]);

  const mean = g.op('ReduceMean', [image], { axes: { ints: [2, 3] }, keepdims: { int: 1 } });
  const rgb = g.op('Reshape', [mean, g.constant(int64s([1, 3]), [2], 'shape_rgb')]);
  const luma = g.op('MatMul', [rgb, g.constant(new Float32Array(LUMA), [3, 1], 'luma_weights')]);
  const rho = g.op('Add', [
    g.op('Mul', [luma, g.constant(new Float32Array([RHO_GAIN]), [], 'rho_gain')]),
    g.constant(new Float32Array([RHO_BASE]), [], 'rho_base'),
  ]);
  const rho2 = g.op('Mul', [rho, rho]);
  // [m_r, m_g, m_b, ρ²] become channels 2..5 of every plane.
  const values = g.op('Concat', [rgb, rho2], { axis: { int: 1 } });
  const valuesCol = g.op('Reshape', [values, g.constant(int64s([1, 1, 4, 1, 1]), [5], 'shape_values')]);

  const u2 = new Float32Array(RES);
  for (let i = 0; i < RES; i++) u2[i] = texelCentre(i) ** 2;
  const uRow = g.constant(u2, [1, 1, 1, 1, RES], 'u_squared'); // varies along the width (u)
  const vCol = g.constant(u2.slice(), [1, 1, 1, RES, 1], 'v_squared'); // varies along the height (v)
  const oneChannel = g.constant(int64s([1, PLANES, 1, RES, RES]), [5], 'shape_one_channel');
  const fourChannels = g.constant(int64s([1, PLANES, 4, RES, RES]), [5], 'shape_four_channels');
  const rest = CHANNELS - 6;
  const zeros = g.op('ConstantOfShape', [g.constant(int64s([1, PLANES, rest, RES, RES]), [5], 'shape_rest')]);

  g.node(
    'Concat',
    [
      g.op('Expand', [uRow, oneChannel]),
      g.op('Expand', [vCol, oneChannel]),
      g.op('Expand', [valuesCol, fourChannels]),
      zeros,
    ],
    ['scene_codes'],
    { axis: { int: 2 } },
  );
  return g.toModel({ opset: STANDIN_OPSET, producer: 'image-to-3d standin', metadata: { kind: 'standin' } });
}

function buildDecoder(): Uint8Array {
  const g = new GraphBuilder('standin_decoder');
  const codes = g.input('scene_codes', 'float32', [1, PLANES, CHANNELS, RES, RES]);
  const points = g.input('points', 'float32', [1, 'P', 3]);
  g.output('density', 'float32', [1, 'P', 1]);
  g.output('color', 'float32', [1, 'P', 3]);

  // Planes become the batch of one GridSample, as TripoSR does with rearrange before grid_sample.
  const planes = g.op('Reshape', [codes, g.constant(int64s([PLANES, CHANNELS, RES, RES]), [4], 'shape_planes')]);
  const normalised = g.op('Div', [points, g.constant(new Float32Array([BOX]), [], 'box_radius')]);
  // (x, y), (x, z), (y, z): the (u, v) of planes 0, 1, 2.
  const pairs = g.op('Gather', [normalised, g.constant(int64s([0, 1, 0, 2, 1, 2]), [3, 2], 'plane_axes')], {
    axis: { int: 2 },
  }); // [1, P, 3, 2]
  const grid = g.op('Transpose', [pairs], { perm: { ints: [2, 0, 1, 3] } }); // [3, 1, P, 2]
  const sampled = g.op('GridSample', [planes, grid], {
    mode: { string: 'bilinear' },
    padding_mode: { string: 'zeros' },
    align_corners: { int: 0 },
  }); // [3, 40, 1, P]
  const features = g.op('Reshape', [
    sampled,
    g.constant(int64s([1, PLANES * CHANNELS, -1]), [3], 'shape_features'),
  ]); // [1, 120, P]

  // Rows: r², R², colour r, g, b.
  const heads = new Float32Array(5 * PLANES * CHANNELS);
  const w = (row: number, plane: number, channel: number, value: number): void => {
    heads[row * PLANES * CHANNELS + plane * CHANNELS + channel] = value;
  };
  w(0, 0, 0, 1); // x² from plane 0 (u = x)
  w(0, 0, 1, 1); // y² from plane 0 (v = y)
  w(0, 1, 1, 1); // z² from plane 1 (v = z)
  w(1, 0, 5, 1);
  w(2, 0, 2, 1);
  w(3, 0, 3, 1);
  w(4, 0, 4, 1);
  const projected = g.op('MatMul', [g.constant(heads, [5, PLANES * CHANNELS], 'head_weights'), features]); // [1,5,P]
  const [r2, bigR2, colour] = g.node('Split', [projected, g.constant(int64s([1, 1, 3]), [3], 'split_heads')], 3, {
    axis: { int: 1 },
  }) as [string, string, string];

  // density = exp(ln 25 + 8 − 8·r²/R²)
  const ratio = g.op('Div', [r2, bigR2]);
  const logDensity = g.op('Add', [
    g.op('Mul', [ratio, g.constant(new Float32Array([-DENSITY_GAIN]), [], 'density_gain')]),
    g.constant(new Float32Array([Math.log(ISO) + DENSITY_GAIN]), [], 'density_bias'),
  ]);
  g.node('Reshape', [g.op('Exp', [logDensity]), g.constant(int64s([1, -1, 1]), [3], 'shape_density')], ['density']);
  g.node(
    'Clip',
    [
      g.op('Transpose', [colour], { perm: { ints: [0, 2, 1] } }),
      g.constant(new Float32Array([0]), [], 'zero'),
      g.constant(new Float32Array([1]), [], 'one'),
    ],
    ['color'],
  );
  return g.toModel({ opset: STANDIN_OPSET, producer: 'image-to-3d standin', metadata: { kind: 'standin' } });
}

export function buildStandinModels(): { encoder: Uint8Array; decoder: Uint8Array } {
  return { encoder: buildEncoder(), decoder: buildDecoder() };
}

export interface StandinExpectation {
  /** Normalised radius ρ (world radius / 0.87). */
  rho: number;
  /** World radius of the density-25 sphere, centred at the origin. */
  radius: number;
  /** The measured crossing lies in [radius − radiusTolerance, radius] (interpolation bias; see header). */
  radiusTolerance: number;
  /** Decoded colour anywhere well inside the box. */
  color: [number, number, number];
}

/** What the stand-in computes for an image whose mean colour is `meanRgb`. */
export function standinExpectation(meanRgb: [number, number, number]): StandinExpectation {
  const luma = LUMA[0] * meanRgb[0] + LUMA[1] * meanRgb[1] + LUMA[2] * meanRgb[2];
  const rho = RHO_BASE + RHO_GAIN * luma;
  const h = 2 / RES;
  const maxBias = (3 * h * h) / 4;
  // 1e-5 covers float32 rounding in the graph (sums of a few O(1) values, relative error ~1e-7).
  const radiusTolerance = BOX * (rho - Math.sqrt(rho * rho - maxBias)) + 1e-5;
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  return {
    rho,
    radius: BOX * rho,
    radiusTolerance,
    color: [clip(meanRgb[0]), clip(meanRgb[1]), clip(meanRgb[2])],
  };
}

/** Writes encoder.onnx, decoder.onnx and model.json into `outDir` (created if needed). */
export async function writeStandinModels(outDir: string): Promise<void> {
  const { encoder, decoder } = buildStandinModels();
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'encoder.onnx'), encoder);
  await writeFile(join(outDir, 'decoder.onnx'), decoder);
  const manifest = {
    kind: 'standin',
    contract: STANDIN_CONTRACT,
    description:
      'Generated stand-in with TripoSR’s input/output contract: a sphere whose radius follows the image’s ' +
      'luma and whose colour is the image’s mean colour. Not TripoSR.',
  };
  await writeFile(join(outDir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
