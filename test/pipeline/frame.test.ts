/**
 * TripoSR's framing against TripoSR's own code: rembg's cutout, resize_foreground, the grey composite with
 * its 8-bit truncation and the 512² antialiased resize, compared with test/reference/triposr_framing.py
 * (numpy, PIL and torch doing what TripoSR and rembg do) on images larger and smaller than 512, odd and
 * prime sizes, wide and tall, tiny objects, objects touching the edges, soft edges, with and without a
 * mask; and the resize on its own against F.interpolate.
 *
 *   node --import tsx --test test/pipeline/frame.test.ts
 *
 * Needs Debian's /usr/bin/python3 with python3-pil, python3-numpy and python3-torch.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { DecodedImage } from '../../src/pipeline/image/decode.js';
import { UserError } from '../../src/pipeline/errors.js';
import { plainHint } from '../fixtures/userErrors.js';
import {
  foregroundBox,
  naiveCutout,
  NETWORK_IMAGE_SIZE,
  networkInput,
  networkInputPreview,
} from '../../src/pipeline/image/frame.js';
import { interleavedRows, planarRows, resizeBilinearAntialias, type PaddedRows } from '../../src/pipeline/image/torchResize.js';
import { mulberry32 } from '../fixtures/numeric.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const REFERENCE = join(__dirname, '..', 'reference', 'triposr_framing.py');
/** The bound: TripoSR's tensor within one 8-bit step everywhere. */
const BOUND = 1 / 255;
/** What the implementation reaches (bit-identical with Debian's torch 1.13; a few float32 ulps elsewhere). */
const TIGHT = 1e-6;

interface FrameCase {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** The image as decoded: RGBA bytes. */
  readonly rgba: Uint8Array;
  readonly hasTransparency: boolean;
  /** A segmentation mask: the image is cut out with it first (rembg's naive cutout), as TripoSR's remove_background. */
  readonly mask?: Uint8Array;
  readonly ratio: number;
}

interface ResizeCase {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** A busy photo-like picture: smooth gradients plus pixel noise, so any sampling shift shows. */
function scene(width: number, height: number, seed: number, alpha: (x: number, y: number) => number): Uint8Array {
  const random = mulberry32(seed);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const noise = random() * 90;
      rgba[p] = Math.min(255, Math.floor((x / width) * 165 + noise));
      rgba[p + 1] = Math.min(255, Math.floor((y / height) * 165 + random() * 90));
      rgba[p + 2] = Math.floor(128 + 127 * Math.sin(x * 0.37 + y * 0.21) * random());
      rgba[p + 3] = alpha(x, y);
    }
  }
  return rgba;
}

/** An ellipse with a soft (semi-transparent) rim `soft` pixels wide, centred at (cx, cy). */
function softEllipse(cx: number, cy: number, rx: number, ry: number, soft: number): (x: number, y: number) => number {
  return (x, y) => {
    const d = Math.hypot((x - cx) / rx, (y - cy) / ry);
    const inside = (1 - d) * Math.min(rx, ry);
    return Math.max(0, Math.min(255, Math.round(((inside + soft) / soft) * 255)));
  };
}

/** Black and white squares of 6 pixels on an opaque rectangle with a hard edge: the worst case for a shifted grid. */
function checkerboard(width: number, height: number): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= 100 && x < 700 && y >= 150 && y < 450;
      const v = (Math.floor(x / 6) + Math.floor(y / 6)) % 2 ? 255 : 0;
      rgba.set(inside ? [v, v, v, 255] : [0, 0, 0, 0], (y * width + x) * 4);
    }
  }
  return rgba;
}

function opaque(width: number, height: number, seed: number): Uint8Array {
  return scene(width, height, seed, () => 255);
}

function softMask(width: number, height: number): Uint8Array {
  const shape = softEllipse(width * 0.45, height * 0.55, width * 0.3, height * 0.35, 6);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = shape(x, y);
  return mask;
}

function anyTranslucent(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}

