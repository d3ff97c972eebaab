/**
 * TripoSR's config.yaml as a typed description of the network, the state-dict layout it implies, and
 * the check of a checkpoint against that layout.
 *
 * The YAML is TripoSR's own (OmegaConf flavour: `${a.b}` interpolations, dataclass defaults for omitted
 * keys); what it says is validated against what the graph builder implements, and against the fixed
 * interface the rest of the pipeline relies on (512² image in, [1,3,40,64,64] scene codes, a decoder that
 * reads 3 × 40 features). Defaults come from the dataclasses in tsr/models/** (Transformer1D.Config,
 * NeRFMLP.Config, TriplaneNeRFRenderer.Config).
 *
 * The ViT's architecture is not in config.yaml: TripoSR instantiates it from the Hugging Face config of
 * `pretrained_model_name_or_path` (facebook/dino-vitb16). That config is built in here; an optional
 * `image_tokenizer.vit_config` mapping (HF ViTConfig field names) overrides it, which is how the test
 * suite's small checkpoints describe their ViT.
 */
import { parse as parseYaml } from 'yaml';
import { UserError } from '../../errors.js';
import { IMAGE_SIZE, SCENE_CODES_DIMS } from '../contract.js';
import type { TensorInfo } from '../checkpoint/stateDict.js';

export interface VitConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly layerNormEps: number;
  /** The image size the position table was trained for (its grid is imageSize / patchSize square). */
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly qkvBias: boolean;
}

export type Activation = 'none' | 'exp' | 'sigmoid' | 'tanh' | 'softplus' | 'relu';

export interface TripoSRConfig {
  readonly condImageSize: number;
  readonly vit: VitConfig;
  readonly tokenizer: { readonly planeSize: number; readonly numChannels: number };
  readonly backbone: {
    readonly inChannels: number;
    readonly numHeads: number;
    readonly headDim: number;
    readonly numLayers: number;
    /** Width of the image tokens the cross-attention reads; null: the blocks have no cross-attention. */
    readonly crossAttentionDim: number | null;
    readonly normNumGroups: number;
    readonly attentionBias: boolean;
  };
  readonly postProcessor: { readonly inChannels: number; readonly outChannels: number };
  readonly decoder: {
    readonly inChannels: number;
    readonly neurons: number;
    readonly hiddenLayers: number;
    readonly activation: 'relu' | 'silu';
    readonly bias: boolean;
  };
  readonly renderer: {
    readonly radius: number;
    readonly featureReduction: 'concat' | 'mean';
    readonly densityActivation: Activation;
    readonly densityBias: number;
    readonly colorActivation: Activation;
  };
}

/** facebook/dino-vitb16's config.json: the image encoder of the released TripoSR. */
const DINO_VITB16: VitConfig = {
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  layerNormEps: 1e-12,
  imageSize: 224,
  patchSize: 16,
  numChannels: 3,
  qkvBias: true,
};

const KNOWN_VITS: Readonly<Record<string, VitConfig>> = { 'facebook/dino-vitb16': DINO_VITB16 };

const EXPECTED_CLASSES = {
  image_tokenizer_cls: 'tsr.models.tokenizers.image.DINOSingleImageTokenizer',
  tokenizer_cls: 'tsr.models.tokenizers.triplane.Triplane1DTokenizer',
  backbone_cls: 'tsr.models.transformer.transformer_1d.Transformer1D',
  post_processor_cls: 'tsr.models.network_utils.TriplaneUpsampleNetwork',
  decoder_cls: 'tsr.models.network_utils.NeRFMLP',
  renderer_cls: 'tsr.models.nerf_renderer.TriplaneNeRFRenderer',
} as const;

const CONFIG_HINT =
  "Use the config.yaml that came with the checkpoint (stabilityai/TripoSR's config.yaml for the official model.ckpt).";

