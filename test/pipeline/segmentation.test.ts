/**
 * Pillow's 8-bit resampling and rembg's pre/post-processing against the real thing: every case is
 * also run through test/reference/rembg_reference.py (Pillow + numpy following rembg's sessions line
 * by line), in one Python process, and the bytes must agree.
 *
 *   node --import tsx --test test/pipeline/segmentation.test.ts
 *
 * Needs Debian's /usr/bin/python3 with python3-pil and python3-numpy.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { DecodedImage } from '../../src/pipeline/image/decode.js';
import { pilResize, pilResizeRgbOfRgba, type PilFilter } from '../../src/pipeline/image/pilResample.js';
import {
  rembgSigmoid,
  SEGMENTATION_NETWORKS,
  SEGMENTATION_RECIPES,
  segmentationInput,
  segmentationMask,
  type SegmentationNetwork,
} from '../../src/pipeline/image/segmentation.js';
import { mulberry32 } from '../fixtures/numeric.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const REFERENCE = join(__dirname, '..', 'reference', 'rembg_reference.py');

// ---------------------------------------------------------------------------------------------------
// Images: packed 8-bit pixels with 1 (L), 3 (RGB) or 4 (RGBA) channels, written as PNG for Pillow.

interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, tail]);
}

/** A minimal PNG writer, so Pillow reads exactly these bytes (colour under transparent pixels included). */
function encodePng(image: Pixels): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header[8] = 8;
  header[9] = { 1: 0, 3: 2, 4: 6 }[image.channels];
  const stride = image.width * image.channels;
  const raw = Buffer.alloc((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) raw.set(image.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 1 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function makePixels(width: number, height: number, channels: 1 | 3 | 4, value: (x: number, y: number, c: number) => number): Pixels {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0, i = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++, i++) data[i] = value(x, y, c);
  return { width, height, channels, data };
}

/** Uniform noise: the worst case for the filters' negative lobes and the 8-bit clipping. */
function noise(seed: number, width: number, height: number, channels: 1 | 3 | 4): Pixels {
  const rnd = mulberry32(seed);
  return makePixels(width, height, channels, () => Math.floor(rnd() * 256));
}

/** Smooth shading, hard edges and some grain: photo-like, with a brightest byte below 255 when `top` < 255. */
function scene(seed: number, width: number, height: number, channels: 1 | 3 | 4, top = 255): Pixels {
  const rnd = mulberry32(seed);
  const cx = width * (0.3 + 0.4 * rnd());
  const cy = height * (0.3 + 0.4 * rnd());
  const r = Math.min(width, height) * 0.3 + 1;
  return makePixels(width, height, channels, (x, y, c) => {
    const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
    const shade = inside ? 0.85 - 0.3 * c * (x / width) : 0.15 + 0.5 * (y / height) + 0.1 * c;
    const stripe = (x >> 3) % 7 === 0 ? 0.2 : 0;
    return Math.max(0, Math.min(top, Math.round((shade + stripe + (rnd() - 0.5) * 0.1) * top)));
  });
}

/** An RGBA image whose transparent pixels hold random colours: rembg drops alpha, it does not composite. */
function cutout(seed: number, width: number, height: number): Pixels {
  const base = scene(seed, width, height, 4);
  const rnd = mulberry32(seed + 1);
  const data = base.data.slice();
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    if (x < width / 3) {
      data[i * 4] = Math.floor(rnd() * 256);
      data[i * 4 + 1] = Math.floor(rnd() * 256);
      data[i * 4 + 2] = Math.floor(rnd() * 256);
      data[i * 4 + 3] = 0;
    } else if (x < width / 2) {
      data[i * 4 + 3] = 128;
    }
  }
  return { ...base, data };
}

/** The decoder's view of an image: RGBA, grey replicated, opaque where the PNG has no alpha. */
function decoded(image: Pixels): DecodedImage {
  const rgba = new Uint8Array(image.width * image.height * 4);
  let translucent = false;
  for (let i = 0; i < image.width * image.height; i++) {
    const s = i * image.channels;
    if (image.channels === 1) rgba.set([image.data[s]!, image.data[s]!, image.data[s]!, 255], i * 4);
    else if (image.channels === 3) rgba.set([image.data[s]!, image.data[s + 1]!, image.data[s + 2]!, 255], i * 4);
    else {
      rgba.set(image.data.subarray(s, s + 4), i * 4);
      if (image.data[s + 3] !== 255) translucent = true;
    }
  }
  return { width: image.width, height: image.height, rgba, hasTransparency: translucent };
}