function frameCases(): FrameCase[] {
  const cases: FrameCase[] = [];
  const add = (name: string, width: number, height: number, rgba: Uint8Array, ratio: number, mask?: Uint8Array): void => {
    cases.push({ name, width, height, rgba, hasTransparency: anyTranslucent(rgba), mask, ratio });
  };
  add('large, soft-edged object, 1201×907', 1201, 907, scene(1201, 907, 1, softEllipse(610, 430, 380, 300, 9)), 0.85);
  add('large, ratio 0.6, 1031×1499', 1031, 1499, scene(1031, 1499, 2, softEllipse(500, 760, 330, 610, 4)), 0.6);
  add('small prime 37×53, ratio 0.85', 37, 53, scene(37, 53, 3, softEllipse(18, 27, 14, 22, 2)), 0.85);
  add('wide 997×211, ratio 1.0', 997, 211, scene(997, 211, 4, softEllipse(500, 105, 470, 80, 3)), 1.0);
  add('tall 89×613, ratio 0.6', 89, 613, scene(89, 613, 5, softEllipse(44, 300, 35, 280, 5)), 0.6);
  add('tiny object (3×2 pixels) in 400×300', 400, 300, scene(400, 300, 6, (x, y) => (x >= 200 && x < 203 && y >= 150 && y < 152 ? 255 : 0)), 0.85);
  add('object touching every edge, random alpha, 256×256', 256, 256, scene(256, 256, 7, (x, y) => 1 + ((x * 31 + y * 17) % 255)), 0.85);
  add('opaque photo 641×479 (the whole image is the object)', 641, 479, opaque(641, 479, 8), 0.85);
  add('opaque 513×513 at ratio 1.0: a 512 canvas, no resize', 513, 513, opaque(513, 513, 9), 1.0);
  add('semi-transparent everywhere, 509×503', 509, 503, scene(509, 503, 10, (x, y) => 40 + ((x ^ y) % 200)), 0.85);
  add('hard-edged checkerboard object, 800×600', 800, 600, checkerboard(800, 600), 0.85);
  add('photo 1024×768 cut out by a mask', 1024, 768, opaque(1024, 768, 11), 0.85, softMask(1024, 768));
  add('photo 71×59 cut out by a mask, ratio 0.6', 71, 59, opaque(71, 59, 12), 0.6, softMask(71, 59));
  add('photo 433×1201 cut out by a mask, ratio 1.0', 433, 1201, opaque(433, 1201, 13), 1.0, softMask(433, 1201));
  return cases;
}

const RESIZE_CASES: readonly ResizeCase[] = [
  { channels: 3, height: 37, width: 53, outHeight: 512, outWidth: 512 },
  { channels: 3, height: 1000, width: 1000, outHeight: 512, outWidth: 512 },
  { channels: 3, height: 1531, width: 1531, outHeight: 512, outWidth: 512 },
  { channels: 2, height: 97, width: 1200, outHeight: 301, outWidth: 211 },
  { channels: 1, height: 700, width: 389, outHeight: 512, outWidth: 200 },
  { channels: 3, height: 512, width: 512, outHeight: 512, outWidth: 512 },
  { channels: 3, height: 1, width: 1, outHeight: 512, outWidth: 512 },
  { channels: 1, height: 1, width: 977, outHeight: 1, outWidth: 512 },
  { channels: 1, height: 977, width: 1, outHeight: 512, outWidth: 1 },
  { channels: 2, height: 2, width: 1, outHeight: 1, outWidth: 2 },
  { channels: 3, height: 1, width: 7, outHeight: 5, outWidth: 3 },
  { channels: 2, height: 9, width: 13, outHeight: 31, outWidth: 4 },
  { channels: 1, height: 5000, width: 3, outHeight: 7, outWidth: 3 },
];