function invalid(message: string, hint = CONFIG_HINT): UserError {
  return new UserError(message, hint, 'model-invalid');
}

// ---------------------------------------------------------------------------------------------------
// YAML → plain values, with OmegaConf interpolations resolved

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const INTERPOLATION = /\$\{([^}]*)\}/g;

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

function lookup(root: JsonObject, path: string): Json {
  let node: Json = root;
  for (const part of path.trim().split('.')) {
    if (!isObject(node) || !(part in node)) throw invalid(`config.yaml: the interpolation \${${path}} names nothing ('${part}' not found).`);
    node = node[part]!;
  }
  return node;
}

function resolve(node: Json, root: JsonObject, depth: number): Json {
  if (depth > 32) throw invalid('config.yaml: interpolations nest too deeply (a cycle?).');
  if (Array.isArray(node)) return node.map((v) => resolve(v, root, depth));
  if (isObject(node)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) out[k] = resolve(v, root, depth);
    return out;
  }
  if (typeof node !== 'string') return node;
  const whole = /^\s*\$\{([^}]*)\}\s*$/.exec(node);
  // A value that is exactly one interpolation takes the referenced value's type (an int stays an int).
  if (whole) return resolve(lookup(root, whole[1]!), root, depth + 1);
  return node.replace(INTERPOLATION, (_, path: string) => String(resolve(lookup(root, path), root, depth + 1)));
}

// ---------------------------------------------------------------------------------------------------
// Typed access to sections

class Section {
  constructor(
    readonly path: string,
    readonly values: JsonObject,
  ) {}

  private where(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return key in this.values && this.values[key] !== null;
  }