// ---------------------------------------------------------------------------------------------------
// Network outputs: [1, C, H, W] float32 as onnxruntime returns them.

interface NetworkOutput {
  readonly channels: number;
  readonly width: number;
  readonly height: number;
  readonly values: Float32Array;
}

/** A soft object in the middle: probabilities in [0, 1] (or logits around 0 when `logits` is set), plus grain. */
function objectMap(seed: number, width: number, height: number, channels: number, logitScale = 0): NetworkOutput {
  const rnd = mulberry32(seed);
  const values = new Float32Array(channels * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot((x - width * 0.5) / (width * 0.3), (y - height * 0.55) / (height * 0.35));
      const p = 1 / (1 + Math.exp((d - 1) * 12)) * 0.97 + 0.01 + rnd() * 0.02;
      values[y * width + x] = logitScale > 0 ? (p - 0.5) * logitScale + (rnd() - 0.5) : p;
    }
  }
  // Other channels hold something else entirely, so reading the wrong one shows.
  for (let i = width * height; i < values.length; i++) values[i] = 5 - rnd() * 10;
  return { channels, width, height, values };
}

function constantMap(width: number, height: number, value: number): NetworkOutput {
  return { channels: 1, width, height, values: new Float32Array(width * height).fill(value) };
}

/** Logits far past the sigmoid's saturation on both sides (exp overflows to inf in float32), and in between. */
function saturatedMap(seed: number, width: number, height: number): NetworkOutput {
  const rnd = mulberry32(seed);
  const values = new Float32Array(width * height);
  for (let i = 0; i < values.length; i++) {
    const x = i % width;
    values[i] = x < width / 3 ? -120 + rnd() * 30 : x < (2 * width) / 3 ? (rnd() - 0.5) * 60 : 95 + rnd() * 30;
  }
  return { channels: 1, width, height, values };
}

// ---------------------------------------------------------------------------------------------------
// The cases, built up front and run through the reference in one process.

interface ResizeCase {
  readonly name: string;
  readonly image: Pixels;
  readonly outWidth: number;
  readonly outHeight: number;
  readonly filter: PilFilter;
}