function decoded(c: FrameCase): DecodedImage {
  if (!c.mask) return { width: c.width, height: c.height, rgba: c.rgba, hasTransparency: c.hasTransparency };
  const rgba = naiveCutout(c.rgba, c.mask, c.width, c.height);
  return { width: c.width, height: c.height, rgba, hasTransparency: anyTranslucent(rgba) };
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

function floats(bytes: Buffer): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function png(file: string, data: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Promise<void> {
  // One channel stays one channel (an 'L' PNG, as rembg's mask) only when asked for grey.
  const image = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  await (channels === 1 ? image.toColourspace('b-w') : image).png({ compressionLevel: 1 }).toFile(file);
}

function rgbOf(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return rgb;
}

/**
 * The framing as it was before this module (sharp's linear kernel, 8-bit rounding between steps), to show
 * that the comparison below catches what the issue reported.
 */
async function sharpFraming(image: DecodedImage, ratio: number): Promise<Float32Array> {
  const box = foregroundBox(image);
  const crop = await sharp(image.rgba, { raw: { width: image.width, height: image.height, channels: 4 } })
    .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
    .raw()
    .toBuffer();
  const square = Math.max(box.width, box.height);
  const side = Math.floor(square / ratio);
  const offX = Math.floor((square - box.width) / 2) + Math.floor((side - square) / 2);
  const offY = Math.floor((square - box.height) / 2) + Math.floor((side - square) / 2);
  const canvas = Buffer.alloc(side * side * 3, 127);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const s = (y * box.width + x) * 4;
      const d = ((y + offY) * side + (x + offX)) * 3;
      const a = crop[s + 3] / 255;
      for (let c = 0; c < 3; c++) canvas[d + c] = Math.floor(((crop[s + c] / 255) * a + (1 - a) * 0.5) * 255);
    }
  }
  const resized = await sharp(canvas, { raw: { width: side, height: side, channels: 3 } })
    .resize(NETWORK_IMAGE_SIZE, NETWORK_IMAGE_SIZE, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const plane = NETWORK_IMAGE_SIZE ** 2;
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) chw[c * plane + i] = resized[i * 3 + c] / 255;
  return chw;
}

function expectUserError(fn: () => unknown, code: string): UserError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(plainHint(err.hint).trim().length > 0, 'a user error says what to do');
    return err;
  }
  assert.fail(`expected a UserError ${code}`);
}

