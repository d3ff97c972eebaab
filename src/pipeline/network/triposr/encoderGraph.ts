/**
 * The encoder graph: RGB image in [0, 1] → scene codes, i.e. TripoSR's TSR.forward up to
 * post_processor (tsr/system.py): DINO ViT image tokens (transformers 4.35 ViTModel), the Transformer1D
 * backbone over the learned triplane tokens with cross-attention to the image tokens, and the
 * ConvTranspose upsampler.
 *
 * Layout: batch 1 is fixed by the contract, so token sequences are 2-D [tokens, channels] and every
 * Linear is one Gemm with a pre-transposed weight. Attention is ONNX Runtime's com.microsoft
 * MultiHeadAttention: on the CPU it is faster than MatMul/Softmax/MatMul (no [heads, 3072, 3072] score
 * tensor is materialised) and CUDA, DirectML and WebGPU implement it too.
 *
 * Precision 'fp16' stores the ViT and backbone weights as float16 and runs those parts in float16; the
 * image normalisation, the (constant) triplane tokens and what derives from them, the residual with
 * the raw tokens, and the upsampler stay float32, so the scene codes (values up to ~±1400) come out in
 * float32 as the contract says.
 */
import type { StateDictSource } from '../checkpoint/stateDict.js';
import { GraphBuilder, int64s } from '../onnx/graphBuilder.js';
import { VIT_PREFIX, type TripoSRConfig } from './config.js';
import { interpolatePositionEmbeddings } from './positionalEmbedding.js';
import { Weights, type Precision } from './weights.js';

export const MS_DOMAIN = 'com.microsoft';

/** ImageNet statistics DINOSingleImageTokenizer normalises with (tsr/models/tokenizers/image.py). */
const IMAGE_MEAN = [0.485, 0.456, 0.406];
const IMAGE_STD = [0.229, 0.224, 0.225];

/** TripoSR's backbone: GroupNorm eps (Transformer1D) and LayerNorm eps (nn.LayerNorm default). */
const GROUP_NORM_EPS = 1e-6;
const BLOCK_LAYER_NORM_EPS = 1e-5;

class EncoderBuilder {
  readonly g = new GraphBuilder('triposr_encoder');
  private readonly w: Weights;
  private readonly half: boolean;
  private readonly shapes = new Map<string, string>();

  constructor(
    private readonly c: TripoSRConfig,
    source: StateDictSource,
    precision: Precision,
  ) {
    this.w = new Weights(this.g, source, Weights.elementType(precision));
    this.half = precision === 'fp16';
  }