const RESIZE_CASES: readonly ResizeCase[] = [
  // photo → u2net / IS-Net input sizes
  { name: 'RGB 1203×907 → 320² (down)', image: scene(1, 1203, 907, 3), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: 'RGB 1203×907 → 1024² (down x, up y)', image: scene(1, 1203, 907, 3), outWidth: 1024, outHeight: 1024, filter: 'lanczos' },
  { name: 'RGB noise 641×479 → 320²', image: noise(2, 641, 479, 3), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: 'RGB noise 97×61 → 320² (up)', image: noise(3, 97, 61, 3), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: 'RGB primes 211×199 → 1024²', image: noise(4, 211, 199, 3), outWidth: 1024, outHeight: 1024, filter: 'lanczos' },
  { name: 'RGB very wide 2003×11 → 320²', image: scene(5, 2003, 11, 3), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: 'RGB very tall 13×1009 → 320²', image: noise(6, 13, 1009, 3), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: 'RGB 1×1 → 320²', image: noise(7, 1, 1, 3), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: 'RGB 2×3 → 7×5', image: noise(8, 2, 3, 3), outWidth: 7, outHeight: 5, filter: 'lanczos' },
  { name: 'RGB width only 333×200 → 101×200', image: noise(9, 333, 200, 3), outWidth: 101, outHeight: 200, filter: 'lanczos' },
  { name: 'RGB height only 200×333 → 200×101', image: noise(10, 200, 333, 3), outWidth: 200, outHeight: 101, filter: 'lanczos' },
  { name: 'RGB same size 50×40', image: noise(11, 50, 40, 3), outWidth: 50, outHeight: 40, filter: 'lanczos' },
  // mask (L) → photo sizes
  { name: 'L 320² → 1203×907 (up)', image: noise(12, 320, 320, 1), outWidth: 1203, outHeight: 907, filter: 'lanczos' },
  { name: 'L 320² → 97×61 (down)', image: scene(13, 320, 320, 1), outWidth: 97, outHeight: 61, filter: 'lanczos' },
  { name: 'L 1024² → 2003×11', image: noise(14, 1024, 1024, 1), outWidth: 2003, outHeight: 11, filter: 'lanczos' },
  { name: 'L 1024² → 13×1009', image: noise(15, 1024, 1024, 1), outWidth: 13, outHeight: 1009, filter: 'lanczos' },
  { name: 'L 320² → 1×1', image: noise(16, 320, 320, 1), outWidth: 1, outHeight: 1, filter: 'lanczos' },
  { name: 'L stripes 0/255 31×29 → 311×7 (clipping)', image: makePixels(31, 29, 1, (x, y) => ((x + y) % 2 ? 255 : 0)), outWidth: 311, outHeight: 7, filter: 'lanczos' },
  { name: 'L odd 319×321 → 320×320', image: noise(17, 319, 321, 1), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  // the bilinear kernel
  { name: 'RGB bilinear 641×479 → 320²', image: noise(18, 641, 479, 3), outWidth: 320, outHeight: 320, filter: 'bilinear' },
  { name: 'L bilinear 37×23 → 512×3', image: noise(19, 37, 23, 1), outWidth: 512, outHeight: 3, filter: 'bilinear' },
  { name: 'RGB bilinear 5×1 → 1×9', image: noise(20, 5, 1, 3), outWidth: 1, outHeight: 9, filter: 'bilinear' },
  // RGBA converted to RGB on the way (alpha dropped), as rembg's normalize does
  { name: "RGBA 333×251 → convert('RGB') → 320²", image: cutout(27, 333, 251), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: "RGBA 320×97 → convert('RGB') → 320² (height only)", image: cutout(28, 320, 97), outWidth: 320, outHeight: 320, filter: 'lanczos' },
  { name: "RGBA 40×30 → convert('RGB') → 40×30 (same size)", image: cutout(29, 40, 30), outWidth: 40, outHeight: 30, filter: 'lanczos' },
];

interface NormalizeCase {
  readonly name: string;
  readonly image: Pixels;
}

const NORMALIZE_IMAGES: readonly NormalizeCase[] = [
  { name: 'RGB 1203×907', image: scene(21, 1203, 907, 3) },
  { name: 'RGBA 97×61 with transparent pixels', image: cutout(22, 97, 61) },
  { name: 'dark RGB 13×1009 (max 97)', image: scene(23, 13, 1009, 3, 97) },
  { name: 'L 2003×11', image: scene(24, 2003, 11, 1) },
  { name: 'all-black RGB 64×48', image: makePixels(64, 48, 3, () => 0) },
  { name: 'RGB noise 320²', image: noise(25, 320, 320, 3) },
  { name: 'RGB primes 211×199', image: noise(26, 211, 199, 3) },
  { name: 'RGBA 320×211 (u2net: height only)', image: cutout(31, 320, 211) },
  { name: 'RGB 1×1', image: makePixels(1, 1, 3, (_x, _y, c) => 40 + 50 * c) },
];

interface PredictCase {
  readonly name: string;
  readonly network: SegmentationNetwork;
  readonly width: number;
  readonly height: number;
  readonly output: NetworkOutput;
}

function predictCases(): PredictCase[] {
  const cases: PredictCase[] = [];
  let seed = 100;
  for (const network of SEGMENTATION_NETWORKS) {
    const recipe = SEGMENTATION_RECIPES[network];
    const w = recipe.inputWidth;
    const h = recipe.inputHeight;
    const logits = recipe.activation === 'sigmoid' ? 16 : 0;
    for (const [width, height] of [[1203, 907], [97, 61], [13, 1009], [2003, 11], [w, h]] as const) {
      cases.push({ name: `${network} → ${width}×${height}`, network, width, height, output: objectMap(seed++, w, h, 1, logits) });
    }
    cases.push({ name: `${network} two output channels → 320×240`, network, width: 320, height: 240, output: objectMap(seed++, w, h, 2, logits) });
    cases.push({ name: `${network} constant output → 211×199`, network, width: 211, height: 199, output: constantMap(w, h, 0.375) });
  }
  // The photo size the stage meets in practice, for the 320² and the sigmoid network.
  cases.push({ name: 'u2net → 4000×3000', network: 'u2net', width: 4000, height: 3000, output: objectMap(seed++, 320, 320, 1) });
  cases.push({ name: 'birefnet-general-lite saturated logits → 500×400', network: 'birefnet-general-lite', width: 500, height: 400, output: saturatedMap(seed++, 1024, 1024) });
  return cases;
}

const PREDICT_CASES = predictCases();

/**
 * Float32 values for the sigmoid on its own: a wide normal spread, the saturation region, a dense grid,
 * and the inputs where x·log2(e) falls within a few ulp of n + ½, where numpy's exp picks its
 * reduction quadrant by a fused multiply-add.
 */
function sigmoidInputs(): Float32Array {
  const rnd = mulberry32(999);
  const values: number[] = [];
  for (let i = 0; i < 500_000; i++) values.push((rnd() + rnd() + rnd() - 1.5) * 20);
  for (let i = 0; i < 200_000; i++) values.push((rnd() - 0.5) * 260);
  for (let i = 0; i < 800_000; i++) values.push(-40 + i / 10_000);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  for (let n = -150; n <= 150; n++) {
    asFloat[0] = (n + 0.5) / Math.LOG2E;
    const centre = bits[0]!;
    for (let d = -8; d <= 8; d++) {
      bits[0] = centre + d;
      values.push(-asFloat[0]!);
    }
  }
  return Float32Array.from(values);
}

const SIGMOID_INPUTS = sigmoidInputs();

// ---------------------------------------------------------------------------------------------------

let dir = '';

function readF32(bytes: Buffer): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** "n of m bytes differ, first at i: got a, want b", or '' when identical. */
function byteDifference(got: Uint8Array, want: Uint8Array): string {
  if (got.length !== want.length) return `lengths differ: ${got.length} vs ${want.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count === 0 ? '' : `${count} of ${got.length} bytes differ, first at ${first}: got ${got[first]}, want ${want[first]}`;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'i3d-rembg-'));
  const jobs: object[] = [];
  const writes: Promise<void>[] = [];
  const png = (name: string, image: Pixels): string => {
    const file = join(dir, `${name}.png`);
    writes.push(writeFile(file, encodePng(image)));
    return file;
  };
  RESIZE_CASES.forEach((c, i) => {
    jobs.push({
      op: 'resize', image: png(`resize${i}`, c.image), size: [c.outWidth, c.outHeight], filter: c.filter, out: join(dir, `resize${i}.raw`),
      ...(c.image.channels === 4 ? { convert: 'RGB' } : {}),
    });
  });
  NORMALIZE_IMAGES.forEach((c, i) => {
    const image = png(`normalize${i}`, c.image);
    for (const network of SEGMENTATION_NETWORKS) {
      jobs.push({ op: 'normalize', network, image, out: join(dir, `normalize${i}-${network}.f32`) });
    }
  });
  PREDICT_CASES.forEach((c, i) => {
    // Only the image's size matters to predict; a flat image keeps the 12-megapixel PNG cheap.
    const image = png(`predict${i}`, { width: c.width, height: c.height, channels: 3, data: new Uint8Array(c.width * c.height * 3).fill(128) });
    const output = join(dir, `predict${i}.f32`);
    writes.push(writeFile(output, new Uint8Array(c.output.values.buffer)));
    jobs.push({
      op: 'predict', network: c.network, image, output, shape: [1, c.output.channels, c.output.height, c.output.width],
      mask: join(dir, `predict${i}.mask`), stats: join(dir, `predict${i}.json`),
    });
  });
  const sigmoidIn = join(dir, 'sigmoid.f32');
  writes.push(writeFile(sigmoidIn, new Uint8Array(SIGMOID_INPUTS.buffer)));
  jobs.push({ op: 'sigmoid', input: sigmoidIn, out: join(dir, 'sigmoid.out.f32') });
  const manifest = join(dir, 'jobs.json');
  writes.push(writeFile(manifest, JSON.stringify(jobs)));
  await Promise.all(writes);
  await run(PYTHON, [REFERENCE, manifest], { maxBuffer: 16 * 1024 * 1024 });
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pilResize: byte-identical to Pillow', () => {
  RESIZE_CASES.forEach((c, i) => {
    it(c.name, async () => {
      const want = await readFile(join(dir, `resize${i}.raw`));
      const { image } = c;
      const got = image.channels === 4
        ? pilResizeRgbOfRgba(image.data, image.width, image.height, c.outWidth, c.outHeight, c.filter)
        : pilResize(image.data, image.width, image.height, image.channels, c.outWidth, c.outHeight, c.filter);
      assert.equal(byteDifference(got, want), '');
    });
  });

  it('returns a new array, leaves its input alone, and refuses impossible sizes', () => {
    const image = noise(30, 9, 7, 3);
    const before = image.data.slice();
    const same = pilResize(image.data, 9, 7, 3, 9, 7);
    assert.notEqual(same, image.data);
    assert.deepEqual(same, image.data);
    pilResize(image.data, 9, 7, 3, 4, 11);
    assert.deepEqual(image.data, before);
    assert.throws(() => pilResize(image.data, 9, 7, 3, 0, 5), RangeError);
    assert.throws(() => pilResize(image.data, 9, 7, 3, 5, 2.5), RangeError);
    assert.throws(() => pilResize(image.data, 9, 8, 3, 5, 5), RangeError);
    assert.throws(() => pilResizeRgbOfRgba(image.data, 9, 7, 5, 5), RangeError);
  });
});

describe('segmentation recipes', () => {
  it("hold rembg's values for each network", () => {
    assert.deepEqual(SEGMENTATION_NETWORKS, ['u2net', 'u2netp', 'isnet-general-use', 'birefnet-general-lite']);
    const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    assert.deepEqual(SEGMENTATION_RECIPES.u2net, { inputWidth: 320, inputHeight: 320, ...imagenet, activation: 'none' });
    assert.deepEqual(SEGMENTATION_RECIPES.u2netp, { inputWidth: 320, inputHeight: 320, ...imagenet, activation: 'none' });
    assert.deepEqual(SEGMENTATION_RECIPES['isnet-general-use'], {
      inputWidth: 1024, inputHeight: 1024, mean: imagenet.mean, std: [1, 1, 1], activation: 'none',
    });
    assert.deepEqual(SEGMENTATION_RECIPES['birefnet-general-lite'], { inputWidth: 1024, inputHeight: 1024, ...imagenet, activation: 'sigmoid' });
  });
});

describe("segmentationInput: rembg's normalize", () => {
  let worst = 0;
  NORMALIZE_IMAGES.forEach((c, i) => {
    for (const network of SEGMENTATION_NETWORKS) {
      it(`${network}: ${c.name}`, async () => {
        const want = readF32(await readFile(join(dir, `normalize${i}-${network}.f32`)));
        const recipe = SEGMENTATION_RECIPES[network];
        const got = segmentationInput(decoded(c.image), recipe);
        assert.equal(got.length, 3 * recipe.inputWidth * recipe.inputHeight);
        let error = 0;
        for (let k = 0; k < got.length; k++) error = Math.max(error, Math.abs(got[k]! - want[k]!));
        worst = Math.max(worst, error);
        assert.ok(error <= 1e-6, `max |Δ| ${error}`);
      });
    }
  });
  after(() => console.log(`# segmentationInput: largest |Δ| against the reference over all cases: ${worst}`));
});

