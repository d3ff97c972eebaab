/**
 * Checkpoint → ONNX: TripoSR's config.yaml + state dict become encoder.onnx (+ encoder.onnx.data) and
 * decoder.onnx in `outDir`, ready for the pipeline's loader.
 *
 * The files are written into a fresh folder beside `outDir` and renamed into place only when all of
 * them are complete, so a cancelled or failed conversion never leaves anything under the final name
 * (nor half-replaces an earlier conversion there). Weights stream from the checkpoint one tensor at a
 * time into the external data file, so memory stays near the largest tensor, not the model.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { StateDictSource } from '../checkpoint/stateDict.js';
import type { GraphBuilder } from '../onnx/graphBuilder.js';
import { CancelledError, throwIfAborted } from '../../progress.js';
import { checkStateDict, parseConfig, type TripoSRConfig } from './config.js';
import { recordFiles, type ConvertedFile } from './convertedFiles.js';
import { buildDecoderGraph } from './decoderGraph.js';
import { buildEncoderGraph, MS_DOMAIN } from './encoderGraph.js';
import type { Precision } from './weights.js';

export type { Precision } from './weights.js';

/**
 * Bump whenever the graphs this module writes change in any way (ops, layout, numerics): callers key
 * their conversion cache on it, with the checkpoint's hash, the config and the precision
 * (conversionCache.ts).
 */
export const BUILDER_VERSION = 1;

export const ENCODER_FILE = 'encoder.onnx';
export const ENCODER_DATA_FILE = 'encoder.onnx.data';
export const DECODER_FILE = 'decoder.onnx';
export const MANIFEST_FILE = 'model.json';

/** Default-domain opset: LayerNormalization needs 17, GridSample 16. */
const OPSET = 17;
/**
 * Weights go to the data file at 64 KiB offsets: ONNX Runtime maps external data instead of copying it
 * when offsets are multiples of the allocation granularity (4 KiB on Linux and macOS, 64 KiB on Windows).
 * Tensors under 64 KiB (norms, biases) stay inline, which keeps the padding small.
 */
const EXTERNAL_ALIGNMENT = 65536;

export interface ConversionProgress {
  readonly phase: 'encoder' | 'decoder';
  /** The initializer just written (graph names; checkpoint names where a tensor is used as is). */
  readonly tensor: string;
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  /** Bytes of weights written so far, over both files, against the total the conversion will write. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface ConvertOptions {
  readonly source: StateDictSource;
  /** config.yaml's text, as it came with the checkpoint. */
  readonly configText: string;
  /** The folder to create (or replace) with encoder.onnx, encoder.onnx.data, decoder.onnx and model.json. */
  readonly outDir: string;
  readonly precision?: Precision;
  /** What the caller's cache keys this conversion on; recorded in model.json so the cache can check it. */
  readonly convertedFrom?: ConversionSource;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ConversionProgress) => void;
}

/** Everything that shapes the converted graphs (conversionCache.ts computes it). */
export interface ConversionSource {
  readonly checkpointSha256: string;
  /** SHA-256 of the config as parsed and normalised, so only edits that change the graphs count. */
  readonly configSha256: string;
  readonly builderVersion: number;
  readonly precision: Precision;
}

export interface ConversionResult {
  readonly encoderPath: string;
  readonly decoderPath: string;
}

/** What model.json records about a converted model (the loader reads `kind`). */
export interface ConvertedManifest {
  readonly kind: 'triposr';
  readonly contract: 1;
  readonly builderVersion: number;
  readonly precision: Precision;
  readonly description: string;
  /** Present when the caller gave it: what the conversion was made from. */
  readonly convertedFrom?: ConversionSource;
  /** The folder's files as written: checked before each use, so a damaged folder is converted again. */
  readonly files: readonly ConvertedFile[];
}

function modelOptions(config: TripoSRConfig, precision: Precision, part: string) {
  return {
    opset: OPSET,
    producer: 'image-to-3d triposr converter',
    producerVersion: String(BUILDER_VERSION),
    extraOpsets: [{ domain: MS_DOMAIN, version: 1 }],
    docString: `TripoSR ${part}, converted from config.yaml + model.ckpt (${precision}).`,
    metadata: {
      builder_version: String(BUILDER_VERSION),
      precision,
      vit_layers: String(config.vit.numLayers),
      backbone_layers: String(config.backbone.numLayers),
    },
  };
}