describe('TripoSR framing against TripoSR\'s code', () => {
  let dir = '';
  const cases = frameCases();
  const resizeInputs: Float32Array[] = [];
  /** The 256×256 image and mask whose cutout covers every (value, mask) pair. */
  const allPairs = { width: 256, height: 256, rgba: new Uint8Array(256 * 256 * 4), mask: new Uint8Array(256 * 256) };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'i3d-frame-'));
    const jobs: object[] = [];
    for (const [i, c] of cases.entries()) {
      const image = join(dir, `case${i}.png`);
      // An opaque picture goes in as RGB (PIL opens it as 'RGB', as a JPEG would be); the rest as RGBA.
      if (c.hasTransparency) await png(image, c.rgba, c.width, c.height, 4);
      else await png(image, rgbOf(c.rgba), c.width, c.height, 3);
      const job: Record<string, unknown> = { mode: 'frame', image, out: join(dir, `case${i}.f32`), ratio: c.ratio };
      if (c.mask) {
        job.mask = join(dir, `case${i}.mask.png`);
        await png(job.mask as string, c.mask, c.width, c.height, 1);
      }
      jobs.push(job);
    }
    for (const [i, r] of RESIZE_CASES.entries()) {
      const random = mulberry32(100 + i);
      const values = new Float32Array(r.channels * r.height * r.width);
      for (let k = 0; k < values.length; k++) values[k] = random() * 2 - 0.5;
      resizeInputs.push(values);
      const input = join(dir, `resize${i}.in.f32`);
      await writeFile(input, values);
      jobs.push({
        mode: 'interpolate',
        input,
        channels: r.channels,
        height: r.height,
        width: r.width,
        out_height: r.outHeight,
        out_width: r.outWidth,
        out: join(dir, `resize${i}.f32`),
      });
    }
    const random = mulberry32(7);
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++) {
        const p = (y * 256 + x) * 4;
        allPairs.rgba.set([x, 255 - x, Math.floor(random() * 256), Math.floor(random() * 256)], p);
        allPairs.mask[y * 256 + x] = y;
      }
    }
    await png(join(dir, 'pairs.png'), allPairs.rgba, 256, 256, 4);
    await png(join(dir, 'pairs.mask.png'), allPairs.mask, 256, 256, 1);
    jobs.push({ mode: 'cutout', image: join(dir, 'pairs.png'), mask: join(dir, 'pairs.mask.png'), out: join(dir, 'pairs.rgba') });
    await png(join(dir, 'pairs.rgb.png'), rgbOf(allPairs.rgba), 256, 256, 3);
    jobs.push({ mode: 'cutout', image: join(dir, 'pairs.rgb.png'), mask: join(dir, 'pairs.mask.png'), out: join(dir, 'pairs.rgb.rgba') });
    await writeFile(join(dir, 'jobs.json'), JSON.stringify(jobs));
    await run(PYTHON, [REFERENCE, 'batch', join(dir, 'jobs.json')], {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [i, c] of cases.entries()) {
    it(`${c.name}: within 1/255 of TripoSR (ratio ${c.ratio}${c.mask ? ', cut out by a mask' : ''})`, async () => {
      const reference = floats(await readFile(join(dir, `case${i}.f32`)));
      const ours = networkInput(decoded(c), c.ratio);
      assert.equal(ours.length, 3 * NETWORK_IMAGE_SIZE ** 2);
      const worst = maxAbsDifference(ours, reference);
      console.log(`# ${c.name}: max |ours − TripoSR| = ${worst.toExponential(2)}`);
      assert.ok(worst <= BOUND, `max error ${worst} exceeds 1/255`);
      assert.ok(worst <= TIGHT, `max error ${worst} exceeds ${TIGHT}`);
    });
  }

  it('the previous sharp-based framing breaks the bound on the same images', async () => {
    let worst = 0;
    for (const [i, c] of cases.entries()) {
      const reference = floats(await readFile(join(dir, `case${i}.f32`)));
      const error = maxAbsDifference(await sharpFraming(decoded(c), c.ratio), reference);
      console.log(`# ${c.name}: max |sharp-based − TripoSR| = ${(error * 255).toFixed(1)}/255`);
      worst = Math.max(worst, error);
    }
    assert.ok(worst > BOUND, 'the comparison would not have caught the old framing');
  });

  for (const [i, r] of RESIZE_CASES.entries()) {
    const label = `${r.channels}×${r.height}×${r.width} → ${r.outHeight}×${r.outWidth}`;
    it(`resize ${label} equals F.interpolate(bilinear, antialias)`, async () => {
      const reference = floats(await readFile(join(dir, `resize${i}.f32`)));
      const ours = resizeBilinearAntialias(planarRows(resizeInputs[i], r.width, r.height, r.channels), r.outWidth, r.outHeight);
      const worst = maxAbsDifference(ours, reference);
      if (worst > 0) console.log(`# resize ${label}: max difference ${worst.toExponential(2)}`);
      assert.ok(worst <= TIGHT, `max error ${worst}`);
    });
  }

  it('naiveCutout is byte for byte PIL\'s Image.composite over every (value, mask) pair, RGBA and RGB sources', async () => {
    const fromRgba = new Uint8Array(await readFile(join(dir, 'pairs.rgba')));
    assert.deepEqual(naiveCutout(allPairs.rgba, allPairs.mask, 256, 256), fromRgba);
    // An RGB source (PIL converts it to RGBA, alpha 255) is the decoded image with alpha 255.
    const opaqueRgba = allPairs.rgba.slice();
    for (let p = 3; p < opaqueRgba.length; p += 4) opaqueRgba[p] = 255;
    const fromRgb = new Uint8Array(await readFile(join(dir, 'pairs.rgb.rgba')));
    assert.deepEqual(naiveCutout(opaqueRgba, allPairs.mask, 256, 256), fromRgb);
    for (let p = 3; p < fromRgb.length; p += 4) assert.equal(fromRgb[p], allPairs.mask[(p - 3) / 4]);
  });
});