  int(key: string, fallback?: number, min = 1): number {
    const v = this.values[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw invalid(`config.yaml has no ${this.where(key)}.`);
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw invalid(`config.yaml: ${this.where(key)} is ${JSON.stringify(v)}, expected an integer ≥ ${min}.`);
    }
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.values[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw invalid(`config.yaml has no ${this.where(key)}.`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw invalid(`config.yaml: ${this.where(key)} is ${JSON.stringify(v)}, expected a number.`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.values[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw invalid(`config.yaml: ${this.where(key)} is ${JSON.stringify(v)}, expected true or false.`);
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.values[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw invalid(`config.yaml has no ${this.where(key)}.`);
    }
    if (typeof v !== 'string') throw invalid(`config.yaml: ${this.where(key)} is ${JSON.stringify(v)}, expected a string.`);
    return v;
  }

  /** Options TripoSR accepts but whose other values this builder does not implement. */
  only<T extends Json>(key: string, fallback: T, supported: readonly T[], what: string): T {
    const v = (this.values[key] ?? fallback) as T;
    if (!supported.includes(v)) {
      throw invalid(
        `config.yaml: ${this.where(key)} is ${JSON.stringify(v)}; the converter supports ${supported.map((s) => JSON.stringify(s)).join(' or ')} (${what}).`,
        'This checkpoint uses a TripoSR variant the converter does not build. Use the official TripoSR model.',
      );
    }
    return v;
  }

  section(key: string): Section {
    const v = this.values[key];
    if (!isObject(v)) throw invalid(`config.yaml has no ${this.where(key)} section.`);
    return new Section(this.where(key), v);
  }
}

function activation(section: Section, key: string, fallback: string): Activation {
  const name = section.str(key, fallback).toLowerCase();
  const known: readonly Activation[] = ['none', 'exp', 'sigmoid', 'tanh', 'softplus', 'relu'];
  if ((known as readonly string[]).includes(name)) return name as Activation;
  // TripoSR's get_activation has no trunc_exp either (the renderer's class default): such a config fails
  // in TripoSR too, which is why the released config.yaml says exp.
  throw invalid(`config.yaml: ${section.path}.${key} is '${name}', which TripoSR cannot run (known: ${known.join(', ')}).`);
}

function vitConfig(tokenizer: Section): VitConfig {
  const name = tokenizer.str('pretrained_model_name_or_path', 'facebook/dino-vitb16');
  const base = KNOWN_VITS[name];
  const override = tokenizer.values['vit_config'];
  if (base === undefined && !isObject(override ?? null)) {
    throw invalid(
      `config.yaml: image_tokenizer.pretrained_model_name_or_path is '${name}'; the converter knows the architecture of facebook/dino-vitb16 only.`,
      'Use the official TripoSR config.yaml (image encoder facebook/dino-vitb16).',
    );
  }
  const v = base ?? DINO_VITB16;
  if (!isObject(override ?? null)) return v;
  const o = tokenizer.section('vit_config');
  const known = new Set([
    'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'hidden_act', 'layer_norm_eps',
    'image_size', 'patch_size', 'num_channels', 'qkv_bias', 'hidden_dropout_prob', 'attention_probs_dropout_prob',
  ]);
  const unknown = Object.keys(o.values).filter((k) => !known.has(k));
  if (unknown.length > 0) throw invalid(`config.yaml: image_tokenizer.vit_config has keys the converter does not know: ${unknown.join(', ')}.`);
  o.only('hidden_act', 'gelu', ['gelu'], 'exact GELU');
  return {
    hiddenSize: o.int('hidden_size', v.hiddenSize),
    numLayers: o.int('num_hidden_layers', v.numLayers, 0),
    numHeads: o.int('num_attention_heads', v.numHeads),
    intermediateSize: o.int('intermediate_size', v.intermediateSize),
    layerNormEps: o.num('layer_norm_eps', v.layerNormEps),
    imageSize: o.int('image_size', v.imageSize),
    patchSize: o.int('patch_size', v.patchSize),
    numChannels: o.int('num_channels', v.numChannels),
    qkvBias: o.bool('qkv_bias', v.qkvBias),
  };
}

/**
 * Parses config.yaml text into the network description, or throws a 'model-invalid' UserError saying
 * which setting is wrong or unsupported.
 */
export function parseConfig(text: string): TripoSRConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw invalid(`config.yaml is not valid YAML: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (!isObject((raw ?? null) as Json)) throw invalid('config.yaml does not hold a mapping of settings.');
  const root = resolve(raw as JsonObject, raw as JsonObject, 0) as JsonObject;
  const top = new Section('', root);

  for (const [key, cls] of Object.entries(EXPECTED_CLASSES)) {
    const found = top.str(key);
    if (found !== cls) {
      throw invalid(
        `config.yaml: ${key} is '${found}', expected '${cls}'. The converter builds TripoSR's own classes only.`,
        'Use the official TripoSR config.yaml.',
      );
    }
  }

  const condImageSize = top.int('cond_image_size');
  const vit = vitConfig(top.section('image_tokenizer'));

  const tok = top.section('tokenizer');
  const tokenizer = { planeSize: tok.int('plane_size'), numChannels: tok.int('num_channels') };

  const bb = top.section('backbone');
  bb.only('activation_fn', 'geglu', ['geglu'], 'GEGLU feed-forward');
  bb.only('only_cross_attention', false, [false], 'self-attention first');
  bb.only('double_self_attention', false, [false], 'no second self-attention');
  bb.only('norm_type', 'layer_norm', ['layer_norm'], 'LayerNorm blocks');
  bb.only('norm_elementwise_affine', true, [true], 'LayerNorms with weights');
  const backbone = {
    inChannels: bb.int('in_channels'),
    numHeads: bb.int('num_attention_heads', 16),
    headDim: bb.int('attention_head_dim', 88),
    numLayers: bb.int('num_layers', 1, 0),
    crossAttentionDim: bb.has('cross_attention_dim') ? bb.int('cross_attention_dim') : null,
    normNumGroups: bb.int('norm_num_groups', 32),
    attentionBias: bb.bool('attention_bias', false),
  };

  const pp = top.section('post_processor');
  const postProcessor = { inChannels: pp.int('in_channels'), outChannels: pp.int('out_channels') };

  const dec = top.section('decoder');
  const decoder = {
    inChannels: dec.int('in_channels'),
    neurons: dec.int('n_neurons'),
    hiddenLayers: dec.int('n_hidden_layers'),
    activation: dec.only('activation', 'relu', ['relu', 'silu'], 'NeRFMLP activations'),
    bias: dec.bool('bias', true),
  };

  const ren = top.section('renderer');
  const renderer = {
    radius: ren.num('radius'),
    featureReduction: ren.only('feature_reduction', 'concat', ['concat', 'mean'], 'triplane feature reduction'),
    densityActivation: activation(ren, 'density_activation', 'trunc_exp'),
    densityBias: ren.num('density_bias', -1),
    colorActivation: activation(ren, 'color_activation', 'sigmoid'),
  };

  const config: TripoSRConfig = { condImageSize, vit, tokenizer, backbone, postProcessor, decoder, renderer };
  checkConsistency(config);
  return config;
}

/** What TripoSR itself would fail on at run time, and what the pipeline's fixed interface requires. */
function checkConsistency(c: TripoSRConfig): void {
  const problems: string[] = [];
  const [, planes, codeChannels, codeSize] = SCENE_CODES_DIMS;
  if (c.condImageSize !== IMAGE_SIZE) problems.push(`cond_image_size is ${c.condImageSize}; the pipeline feeds ${IMAGE_SIZE}×${IMAGE_SIZE} images`);
  if (c.condImageSize % c.vit.patchSize !== 0) problems.push(`the ViT patch size ${c.vit.patchSize} does not divide cond_image_size ${c.condImageSize}`);
  if (c.vit.imageSize % c.vit.patchSize !== 0) problems.push(`the ViT patch size ${c.vit.patchSize} does not divide its image_size ${c.vit.imageSize}`);
  if (c.vit.hiddenSize % c.vit.numHeads !== 0) problems.push(`the ViT hidden size ${c.vit.hiddenSize} is not a multiple of its ${c.vit.numHeads} heads`);
  if (c.vit.numChannels !== 3) problems.push(`the ViT reads ${c.vit.numChannels} channels, the images are RGB`);
  if (c.tokenizer.planeSize * 2 !== codeSize) problems.push(`tokenizer.plane_size is ${c.tokenizer.planeSize}; scene codes must be ${codeSize}×${codeSize} (plane size ${codeSize / 2})`);
  if (c.backbone.inChannels !== c.tokenizer.numChannels) problems.push(`backbone.in_channels (${c.backbone.inChannels}) differs from tokenizer.num_channels (${c.tokenizer.numChannels})`);
  if (c.backbone.inChannels % c.backbone.normNumGroups !== 0) problems.push(`backbone.norm_num_groups (${c.backbone.normNumGroups}) does not divide backbone.in_channels (${c.backbone.inChannels})`);
  if (c.backbone.crossAttentionDim !== null && c.backbone.crossAttentionDim !== c.vit.hiddenSize) {
    problems.push(`backbone.cross_attention_dim (${c.backbone.crossAttentionDim}) differs from the image encoder's width (${c.vit.hiddenSize})`);
  }
  if (c.postProcessor.inChannels !== c.tokenizer.numChannels) problems.push(`post_processor.in_channels (${c.postProcessor.inChannels}) differs from tokenizer.num_channels (${c.tokenizer.numChannels})`);
  if (c.postProcessor.outChannels !== codeChannels) problems.push(`post_processor.out_channels is ${c.postProcessor.outChannels}; scene codes must have ${codeChannels} channels`);
  const features = c.renderer.featureReduction === 'concat' ? planes * c.postProcessor.outChannels : c.postProcessor.outChannels;
  if (c.decoder.inChannels !== features) problems.push(`decoder.in_channels is ${c.decoder.inChannels}, but the renderer hands it ${features} features`);
  if (!(c.renderer.radius > 0)) problems.push(`renderer.radius is ${c.renderer.radius}`);
  if (problems.length > 0) throw invalid(`config.yaml is inconsistent: ${problems.join('; ')}.`);
}

// ---------------------------------------------------------------------------------------------------
// State-dict layout

export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** False for tensors TripoSR's checkpoint holds but inference never reads (the ViT pooler). */
  readonly used: boolean;
}