/**
 * Validates config and weights, writes both graphs, and renames the result into `outDir`. Throws a
 * 'model-invalid' UserError for a config or state dict that does not fit, CancelledError when `signal`
 * aborts; either way nothing is left behind.
 */
export async function convertCheckpoint(options: ConvertOptions): Promise<ConversionResult> {
  const { source, signal, onProgress } = options;
  const precision = options.precision ?? 'fp32';
  throwIfAborted(signal);
  const config = parseConfig(options.configText);
  checkStateDict(config, source.tensors());

  const encoder = buildEncoderGraph(config, source, precision);
  const decoder = buildDecoderGraph(config, source);
  const parts: { phase: 'encoder' | 'decoder'; graph: GraphBuilder }[] = [
    { phase: 'encoder', graph: encoder },
    { phase: 'decoder', graph: decoder },
  ];
  const tensorsTotal = encoder.initializerCount + decoder.initializerCount;
  const bytesTotal = encoder.initializerBytes + decoder.initializerBytes;
  let tensorsDone = 0;
  let bytesDone = 0;

  const outDir = resolve(options.outDir);
  const parent = dirname(outDir);
  await mkdir(parent, { recursive: true });
  // mkdir rather than mkdtemp: the folder becomes the model folder, so it should get the usual
  // permissions (mkdtemp makes it private to the user).
  const staging = join(parent, `.${basename(outDir)}.converting-${randomUUID()}`);
  await mkdir(staging);
  try {
    for (const { phase, graph } of parts) {
      const file = phase === 'encoder' ? ENCODER_FILE : DECODER_FILE;
      await graph.writeModel(join(staging, file), {
        ...modelOptions(config, precision, phase),
        ...(phase === 'encoder'
          ? { externalData: { location: ENCODER_DATA_FILE, minBytes: EXTERNAL_ALIGNMENT, alignment: EXTERNAL_ALIGNMENT } }
          : {}),
        ...(signal ? { signal } : {}),
        onTensor: ({ name, bytes }) => {
          tensorsDone++;
          bytesDone += bytes;
          onProgress?.({ phase, tensor: name, tensorsDone, tensorsTotal, bytesDone, bytesTotal });
        },
      });
      throwIfAborted(signal);
    }
    const manifest: ConvertedManifest = {
      kind: 'triposr',
      contract: 1,
      builderVersion: BUILDER_VERSION,
      precision,
      description: `TripoSR converted from its PyTorch checkpoint (${precision} encoder weights).`,
      ...(options.convertedFrom ? { convertedFrom: options.convertedFrom } : {}),
      // The data file exists only when some tensor was large enough to go there.
      files: await recordFiles(staging, await presentFiles(staging, [ENCODER_FILE, ENCODER_DATA_FILE, DECODER_FILE]), signal),
    };
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    throwIfAborted(signal);
    await replaceDir(staging, outDir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (signal?.aborted && !(e instanceof CancelledError)) throw new CancelledError();
    throw e;
  }
  return { encoderPath: join(outDir, ENCODER_FILE), decoderPath: join(outDir, DECODER_FILE) };
}

async function presentFiles(dir: string, names: readonly string[]): Promise<string[]> {
  const present: string[] = [];
  for (const name of names) if (await stat(join(dir, name)).then((s) => s.isFile(), () => false)) present.push(name);
  return present;
}

/**
 * Puts `staging` at `target`. An existing target is first moved aside and removed only after the new
 * folder is in place; if that swap fails the old one is put back.
 */
async function replaceDir(staging: string, target: string): Promise<void> {
  try {
    await rename(staging, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR') throw e;
  }
  const aside = `${staging}.previous`;
  await rename(target, aside);
  try {
    await rename(staging, target);
  } catch (e) {
    await rename(aside, target).catch(() => undefined);
    throw e;
  }
  await rm(aside, { recursive: true, force: true });
}
