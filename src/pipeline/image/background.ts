/**
 * The background stage: decides whether a photo's background must be removed, runs a segmentation
 * network of rembg's family on it, and hands the framing stage an RGBA image whose alpha marks the
 * object, as TripoSR's run.py does with rembg before `resize_foreground`.
 *
 * The networks run through onnxruntime-node like TripoSR itself; their pre- and post-processing
 * (segmentation.ts) reproduce rembg's, and the cutout (frame.ts) rembg's naive_cutout, so the pixels
 * the encoder sees are the ones TripoSR's own script would feed it.
 */
import { stat } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from '../network/ort.js';
import { UserError } from '../errors.js';
import { firstLine, probe, providerList, quietOrt } from '../network/providers.js';
import type { LogSink } from '../log.js';
import { float16Value, toFloat16 } from '../network/onnx/float16.js';
import { throwIfAborted } from '../progress.js';
import type { DecodedImage } from './decode.js';
import type { BackgroundMode } from './backgroundOptions.js';
import { naiveCutout } from './frame.js';
import {
  SEGMENTATION_RECIPES,
  segmentationInput,
  segmentationMask,
  type SegmentationMask,
  type SegmentationNetwork,
  type SegmentationRecipe,
} from './segmentation.js';


/**
 * A network's answer counts as "found something" only where its probability reaches one half. rembg
 * stretches any output to 0..255 by min–max, so a network that saw nothing would still hand back a
 * speckled mask; the raw peak tells the two apart.
 */
const FOUND_PROBABILITY = 0.5;
/** Mask values at or above this are the object, for the empty and whole-frame checks (as 0.5 would be). */
const MASK_OBJECT_LEVEL = 128;
/** A mask with this share of the frame or more as object left no background to remove. */
const WHOLE_FRAME_SHARE = 0.98;

export function needsBackgroundRemoval(image: DecodedImage, mode: BackgroundMode): boolean {
  if (mode === 'keep') return false;
  if (mode === 'remove') return true;
  return !image.hasTransparency;
}

export interface Segmenter {
  readonly network: SegmentationNetwork;
  /** The execution provider the network runs on. */
  readonly provider: string;
  /** The foreground mask at the image's size, as rembg computes it. */
  segment(image: DecodedImage, signal?: AbortSignal): Promise<SegmentationMask>;
  dispose(): Promise<void>;
}

export interface SegmenterOptions {
  /** Providers to try in order ('cpu' is appended when absent), or 'auto' for the platform's list. */
  readonly executionProviders: readonly string[] | 'auto';
  /** Which provider it runs on, and why others did not, is detail ('debug'): TripoSR's load already said it. */
  readonly log?: LogSink;
  readonly intraOpThreads?: number;
}

/** Opens `file` as a network of `network`'s recipe, on the first provider that starts, checking its interface. */
export async function loadSegmenter(file: string, network: SegmentationNetwork, options: SegmenterOptions): Promise<Segmenter> {
  const recipe = SEGMENTATION_RECIPES[network];
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new UserError(
      `The background-removal network ${file} does not exist or is not a file.`,
      ['Check the path you gave for the background model (', { option: 'backgroundModelPath' }, '), or remove it to download the network on first use.'],
      'model-missing',
    );
  }
  quietOrt();
  const log = options.log ?? ((): void => undefined);
  for (const provider of providerList(options.executionProviders)) {
    const unavailable = await probe(provider);
    if (unavailable !== '') {
      log(`Execution provider ${provider} is unavailable: ${unavailable}`, 'debug');
      continue;
    }
    let session: ort.InferenceSession;
    try {
      session = await onnxRuntime().InferenceSession.create(file, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
      });
    } catch (err) {
      if (provider !== 'cpu') {
        log(`${provider} could not load ${file}: ${firstLine(err)}; trying the next provider.`, 'debug');
        continue;
      }
      throw new UserError(
        `The background-removal network ${file} is not an ONNX model this runtime can load (${firstLine(err)}).`,
        [`Use one of rembg's ONNX files for ${network} (for example ${network}.onnx) as `, { option: 'backgroundModelPath' }, ', or remove it to download the network.'],
        'model-invalid',
      );
    }
    try {
      const io = checkInterface(session, recipe, network, file);
      log(`Loaded the ${network} background-removal network from ${file} on ${provider}.`, 'debug');
      return new OrtSegmenter(network, provider, recipe, session, io);
    } catch (err) {
      await session.release();
      throw err;
    }
  }
  throw new Error('onnxruntime could not create a session on any execution provider, including cpu.');
}