  /** A shared int64 shape/axes constant. */
  private ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.shapes.get(key);
    if (name === undefined) {
      name = this.g.constant(int64s(values), [values.length], 'shape');
      this.shapes.set(key, name);
    }
    return name;
  }

  private reshape(x: string, dims: readonly number[]): string {
    return this.g.op('Reshape', [x, this.ints(dims)]);
  }

  private toCompute(x: string): string {
    return this.half ? this.g.op('Cast', [x], { to: { int: 10 } }) : x;
  }

  private toFloat32(x: string): string {
    return this.half ? this.g.op('Cast', [x], { to: { int: 1 } }) : x;
  }

  private layerNorm(x: string, prefix: string, width: number, eps: number): string {
    const scale = this.w.tensor(`${prefix}.weight`, [width]);
    const bias = this.w.tensor(`${prefix}.bias`, [width]);
    return this.g.op('LayerNormalization', [x, scale, bias], { axis: { int: -1 }, epsilon: { float: eps } });
  }

  private gemm(x: string, weight: string, bias?: string): string {
    return this.g.op('Gemm', bias === undefined ? [x, weight] : [x, weight, bias]);
  }

  private gelu(x: string): string {
    // Exact (erf) GELU, as nn.functional.gelu's default and HF's "gelu".
    return this.g.op('Gelu', [x], {}, MS_DOMAIN);
  }

  /** Scaled dot-product attention over [S, heads·dim] queries and [L, heads·dim] keys/values. */
  private attention(q: string, k: string, v: string, qLen: number, kvLen: number, heads: number, headDim: number): string {
    const width = heads * headDim;
    const out = this.g.op(
      'MultiHeadAttention',
      [this.reshape(q, [1, qLen, width]), this.reshape(k, [1, kvLen, width]), this.reshape(v, [1, kvLen, width])],
      { num_heads: { int: heads }, scale: { float: 1 / Math.sqrt(headDim) } },
      MS_DOMAIN,
    );
    return this.reshape(out, [qLen, width]);
  }

  private split(x: string, sizes: readonly number[]): string[] {
    return this.g.node('Split', [x, this.ints(sizes)], sizes.length, { axis: { int: 1 } });
  }

  /** DINO ViT → last_hidden_state [1 + g², hidden] (after the final LayerNorm). */
  vit(image: string): { tokens: string; count: number } {
    const v = this.c.vit;
    const g = this.g;
    const hv = v.hiddenSize;
    const p = VIT_PREFIX;
    const size = this.c.condImageSize;
    const grid = size / v.patchSize;
    const count = 1 + grid * grid;

    const mean = g.constant(Float32Array.from(IMAGE_MEAN), [1, 3, 1, 1], 'image_mean');
    const std = g.constant(Float32Array.from(IMAGE_STD), [1, 3, 1, 1], 'image_std');
    const normalised = this.toCompute(g.op('Div', [g.op('Sub', [image, mean]), std]));

    const kernel = this.w.tensor(`${p}embeddings.patch_embeddings.projection.weight`, [hv, v.numChannels, v.patchSize, v.patchSize]);
    const kernelBias = this.w.tensor(`${p}embeddings.patch_embeddings.projection.bias`, [hv]);
    const patches = g.op('Conv', [normalised, kernel, kernelBias], {
      kernel_shape: { ints: [v.patchSize, v.patchSize] },
      strides: { ints: [v.patchSize, v.patchSize] },
    });
    const patchTokens = g.op('Transpose', [this.reshape(patches, [hv, grid * grid])], { perm: { ints: [1, 0] } });
    const cls = this.w.tensor(`${p}embeddings.cls_token`, [1, hv]);
    const positions = this.w.derived(`${p}embeddings.position_table_${size}`, [count, hv], async () =>
      interpolatePositionEmbeddings(await this.w.readFloat32(`${p}embeddings.position_embeddings`), hv, size, size, v.patchSize),
    );
    let h = g.op('Add', [g.op('Concat', [cls, patchTokens], { axis: { int: 0 } }), positions]);

    const heads = v.numHeads;
    const headDim = hv / heads;
    for (let i = 0; i < v.numLayers; i++) {
      const l = `${p}encoder.layer.${i}.`;
      const a = this.layerNorm(h, `${l}layernorm_before`, hv, v.layerNormEps);
      const proj = ['query', 'key', 'value'].map((n) => `${l}attention.attention.${n}`);
      const qkvWeight = this.w.linear(proj.map((n) => `${n}.weight`), hv, [hv, hv, hv], { as: `${l}attention.qkv.weight^T` });
      const qkvBias = v.qkvBias ? this.w.concat(proj.map((n) => `${n}.bias`), [hv, hv, hv], { as: `${l}attention.qkv.bias` }) : undefined;
      const [q, k, vv] = this.split(this.gemm(a, qkvWeight, qkvBias), [hv, hv, hv]);
      const attended = this.attention(q!, k!, vv!, count, count, heads, headDim);
      const out = this.gemm(
        attended,
        this.w.linear([`${l}attention.output.dense.weight`], hv, [hv]),
        this.w.tensor(`${l}attention.output.dense.bias`, [hv]),
      );
      h = g.op('Add', [out, h]);
      const b = this.layerNorm(h, `${l}layernorm_after`, hv, v.layerNormEps);
      const inter = this.gelu(
        this.gemm(
          b,
          this.w.linear([`${l}intermediate.dense.weight`], hv, [v.intermediateSize]),
          this.w.tensor(`${l}intermediate.dense.bias`, [v.intermediateSize]),
        ),
      );
      const mlp = this.gemm(
        inter,
        this.w.linear([`${l}output.dense.weight`], v.intermediateSize, [hv]),
        this.w.tensor(`${l}output.dense.bias`, [hv]),
      );
      h = g.op('Add', [mlp, h]);
    }
    return { tokens: this.layerNorm(h, `${p}layernorm`, hv, v.layerNormEps), count };
  }

  /** The triplane tokens through Transformer1D → [3·P², C] (token-major), plus the raw-token residual. */
  backbone(context: string, contextCount: number): string {
    const g = this.g;
    const b = this.c.backbone;
    const ct = this.c.tokenizer.numChannels;
    const ps = this.c.tokenizer.planeSize;
    const n = 3 * ps * ps;
    const d = b.numHeads * b.headDim;

    // Everything up to proj_in depends on weights only; ONNX Runtime folds it into a constant when the
    // session is created, so it is kept float32 whatever the precision.
    const embeddings = this.w.tensor('tokenizer.embeddings', [3, ct, ps, ps], { fp32: true });
    const tokensCN = this.reshape(g.op('Transpose', [embeddings], { perm: { ints: [1, 0, 2, 3] } }), [ct, n]);
    const groups = b.normNumGroups;
    // GroupNorm as InstanceNormalization over [1, groups, C/groups · N]: every ONNX runtime has it, and
    // the affine part is per channel, applied after reshaping back.
    const grouped = this.reshape(tokensCN, [1, groups, (ct / groups) * n]);
    const unitScale = g.constant(new Float32Array(groups).fill(1), [groups], 'group_scale');
    const zeroBias = g.constant(new Float32Array(groups), [groups], 'group_bias');
    const normalisedGroups = g.op('InstanceNormalization', [grouped, unitScale, zeroBias], { epsilon: { float: GROUP_NORM_EPS } });
    const normalised = g.op('Add', [
      g.op('Mul', [this.reshape(normalisedGroups, [ct, n]), this.w.tensor('backbone.norm.weight', [ct, 1], { fp32: true })]),
      this.w.tensor('backbone.norm.bias', [ct, 1], { fp32: true }),
    ]);
    const projected = this.gemm(
      g.op('Transpose', [normalised], { perm: { ints: [1, 0] } }),
      this.w.linear(['backbone.proj_in.weight'], ct, [d], { fp32: true }),
      this.w.tensor('backbone.proj_in.bias', [d], { fp32: true }),
    );
    let x = this.toCompute(projected);

    const bias = (name: string, width: number): string | undefined => (b.attentionBias ? this.w.tensor(name, [width]) : undefined);
    for (let i = 0; i < b.numLayers; i++) {
      const k = `backbone.transformer_blocks.${i}.`;
      // Self-attention
      {
        const a = this.layerNorm(x, `${k}norm1`, d, BLOCK_LAYER_NORM_EPS);
        const proj = ['to_q', 'to_k', 'to_v'].map((p) => `${k}attn1.${p}`);
        const weight = this.w.linear(proj.map((p) => `${p}.weight`), d, [d, d, d], { as: `${k}attn1.qkv.weight^T` });
        const qkvBias = b.attentionBias ? this.w.concat(proj.map((p) => `${p}.bias`), [d, d, d], { as: `${k}attn1.qkv.bias` }) : undefined;
        const [q, kk, v] = this.split(this.gemm(a, weight, qkvBias), [d, d, d]);
        const attended = this.attention(q!, kk!, v!, n, n, b.numHeads, b.headDim);
        const out = this.gemm(attended, this.w.linear([`${k}attn1.to_out.0.weight`], d, [d]), this.w.tensor(`${k}attn1.to_out.0.bias`, [d]));
        x = g.op('Add', [out, x]);
      }
      // Cross-attention to the image tokens
      if (b.crossAttentionDim !== null) {
        const dx = b.crossAttentionDim;
        const a = this.layerNorm(x, `${k}norm2`, d, BLOCK_LAYER_NORM_EPS);
        const q = this.gemm(a, this.w.linear([`${k}attn2.to_q.weight`], d, [d]), bias(`${k}attn2.to_q.bias`, d));
        const kvWeight = this.w.linear([`${k}attn2.to_k.weight`, `${k}attn2.to_v.weight`], dx, [d, d], { as: `${k}attn2.kv.weight^T` });
        const kvBias = b.attentionBias
          ? this.w.concat([`${k}attn2.to_k.bias`, `${k}attn2.to_v.bias`], [d, d], { as: `${k}attn2.kv.bias` })
          : undefined;
        const [kk, v] = this.split(this.gemm(context, kvWeight, kvBias), [d, d]);
        const attended = this.attention(q, kk!, v!, n, contextCount, b.numHeads, b.headDim);
        const out = this.gemm(attended, this.w.linear([`${k}attn2.to_out.0.weight`], d, [d]), this.w.tensor(`${k}attn2.to_out.0.bias`, [d]));
        x = g.op('Add', [out, x]);
      }
      // GEGLU feed-forward: proj's first half is the value, the second the gate. Two Gemms instead of
      // one and a Split: the halves land in separate buffers without a copy.
      {
        const a = this.layerNorm(x, `${k}norm3`, d, BLOCK_LAYER_NORM_EPS);
        const inner = 4 * d;
        const proj = `${k}ff.net.0.proj`;
        const value = this.gemm(a, this.w.linearRows(`${proj}.weight`, d, 0, inner), this.w.slice(`${proj}.bias`, 0, inner));
        const gate = this.gemm(a, this.w.linearRows(`${proj}.weight`, d, inner, 2 * inner), this.w.slice(`${proj}.bias`, inner, 2 * inner));
        const hidden = g.op('Mul', [value, this.gelu(gate)]);
        const out = this.gemm(hidden, this.w.linear([`${k}ff.net.2.weight`], inner, [d]), this.w.tensor(`${k}ff.net.2.bias`, [d]));
        x = g.op('Add', [out, x]);
      }
    }
    const out = this.gemm(x, this.w.linear(['backbone.proj_out.weight'], d, [ct]), this.w.tensor('backbone.proj_out.bias', [ct]));
    // Transformer1D adds the un-normalised input tokens back.
    const residual = g.op('Transpose', [tokensCN], { perm: { ints: [1, 0] } });
    return g.op('Add', [this.toFloat32(out), residual]);
  }

  /**
   * TriplaneUpsampleNetwork: ConvTranspose2d(C, Co, kernel 2, stride 2) per plane. Kernel = stride, so
   * output pixels never overlap: it is one Gemm [3·P², C] × [C, Co·2·2] (the PyTorch weight [C, Co, 2, 2]
   * read as is) followed by a pixel shuffle.
   */
  upsample(tokens: string): string {
    const g = this.g;
    const ct = this.c.tokenizer.numChannels;
    const ps = this.c.tokenizer.planeSize;
    const co = this.c.postProcessor.outChannels;
    const weight = this.w.tensor('post_processor.upsample.weight', [ct, co * 4], { fp32: true });
    const bias = this.w.derived(
      'post_processor.upsample.bias×4',
      [co * 4],
      async () => {
        const b = await this.w.readFloat32('post_processor.upsample.bias');
        return Float32Array.from({ length: co * 4 }, (_, i) => b[Math.floor(i / 4)]!);
      },
      { fp32: true },
    );
    const pixels = this.gemm(tokens, weight, bias); // [(plane, row, col), (channel, dy, dx)]
    const shuffled = g.op('Transpose', [this.reshape(pixels, [3, ps, ps, co, 2, 2])], { perm: { ints: [0, 3, 1, 4, 2, 5] } });
    return this.reshape(shuffled, [1, 3, co, 2 * ps, 2 * ps]);
  }
}

export function buildEncoderGraph(config: TripoSRConfig, source: StateDictSource, precision: Precision): GraphBuilder {
  const b = new EncoderBuilder(config, source, precision);
  const size = config.condImageSize;
  const image = b.g.input('image', 'float32', [1, 3, size, size]);
  const { tokens, count } = b.vit(image);
  const planes = b.backbone(tokens, count);
  const codes = b.upsample(planes);
  b.g.node('Identity', [codes], ['scene_codes']);
  const ps = config.tokenizer.planeSize;
  b.g.output('scene_codes', 'float32', [1, 3, config.postProcessor.outChannels, 2 * ps, 2 * ps]);
  return b.g;
}