export const VIT_PREFIX = 'image_tokenizer.model.';

/** Every state-dict entry the config implies, in TripoSR's module order, with its shape. */
export function expectedTensors(c: TripoSRConfig): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: readonly number[], used = true): void => {
    out.push({ name, shape, used });
  };
  const v = c.vit;
  const hv = v.hiddenSize;
  const grid = v.imageSize / v.patchSize;
  const p = VIT_PREFIX;
  add(`${p}embeddings.cls_token`, [1, 1, hv]);
  add(`${p}embeddings.position_embeddings`, [1, grid * grid + 1, hv]);
  add(`${p}embeddings.patch_embeddings.projection.weight`, [hv, v.numChannels, v.patchSize, v.patchSize]);
  add(`${p}embeddings.patch_embeddings.projection.bias`, [hv]);
  for (let i = 0; i < v.numLayers; i++) {
    const l = `${p}encoder.layer.${i}.`;
    for (const proj of ['query', 'key', 'value']) {
      add(`${l}attention.attention.${proj}.weight`, [hv, hv]);
      if (v.qkvBias) add(`${l}attention.attention.${proj}.bias`, [hv]);
    }
    add(`${l}attention.output.dense.weight`, [hv, hv]);
    add(`${l}attention.output.dense.bias`, [hv]);
    add(`${l}intermediate.dense.weight`, [v.intermediateSize, hv]);
    add(`${l}intermediate.dense.bias`, [v.intermediateSize]);
    add(`${l}output.dense.weight`, [hv, v.intermediateSize]);
    add(`${l}output.dense.bias`, [hv]);
    add(`${l}layernorm_before.weight`, [hv]);
    add(`${l}layernorm_before.bias`, [hv]);
    add(`${l}layernorm_after.weight`, [hv]);
    add(`${l}layernorm_after.bias`, [hv]);
  }
  add(`${p}layernorm.weight`, [hv]);
  add(`${p}layernorm.bias`, [hv]);
  add(`${p}pooler.dense.weight`, [hv, hv], false);
  add(`${p}pooler.dense.bias`, [hv], false);

  const ct = c.tokenizer.numChannels;
  const ps = c.tokenizer.planeSize;
  add('tokenizer.embeddings', [3, ct, ps, ps]);

  const b = c.backbone;
  const d = b.numHeads * b.headDim;
  add('backbone.norm.weight', [b.inChannels]);
  add('backbone.norm.bias', [b.inChannels]);
  add('backbone.proj_in.weight', [d, b.inChannels]);
  add('backbone.proj_in.bias', [d]);
  for (let i = 0; i < b.numLayers; i++) {
    const k = `backbone.transformer_blocks.${i}.`;
    const attention = (name: string, kvDim: number): void => {
      for (const proj of ['to_q', 'to_k', 'to_v']) {
        add(`${k}${name}.${proj}.weight`, [d, proj === 'to_q' ? d : kvDim]);
        if (b.attentionBias) add(`${k}${name}.${proj}.bias`, [d]);
      }
      add(`${k}${name}.to_out.0.weight`, [d, d]);
      add(`${k}${name}.to_out.0.bias`, [d]);
    };
    add(`${k}norm1.weight`, [d]);
    add(`${k}norm1.bias`, [d]);
    attention('attn1', d);
    if (b.crossAttentionDim !== null) {
      add(`${k}norm2.weight`, [d]);
      add(`${k}norm2.bias`, [d]);
      attention('attn2', b.crossAttentionDim);
    }
    add(`${k}norm3.weight`, [d]);
    add(`${k}norm3.bias`, [d]);
    add(`${k}ff.net.0.proj.weight`, [8 * d, d]);
    add(`${k}ff.net.0.proj.bias`, [8 * d]);
    add(`${k}ff.net.2.weight`, [d, 4 * d]);
    add(`${k}ff.net.2.bias`, [d]);
  }
  add('backbone.proj_out.weight', [b.inChannels, d]);
  add('backbone.proj_out.bias', [b.inChannels]);

  add('post_processor.upsample.weight', [c.postProcessor.inChannels, c.postProcessor.outChannels, 2, 2]);
  add('post_processor.upsample.bias', [c.postProcessor.outChannels]);

  for (const layer of decoderLayers(c)) {
    add(`${layer.prefix}.weight`, [layer.out, layer.in]);
    if (c.decoder.bias) add(`${layer.prefix}.bias`, [layer.out]);
  }
  return out;
}