interface SegmenterIo {
  readonly input: string;
  readonly output: string;
  /** rembg feeds float32; some exports take or give half precision, converted at the boundary. */
  readonly inputType: 'float32' | 'float16';
}

/** rembg feeds the first input and reads the first output, whatever their names: so do we, after checking their shapes. */
function checkInterface(session: ort.InferenceSession, recipe: SegmentationRecipe, network: SegmentationNetwork, file: string): SegmenterIo {
  const expected = `[1,3,${recipe.inputHeight},${recipe.inputWidth}]`;
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  const problems: string[] = [];
  if (!input || !input.isTensor) {
    problems.push('it has no tensor input');
  } else {
    if (input.type !== 'float32' && input.type !== 'float16') problems.push(`its input '${input.name}' is ${input.type}, not float32`);
    if (!shapeFits(input.shape, [1, 3, recipe.inputHeight, recipe.inputWidth])) {
      problems.push(`its input '${input.name}' has shape [${input.shape.join(',')}], not ${expected}`);
    }
  }
  if (!output || !output.isTensor) {
    problems.push('it has no tensor output');
  } else {
    if (output.type !== 'float32' && output.type !== 'float16') problems.push(`its output '${output.name}' is ${output.type}, not float32`);
    // rembg reads channel 0 of a [1,C,H,W] map at the input's size.
    if (!shapeFits(output.shape, [1, undefined, recipe.inputHeight, recipe.inputWidth])) {
      problems.push(`its first output '${output.name}' has shape [${output.shape.join(',')}], not [1,1,${recipe.inputHeight},${recipe.inputWidth}]`);
    }
  }
  if (problems.length > 0 || !input || !output) {
    throw new UserError(
      `${file} does not fit the ${network} background-removal network: ${problems.join('; ')}.`,
      [
        `${network} takes one image ${expected} and gives a mask [1,1,${recipe.inputHeight},${recipe.inputWidth}]. Choose the network that matches the file (`,
        { option: 'backgroundNetwork' },
        '), or another file.',
      ],
      'model-invalid',
    );
  }
  return { input: input.name, output: output.name, inputType: input.isTensor && input.type === 'float16' ? 'float16' : 'float32' };
}

/** Static dimensions must match; symbolic or unknown ones (strings, negative) and `undefined` expectations pass. */
function shapeFits(found: readonly (number | string)[], expected: readonly (number | undefined)[]): boolean {
  if (found.length !== expected.length) return false;
  return expected.every((want, i) => {
    const dim = found[i];
    return want === undefined || typeof dim !== 'number' || dim < 0 || dim === want;
  });
}

class OrtSegmenter implements Segmenter {
  private disposed = false;

  constructor(
    readonly network: SegmentationNetwork,
    readonly provider: string,
    private readonly recipe: SegmentationRecipe,
    private readonly session: ort.InferenceSession,
    private readonly io: SegmenterIo,
  ) {}