describe('framing without the reference', () => {
  const image = (width: number, height: number, alpha: (x: number, y: number) => number): DecodedImage => {
    const rgba = scene(width, height, 42, alpha);
    return { width, height, rgba, hasTransparency: anyTranslucent(rgba) };
  };

  it('an opaque image takes the same path as one whose alpha is 255 everywhere', () => {
    const base = image(97, 61, () => 255);
    assert.equal(base.hasTransparency, false);
    assert.deepEqual(foregroundBox(base), { x: 0, y: 0, width: 96, height: 60 });
    const flagged: DecodedImage = { ...base, hasTransparency: true };
    assert.deepEqual(foregroundBox(flagged), foregroundBox(base));
    assert.deepEqual(networkInput(flagged, 0.7), networkInput(base, 0.7));
  });

  it('refuses a bad foreground ratio as an invalid option', () => {
    const ok = image(16, 16, () => 255);
    for (const ratio of [0, -0.5, 1.0001, 2, Number.NaN, Number.POSITIVE_INFINITY]) expectUserError(() => networkInput(ok, ratio), 'invalid-option');
    // A ratio so small that the canvas would be absurd is refused before any work.
    expectUserError(() => networkInput(image(700, 700, () => 255), 0.01), 'invalid-option');
    assert.equal(networkInput(ok, 1).length, 3 * NETWORK_IMAGE_SIZE ** 2);
  });

  it('a fully transparent image, and an object one pixel thin, are refused as empty', () => {
    expectUserError(() => networkInput(image(20, 20, () => 0)), 'image-empty');
    // One row of pixels: TripoSR's exclusive crop leaves zero rows.
    const line = expectUserError(() => networkInput(image(30, 20, (_x, y) => (y === 7 ? 255 : 0))), 'image-empty');
    assert.match(line.message, /one pixel high/);
    expectUserError(() => networkInput(image(30, 20, (x) => (x === 3 ? 255 : 0))), 'image-empty');
  });

  it('the padding around the object is TripoSR\'s grey 127/255, and the object sits centred', () => {
    // A 40×20 block (crop 39×19): the square is 39, the canvas int(39/0.85) = 45.
    const input = networkInput(image(100, 60, (x, y) => (x >= 30 && x < 70 && y >= 20 && y < 40 ? 255 : 0)));
    const plane = NETWORK_IMAGE_SIZE ** 2;
    for (const [x, y] of [[0, 0], [511, 0], [0, 511], [511, 511], [256, 5], [256, 506]]) {
      for (let c = 0; c < 3; c++) assert.equal(input[c * plane + y * NETWORK_IMAGE_SIZE + x], Math.fround(127 / 255));
    }
  });

  it('the preview is the tensor in 8 bits, rounded', () => {
    const plane = NETWORK_IMAGE_SIZE ** 2;
    const tensor = new Float32Array(3 * plane);
    tensor[0] = 0.5; // red of the first pixel: 127.5 → 128
    tensor[plane + 1] = 1; // green of the second pixel
    tensor[2 * plane + 2] = 0.2; // blue of the third pixel: 51
    tensor[3] = 1.2; // clamped
    const rgb = networkInputPreview(tensor);
    assert.equal(rgb.length, 3 * plane);
    assert.deepEqual([...rgb.subarray(0, 12)], [128, 0, 0, 0, 255, 0, 0, 0, 51, 255, 0, 0]);
    assert.throws(() => networkInputPreview(new Float32Array(10)), RangeError);
  });

  it('a padded source resizes exactly like the same canvas given whole', () => {
    const [width, height, channels] = [700, 650, 3];
    const content = { left: 113, top: 57, width: 301, height: 402 };
    const background = [0.3, 0.7, 0.1].map(Math.fround);
    const random = mulberry32(5);
    const canvas = new Float32Array(width * height * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = x >= content.left && x < content.left + content.width && y >= content.top && y < content.top + content.height;
        for (let c = 0; c < channels; c++) canvas[(y * width + x) * channels + c] = inside ? random() : background[c];
      }
    }
    const padded: PaddedRows = {
      width,
      height,
      channels,
      background,
      content,
      readContentRow: (y, into) => {
        const from = ((content.top + y) * width + content.left) * channels;
        into.set(canvas.subarray(from, from + content.width * channels));
      },
    };
    for (const [ow, oh] of [[512, 512], [97, 1000]]) {
      assert.deepEqual(resizeBilinearAntialias(padded, ow, oh), resizeBilinearAntialias(interleavedRows(canvas, width, height, channels), ow, oh));
    }
  });
});