describe("segmentationMask: rembg's predict", () => {
  PREDICT_CASES.forEach((c, i) => {
    it(c.name, async () => {
      const want = await readFile(join(dir, `predict${i}.mask`));
      const stats = JSON.parse(await readFile(join(dir, `predict${i}.json`), 'utf8')) as { peak: number; floor: number };
      const got = segmentationMask(c.output.values, c.output.width, c.output.height, SEGMENTATION_RECIPES[c.network], c.width, c.height);
      assert.equal(got.width, c.width);
      assert.equal(got.height, c.height);
      assert.equal(byteDifference(got.mask, want), '');
      assert.equal(got.peak, stats.peak);
      assert.equal(got.floor, stats.floor);
    });
  });

  it('gives an all-zero mask for a constant output, reporting the range', () => {
    const got = segmentationMask(new Float32Array(64).fill(2), 8, 8, SEGMENTATION_RECIPES.u2net, 5, 3);
    assert.deepEqual(got.mask, new Uint8Array(15));
    assert.equal(got.peak, 2);
    assert.equal(got.floor, 2);
  });

  it('refuses an output too small for the stated size', () => {
    assert.throws(() => segmentationMask(new Float32Array(10), 4, 4, SEGMENTATION_RECIPES.u2net, 4, 4), RangeError);
  });
});

describe("rembgSigmoid: numpy's float32 1 / (1 + exp(-x))", () => {
  it('agrees bit for bit on 1.5 million values', async () => {
    const want = readF32(await readFile(join(dir, 'sigmoid.out.f32')));
    let differ = 0;
    let first = -1;
    for (let i = 0; i < SIGMOID_INPUTS.length; i++) {
      if (!Object.is(rembgSigmoid(SIGMOID_INPUTS[i]!), want[i]!)) {
        differ++;
        if (first < 0) first = i;
      }
    }
    assert.equal(differ, 0, `first at x = ${SIGMOID_INPUTS[first]}: got ${rembgSigmoid(SIGMOID_INPUTS[first] ?? 0)}, want ${want[first]}`);
  });

  it('differs from the correctly rounded sigmoid, which is why it is emulated', () => {
    // At least one of these inputs rounds differently under numpy's exp than under a correctly rounded one.
    let changed = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = Math.fround(-8 + i * 0.0016);
      if (rembgSigmoid(x) !== Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-x))))) changed++;
    }
    assert.ok(changed > 0);
  });
});
