/**
 * The decoder graph: scene codes + world points → density and colour, TripoSR's query_triplane
 * (tsr/models/nerf_renderer.py) and NeRFMLP (tsr/models/network_utils.py). Always float32: exp of the
 * density overflows half precision, and the whole MLP is 41 k parameters.
 */
import type { StateDictSource } from '../checkpoint/stateDict.js';
import { GraphBuilder, int64s } from '../onnx/graphBuilder.js';
import { decoderLayers, type Activation, type TripoSRConfig } from './config.js';
import { Weights } from './weights.js';

function activate(g: GraphBuilder, x: string, act: Activation): string {
  switch (act) {
    case 'none':
      return x;
    case 'exp':
      return g.op('Exp', [x]);
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
    case 'tanh':
      return g.op('Tanh', [x]);
    case 'softplus':
      return g.op('Softplus', [x]);
    case 'relu':
      return g.op('Relu', [x]);
  }
}

const f32 = (v: number): Float32Array => Float32Array.of(v);

export function buildDecoderGraph(config: TripoSRConfig, source: StateDictSource): GraphBuilder {
  const g = new GraphBuilder('triposr_decoder');
  const w = new Weights(g, source, 'float32');
  const co = config.postProcessor.outChannels;
  const size = config.tokenizer.planeSize * 2;
  const codes = g.input('scene_codes', 'float32', [1, 3, co, size, size]);
  const points = g.input('points', 'float32', [1, 'P', 3]);

  const pts = g.op('Reshape', [points, g.constant(int64s([-1, 3]), [2], 'points_shape')]);
  // scale_tensor((-r, r) → (-1, 1)) operation by operation, as TripoSR rounds it: ((p + r) / 2r) · 2 − 1.
  const r = config.renderer.radius;
  const shifted = g.op('Sub', [pts, g.constant(f32(-r), [], 'box_min')]);
  const unit = g.op('Div', [shifted, g.constant(f32(r - -r), [], 'box_size')]);
  const normalised = g.op('Add', [g.op('Mul', [unit, g.constant(f32(2), [], 'two')]), g.constant(f32(-1), [], 'minus_one')]);

  // grid_sample's (u, v) is (width, height): plane 0 reads (x, y), plane 1 (x, z), plane 2 (y, z).
  const uv = g.op('Gather', [normalised, g.constant(int64s([0, 1, 0, 2, 1, 2]), [3, 2], 'plane_axes')], { axis: { int: 1 } });
  const grid = g.op('Unsqueeze', [g.op('Transpose', [uv], { perm: { ints: [1, 0, 2] } }), g.constant(int64s([1]), [1], 'axis1')]);
  const planes = g.op('Reshape', [codes, g.constant(int64s([3, co, size, size]), [4], 'planes_shape')]);
  const sampled = g.op('GridSample', [planes, grid], {
    mode: { string: 'bilinear' },
    padding_mode: { string: 'zeros' },
    align_corners: { int: 0 },
  }); // [3, co, 1, P]

  // [3, co, 1, P] → [P, features]: token-major rows make each layer one Gemm over P rows with the
  // PyTorch weight as stored (transB), measured ~15% faster than W · X on [features, P] here.
  let x: string;
  if (config.renderer.featureReduction === 'concat') {
    x = g.op('Transpose', [g.op('Reshape', [sampled, g.constant(int64s([3 * co, -1]), [2], 'features_shape')])], { perm: { ints: [1, 0] } });
  } else {
    const perPlane = g.op('Reshape', [sampled, g.constant(int64s([3, co, -1]), [3], 'per_plane_shape')]);
    x = g.op('Transpose', [g.op('ReduceMean', [perPlane], { axes: { ints: [0] }, keepdims: { int: 0 } })], { perm: { ints: [1, 0] } });
  }

  const layers = decoderLayers(config);
  for (const [i, layer] of layers.entries()) {
    const weight = w.tensor(`${layer.prefix}.weight`, [layer.out, layer.in]);
    const inputs = config.decoder.bias ? [x, weight, w.tensor(`${layer.prefix}.bias`, [layer.out])] : [x, weight];
    x = g.op('Gemm', inputs, { transB: { int: 1 } });
    if (i < layers.length - 1) {
      x = config.decoder.activation === 'relu' ? g.op('Relu', [x]) : g.op('Mul', [x, g.op('Sigmoid', [x])]);
    }
  }
  // x: [P, 4] — density, then three colour features.
  const [rawDensity, rawColor] = g.node('Split', [x, g.constant(int64s([1, 3]), [2], 'split_sizes')], 2, { axis: { int: 1 } });
  const biased = g.op('Add', [rawDensity!, g.constant(f32(config.renderer.densityBias), [], 'density_bias')]);
  const density = activate(g, biased, config.renderer.densityActivation);
  const color = activate(g, rawColor!, config.renderer.colorActivation);
  const axis0 = g.constant(int64s([0]), [1], 'axis0');
  g.node('Unsqueeze', [density, axis0], ['density']);
  g.node('Unsqueeze', [color, axis0], ['color']);
  g.output('density', 'float32', [1, 'P', 1]);
  g.output('color', 'float32', [1, 'P', 3]);
  return g;
}