/** NeRFMLP's Linear layers: nn.Sequential puts an activation after each but the last, hence indices 0, 2, 4, … */
export function decoderLayers(c: TripoSRConfig): { prefix: string; in: number; out: number }[] {
  const { inChannels, neurons, hiddenLayers } = c.decoder;
  const layers = [{ prefix: 'decoder.layers.0', in: inChannels, out: neurons }];
  for (let i = 1; i < hiddenLayers; i++) layers.push({ prefix: `decoder.layers.${2 * i}`, in: neurons, out: neurons });
  layers.push({ prefix: `decoder.layers.${2 * hiddenLayers}`, in: neurons, out: 4 });
  return layers;
}

// ---------------------------------------------------------------------------------------------------
// Checking a state dict

const FLOAT_DTYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);
const LIST_LIMIT = 8;

const shapeText = (shape: readonly number[]): string => `[${shape.join(',')}]`;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, LIST_LIMIT).join('; ');
  return items.length > LIST_LIMIT ? `${shown}; … and ${items.length - LIST_LIMIT} more` : shown;
}

/** Distinct indices N of names `prefix` N `.…`, e.g. the transformer blocks present in the weights. */
function indices(names: readonly string[], prefix: string): number[] {
  const found = new Set<number>();
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(\d+)\./.exec(n.slice(prefix.length));
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Where the weights disagree with the config's settings, in the config's words. Reads only names and
 * shapes; empty when nothing recognisable differs (the detailed lists still say what is wrong).
 */
function configMismatches(c: TripoSRConfig, byName: ReadonlyMap<string, TensorInfo>): string[] {
  const names = [...byName.keys()];
  const shape = (name: string): readonly number[] | undefined => byName.get(name)?.shape;
  const out: string[] = [];
  const differ = (setting: string, configured: number | string, inWeights: number | string | undefined): void => {
    if (inWeights !== undefined && inWeights !== configured) {
      out.push(`${setting} is ${configured} in config.yaml, the weights have ${inWeights}`);
    }
  };
  const blocks = indices(names, 'backbone.transformer_blocks.');
  if (blocks.length > 0) differ('backbone.num_layers', c.backbone.numLayers, blocks[blocks.length - 1]! + 1);
  const vitLayers = indices(names, `${VIT_PREFIX}encoder.layer.`);
  if (vitLayers.length > 0) differ('the ViT depth (num_hidden_layers)', c.vit.numLayers, vitLayers[vitLayers.length - 1]! + 1);
  differ('the ViT width (hidden_size)', c.vit.hiddenSize, shape(`${VIT_PREFIX}embeddings.cls_token`)?.[2]);
  differ('the ViT intermediate_size', c.vit.intermediateSize, shape(`${VIT_PREFIX}encoder.layer.0.intermediate.dense.weight`)?.[0]);
  differ('the ViT patch_size', c.vit.patchSize, shape(`${VIT_PREFIX}embeddings.patch_embeddings.projection.weight`)?.[3]);
  const emb = shape('tokenizer.embeddings');
  differ('tokenizer.num_channels', c.tokenizer.numChannels, emb?.[1]);
  differ('tokenizer.plane_size', c.tokenizer.planeSize, emb?.[2]);
  differ(
    'backbone.num_attention_heads × attention_head_dim',
    c.backbone.numHeads * c.backbone.headDim,
    shape('backbone.proj_in.weight')?.[0],
  );
  const crossK = shape('backbone.transformer_blocks.0.attn2.to_k.weight')?.[1];
  if (c.backbone.crossAttentionDim === null && crossK !== undefined) out.push('config.yaml has no backbone.cross_attention_dim, the weights have cross-attention');
  else if (c.backbone.crossAttentionDim !== null) differ('backbone.cross_attention_dim', c.backbone.crossAttentionDim, crossK);
  differ('post_processor.out_channels', c.postProcessor.outChannels, shape('post_processor.upsample.weight')?.[1]);
  const decoder = indices(names, 'decoder.layers.');
  if (decoder.length > 0) differ('decoder.n_hidden_layers', c.decoder.hiddenLayers, decoder.length - 1);
  differ('decoder.n_neurons', c.decoder.neurons, shape('decoder.layers.0.weight')?.[0]);
  differ('decoder.in_channels', c.decoder.inChannels, shape('decoder.layers.0.weight')?.[1]);
  return out;
}

/**
 * Checks a state dict against the config: every tensor present with the implied shape and a float
 * dtype, nothing else besides. Throws one 'model-invalid' UserError that says what is missing,
 * unexpected or misshapen, and, where the pattern shows it, which config setting disagrees.
 */
export function checkStateDict(c: TripoSRConfig, tensors: readonly TensorInfo[]): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const expected = expectedTensors(c);
  const expectedNames = new Set(expected.map((e) => e.name));
  const missing: string[] = [];
  const misshapen: string[] = [];
  const wrongType: string[] = [];
  for (const e of expected) {
    const found = byName.get(e.name);
    if (found === undefined) {
      if (e.used) missing.push(e.name);
      continue;
    }
    if (found.shape.length !== e.shape.length || found.shape.some((d, i) => d !== e.shape[i])) {
      if (e.used) misshapen.push(`${e.name} has shape ${shapeText(found.shape)}, the config implies ${shapeText(e.shape)}`);
    } else if (e.used && !FLOAT_DTYPES.has(found.dtype)) {
      wrongType.push(`${e.name} is ${found.dtype}`);
    }
  }
  const unexpected = tensors.filter((t) => !expectedNames.has(t.name)).map((t) => t.name);
  if (missing.length + misshapen.length + wrongType.length + unexpected.length === 0) return;

  const parts: string[] = [];
  const mismatch = configMismatches(c, byName);
  if (mismatch.length > 0) parts.push(`config.yaml does not match the weights: ${mismatch.join('; ')}.`);
  if (missing.length > 0) parts.push(`Missing (${missing.length}): ${listed(missing)}.`);
  if (unexpected.length > 0) parts.push(`Unexpected (${unexpected.length}): ${listed(unexpected)}.`);
  if (misshapen.length > 0) parts.push(`Misshapen (${misshapen.length}): ${listed(misshapen)}.`);
  if (wrongType.length > 0) parts.push(`Not floating point (${wrongType.length}): ${listed(wrongType)}.`);
  throw new UserError(
    `The checkpoint does not fit its config. ${parts.join(' ')}`,
    mismatch.length > 0
      ? 'Use the config.yaml that belongs to this checkpoint.'
      : 'Use the official TripoSR model.ckpt with its config.yaml; this file is damaged or from a different model.',
    'model-invalid',
  );
}