  async segment(image: DecodedImage, signal?: AbortSignal): Promise<SegmentationMask> {
    if (this.disposed) throw new Error('The segmentation network has been disposed.');
    const { inputWidth: w, inputHeight: h } = this.recipe;
    const input = segmentationInput(image, this.recipe);
    throwIfAborted(signal);
    const tensor =
      this.io.inputType === 'float16' ? new (onnxRuntime().Tensor)('float16', toFloat16(input), [1, 3, h, w]) : new (onnxRuntime().Tensor)('float32', input, [1, 3, h, w]);
    // Only the mask: rembg's exports also return side outputs and feature maps (IS-Net: 12 tensors,
    // about 115 MB) that nothing reads.
    const result = await this.session.run({ [this.io.input]: tensor }, [this.io.output]);
    throwIfAborted(signal);
    const value = result[this.io.output];
    const output = value ? asFloat32(value) : undefined;
    if (!output || output.length < w * h) {
      throw new Error(`The segmentation network's output '${this.io.output}' holds ${output?.length ?? 0} values, fewer than ${w}×${h}.`);
    }
    return segmentationMask(output, w, h, this.recipe, image.width, image.height);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

function asFloat32(value: ort.Tensor): Float32Array | undefined {
  if (value.type === 'float32' && value.data instanceof Float32Array) return value.data;
  if (value.type === 'float16' && value.data instanceof Uint16Array) {
    const bits = value.data;
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = float16Value(bits[i]!);
    return out;
  }
  return undefined;
}

/** The image the framing stage takes, and what the network found. */
export interface IsolatedObject {
  /** RGBA whose alpha marks the object: the image itself, or rembg's cutout of it. */
  readonly image: DecodedImage;
  /** The object's mask at the image's size (alpha, or the network's mask). */
  readonly mask: Uint8Array;
  /** The network that removed the background; undefined when the image's own alpha (or all of it) was used. */
  readonly removedWith?: SegmentationNetwork;
  /** Share of the frame the object covers (mask ≥ ½). */
  readonly coverage: number;
}

/**
 * The object of `image` for TripoSR: with `segmenter`, rembg's mask and cutout (RGB multiplied by the
 * mask, alpha = mask); without, the image as it is, its alpha (or full opacity) as the mask.
 */
export async function isolateObject(image: DecodedImage, segmenter: Segmenter | undefined, signal?: AbortSignal): Promise<IsolatedObject> {
  if (!segmenter) {
    const mask = alphaOf(image);
    return { image, mask, coverage: objectShare(mask) };
  }
  const found = await segmenter.segment(image, signal);
  const coverage = objectShare(found.mask);
  if (!(found.peak >= FOUND_PROBABILITY) || !(found.peak > found.floor) || coverage === 0) {
    const why = !(found.peak > found.floor)
      ? ' (its answer was the same everywhere)'
      : found.peak < FOUND_PROBABILITY
        ? ` (its highest confidence was ${(100 * Math.max(0, found.peak)).toFixed(0)}%)`
        : '';
    throw new UserError(
      `The background remover (${segmenter.network}) found no object in the image${why}.`,
      [
        'Use a photo where the object stands out from its background and fills a good part of the frame, try another background network (',
        { option: 'backgroundNetwork' },
        '), or keep the background (',
        { option: 'background', value: 'keep' },
        ') if the whole picture is the object.',
      ],
      'image-empty',
    );
  }
  if (coverage >= WHOLE_FRAME_SHARE) {
    throw new UserError(
      `The background remover (${segmenter.network}) took the whole picture as the object (${(100 * coverage).toFixed(1)}% of it), so there is no background to remove.`,
      [
        'Use a photo with some background around the object, or keep the background (',
        { option: 'background', value: 'keep' },
        ') if the whole picture really is the object.',
      ],
      'image-empty',
    );
  }
  const rgba = naiveCutout(image.rgba, found.mask, image.width, image.height);
  return {
    image: { width: image.width, height: image.height, rgba, hasTransparency: true },
    mask: found.mask,
    removedWith: segmenter.network,
    coverage,
  };
}

function alphaOf(image: DecodedImage): Uint8Array {
  const mask = new Uint8Array(image.width * image.height);
  for (let i = 0, p = 3; i < mask.length; i++, p += 4) mask[i] = image.rgba[p]!;
  return mask;
}

function objectShare(mask: Uint8Array): number {
  let inside = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]! >= MASK_OBJECT_LEVEL) inside++;
  return mask.length === 0 ? 0 : inside / mask.length;
}
