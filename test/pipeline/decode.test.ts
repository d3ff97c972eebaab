/**
 * Decoding (src/pipeline/image/decode.ts): every format in imageFormats.ts, first frames and pages, EXIF
 * orientation, 16-bit, grey, palettes, CMYK and embedded ICC profiles to 8-bit sRGB with alpha, and the
 * refusals, for decodeImage and for the header-only probeImage. BMP's own reader is tested in bmp.test.ts.
 * CMYK files come from Pillow (Debian's /usr/bin/python3), so that the reader is not checked only
 * against the writer it shares a library with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, probeImage, type DecodedImage } from '../../src/pipeline/image/decode.js';
import { hasImageExtension, IMAGE_EXTENSIONS, IMAGE_FORMAT_IDS, IMAGE_FORMAT_NAMES, type ImageFormatId } from '../../src/pipeline/image/imageFormats.js';
import { plainHint, rejectsWith } from '../fixtures/userErrors.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(path.join(tmpdir(), 'i3d-decode-'));

type Rgba = readonly [number, number, number, number];

function file(name: string, bytes: Uint8Array | string): string {
  const at = path.join(dir, name);
  writeFileSync(at, bytes);
  return at;
}

function rawImage(width: number, height: number, draw: (x: number, y: number) => Rgba): sharp.Sharp {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(draw(x, y), (y * width + x) * 4);
  return sharp(data, { raw: { width, height, channels: 4 } });
}

function pixel(image: DecodedImage, x: number, y: number): number[] {
  const at = (y * image.width + x) * 4;
  return [...image.rgba.subarray(at, at + 4)];
}

function assertNear(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(worst <= tolerance, `${what}: got [${actual.join(', ')}], expected [${expected.join(', ')}] within ${tolerance}`);
}


// --- A PNG writer from the specification, for bit depths and colour types sharp does not write. ---

function pngChunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

interface PngSpec {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 1 | 2 | 4 | 8 | 16;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  readonly colourType: 0 | 2 | 3 | 4 | 6;
  /** Each row's bytes as stored (no filter byte). */
  readonly rows: readonly Uint8Array[];
  /** Chunks between IHDR and IDAT (PLTE, tRNS, …). */
  readonly chunks?: readonly Buffer[];
}

function pngBytes(spec: PngSpec): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(spec.width, 0);
  header.writeUInt32BE(spec.height, 4);
  header[8] = spec.bitDepth;
  header[9] = spec.colourType;
  const filtered = Buffer.concat(spec.rows.map((row) => Buffer.concat([Buffer.from([0]), row])));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', header),
    ...(spec.chunks ?? []),
    pngChunk('IDAT', zlib.deflateSync(filtered)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

function be16(values: readonly number[]): Uint8Array {
  const bytes = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => bytes.writeUInt16BE(v, i * 2));
  return bytes;
}

// --- Formats ---

test('the image extensions: one list, letter case ignored, HEIC and SVG left out', () => {
  assert.deepEqual([...IMAGE_FORMAT_IDS].sort(), ['avif', 'bmp', 'gif', 'jpeg', 'png', 'tiff', 'webp']);
  assert.equal(IMAGE_FORMAT_NAMES, 'PNG, JPEG, WebP, TIFF, BMP, GIF or AVIF');
  assert.equal(new Set(IMAGE_EXTENSIONS).size, IMAGE_EXTENSIONS.length);
  for (const name of ['photo.PNG', 'a.b.jpeg', 'C:\\My.Pictures\\scan.Tif', '/home/me/x.webp', 'anim.gif', 'pic.avif', 'old.bmp', 'cam.jfif']) {
    assert.ok(hasImageExtension(name), name);
  }
  for (const name of ['photo.heic', 'logo.svg', '.png', 'png', 'dir.png/readme', 'C:\\dir.jpg\\notes.txt', 'x.png.txt', 'x.pngx']) {
    assert.ok(!hasImageExtension(name), name);
  }
});

test('the prebuilt libvips reads every listed format but BMP, and decodes no HEIC', async () => {
  for (const id of IMAGE_FORMAT_IDS.filter((f) => f !== 'bmp')) {
    const loader = sharp.format[id === 'avif' ? 'heif' : id];
    assert.ok(loader.input.buffer, `sharp ${sharp.versions.sharp} cannot load ${id} from memory`);
  }
  // BMP would come through ImageMagick, which the prebuilt binaries leave out: hence bmp.ts.
  assert.equal(sharp.format.magick.input.buffer, false);
  const bmp = Buffer.from('424d3a0000000000000036000000280000000100000001000000010018000000000004000000130b0000130b00000000000000000000ff000000', 'hex');
  await assert.rejects(sharp(bmp).metadata(), /unsupported image format/);
  // libheif is built with AV1 (AVIF) only: it cannot even write HEVC, and reads no .heic.
  assert.deepEqual(sharp.format.heif.input.fileSuffix, ['.avif']);
  await assert.rejects(sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).heif({ compression: 'hevc' }).toBuffer(), /Unsupported compression/);
});

/** Four quadrants: red, green, blue at half alpha, white fully transparent (opaque where the format has no alpha). */
function quadrants(alpha: 'full' | 'binary' | 'none'): sharp.Sharp {
  return rawImage(32, 24, (x, y) => {
    if (y < 12) return x < 16 ? [220, 30, 20, 255] : [30, 200, 60, 255];
    if (x < 16) return [20, 40, 210, alpha === 'full' ? 128 : 255];
    return [255, 255, 255, alpha === 'none' ? 255 : 0];
  });
}

const FORMAT_CASES: { name: string; format: ImageFormatId; alpha: 'full' | 'binary' | 'none'; tolerance: number; encode: (s: sharp.Sharp) => sharp.Sharp }[] = [
  { name: 'PNG', format: 'png', alpha: 'full', tolerance: 0, encode: (s) => s.png() },
  { name: 'JPEG', format: 'jpeg', alpha: 'none', tolerance: 6, encode: (s) => s.flatten({ background: '#ffffff' }).jpeg({ quality: 95 }) },
  { name: 'lossless WebP', format: 'webp', alpha: 'full', tolerance: 0, encode: (s) => s.webp({ lossless: true }) },
  { name: 'lossy WebP', format: 'webp', alpha: 'full', tolerance: 10, encode: (s) => s.webp({ quality: 90, alphaQuality: 100 }) },
  { name: 'TIFF', format: 'tiff', alpha: 'full', tolerance: 0, encode: (s) => s.tiff({ compression: 'lzw' }) },
  { name: 'GIF', format: 'gif', alpha: 'binary', tolerance: 0, encode: (s) => s.gif({ dither: 0 }) },
  { name: 'AVIF', format: 'avif', alpha: 'full', tolerance: 10, encode: (s) => s.avif({ quality: 80 }) },
  { name: 'lossless AVIF', format: 'avif', alpha: 'full', tolerance: 0, encode: (s) => s.avif({ lossless: true }) },
];

test('every format sharp decodes here: size, colours, alpha and transparency, and the probe agrees', async () => {
  const covered = new Set(FORMAT_CASES.map((c) => c.format));
  assert.deepEqual([...IMAGE_FORMAT_IDS].filter((id) => !covered.has(id)), ['bmp'], 'every listed format but BMP (bmp.test.ts) has a case here');
  for (const { name, format, alpha, tolerance, encode } of FORMAT_CASES) {
    const at = file(`quadrants-${name.replace(/\s/g, '-')}.${format}`, await encode(quadrants(alpha)).toBuffer());
    const image = await decodeImage(at);
    assert.equal(image.width, 32, name);
    assert.equal(image.height, 24, name);
    assert.equal(image.rgba.length, 32 * 24 * 4, name);
    assertNear(pixel(image, 8, 6), [220, 30, 20, 255], tolerance, `${name} top left`);
    assertNear(pixel(image, 24, 6), [30, 200, 60, 255], tolerance, `${name} top right`);
    assertNear(pixel(image, 8, 18), [20, 40, 210, alpha === 'full' ? 128 : 255], tolerance, `${name} bottom left`);
    if (alpha === 'none') assertNear(pixel(image, 24, 18), [255, 255, 255, 255], tolerance, `${name} bottom right`);
    else assert.equal(pixel(image, 24, 18)[3], 0, `${name}: a fully transparent pixel stays so`);
    assert.equal(image.hasTransparency, alpha !== 'none', name);
    assert.deepEqual(await probeImage(at), { width: 32, height: 24, format }, name);
  }
});

test('a GIF’s and an animated WebP’s first frame, a TIFF’s first page', async () => {
  const frame = (colour: string): Promise<Buffer> => sharp({ create: { width: 20, height: 10, channels: 4, background: colour } }).png().toBuffer();
  const frames = [await frame('#ff0000'), await frame('#0000ff'), await frame('#00ff00')];
  for (const format of ['gif', 'webp', 'tiff'] as const) {
    const bytes = await sharp(frames, { join: { animated: true } })
      [format](format === 'webp' ? { lossless: true } : {})
      .toBuffer();
    assert.equal((await sharp(bytes).metadata()).pages, 3, `${format} holds three frames`);
    const at = file(`frames.${format}`, bytes);
    const image = await decodeImage(at);
    assert.equal(image.width, 20, format);
    assert.equal(image.height, 10, `${format}: one frame, not the strip of all three`);
    for (const [x, y] of [[0, 0], [19, 9], [10, 5]]) assertNear(pixel(image, x, y), [255, 0, 0, 255], 1, `${format} (${x}, ${y})`);
    assert.deepEqual(await probeImage(at), { width: 20, height: 10, format });
  }
});

// --- Colour ---

test('16-bit PNG (RGB, RGBA, grey, grey + alpha) and TIFF keep each sample’s high byte, as Pillow reads 16-bit RGB', async () => {
  const cases: { name: string; spec: PngSpec; expected: Rgba[] }[] = [
    {
      name: 'RGB',
      spec: { width: 2, height: 1, bitDepth: 16, colourType: 2, rows: [be16([0x01ff, 0x80ff, 0xffff, 0x7f80, 0x0080, 0x00ff])] },
      expected: [
        [1, 128, 255, 255],
        [127, 0, 0, 255],
      ],
    },
    {
      name: 'RGBA',
      spec: { width: 1, height: 1, bitDepth: 16, colourType: 6, rows: [be16([0x1234, 0x5678, 0x9abc, 0x7fff])] },
      expected: [[0x12, 0x56, 0x9a, 0x7f]],
    },
    {
      name: 'grey',
      spec: { width: 3, height: 1, bitDepth: 16, colourType: 0, rows: [be16([0x01ff, 0x80ff, 0xffff])] },
      expected: [
        [1, 1, 1, 255],
        [128, 128, 128, 255],
        [255, 255, 255, 255],
      ],
    },
    {
      name: 'grey + alpha',
      spec: { width: 2, height: 1, bitDepth: 16, colourType: 4, rows: [be16([0x1234, 0x8000, 0xffff, 0x00ff])] },
      expected: [
        [0x12, 0x12, 0x12, 0x80],
        [255, 255, 255, 0],
      ],
    },
  ];
  for (const { name, spec, expected } of cases) {
    const image = await decodeImage(file(`16-${name.replace(/\W+/g, '')}.png`, pngBytes(spec)));
    assert.deepEqual(
      Array.from({ length: spec.width }, (_, x) => pixel(image, x, 0)),
      expected.map((p) => [...p]),
      name,
    );
  }
  const samples = new Uint16Array([0x01ff, 0x80ff, 0xffff, 0xff00, 0x7f80, 0x00ff]);
  const tiff = await sharp(samples, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer();
  assert.equal((await sharp(tiff).metadata()).depth, 'ushort', 'the TIFF holds 16-bit samples');
  const image = await decodeImage(file('16.tiff', tiff));
  assert.deepEqual([pixel(image, 0, 0), pixel(image, 1, 0)], [
    [1, 128, 255, 255],
    [255, 127, 0, 255],
  ]);
});

test('grey, grey + alpha, 1-bit, palettes with tRNS and colour keys expand to RGBA exactly', async () => {
  const palette = pngChunk('PLTE', Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7]));
  const cases: { name: string; spec: PngSpec; expected: Rgba[] }[] = [
    { name: 'grey', spec: { width: 3, height: 1, bitDepth: 8, colourType: 0, rows: [Uint8Array.from([0, 77, 255])] }, expected: [[0, 0, 0, 255], [77, 77, 77, 255], [255, 255, 255, 255]] },
    { name: 'grey + alpha', spec: { width: 2, height: 1, bitDepth: 8, colourType: 4, rows: [Uint8Array.from([10, 20, 200, 255])] }, expected: [[10, 10, 10, 20], [200, 200, 200, 255]] },
    { name: '1-bit grey', spec: { width: 4, height: 1, bitDepth: 1, colourType: 0, rows: [Uint8Array.from([0b1010_0000])] }, expected: [[255, 255, 255, 255], [0, 0, 0, 255], [255, 255, 255, 255], [0, 0, 0, 255]] },
    {
      name: '4-bit palette with tRNS',
      spec: { width: 4, height: 1, bitDepth: 4, colourType: 3, rows: [Uint8Array.from([0x01, 0x23])], chunks: [palette, pngChunk('tRNS', Uint8Array.from([0, 128]))] },
      expected: [[255, 0, 0, 0], [0, 255, 0, 128], [0, 0, 255, 255], [9, 8, 7, 255]],
    },
    {
      name: 'grey with a tRNS colour key',
      spec: { width: 2, height: 1, bitDepth: 8, colourType: 0, rows: [Uint8Array.from([20, 21])], chunks: [pngChunk('tRNS', be16([20]))] },
      expected: [[20, 20, 20, 0], [21, 21, 21, 255]],
    },
    {
      name: 'RGB with a tRNS colour key',
      spec: { width: 2, height: 1, bitDepth: 8, colourType: 2, rows: [Uint8Array.from([1, 2, 3, 1, 2, 4])], chunks: [pngChunk('tRNS', be16([1, 2, 3]))] },
      expected: [[1, 2, 3, 0], [1, 2, 4, 255]],
    },
  ];
  for (const { name, spec, expected } of cases) {
    const image = await decodeImage(file(`${name.replace(/\W+/g, '-')}.png`, pngBytes(spec)));
    assert.deepEqual(
      Array.from({ length: spec.width }, (_, x) => pixel(image, x, 0)),
      expected.map((p) => [...p]),
      name,
    );
    assert.equal(image.hasTransparency, expected.some((p) => p[3] !== 255), name);
  }
});

test('CMYK JPEG (Adobe, inverted) and TIFF written by Pillow become sRGB: paper white, cyan, magenta, yellow, black', async () => {
  // Five 8 × 8 patches of pure ink; Pillow stores JPEG CMYK inverted with an Adobe marker, as Photoshop does.
  const script = [
    'import sys',
    'from PIL import Image',
    'inks = bytes([0,0,0,0, 255,0,0,0, 0,255,0,0, 0,0,255,0, 0,0,0,255])',
    "im = Image.frombytes('CMYK', (5, 1), inks).resize((40, 8), Image.NEAREST)",
    "im.save(sys.argv[1] + '/inks.jpg', quality=100)",
    "im.save(sys.argv[1] + '/inks.tif')",
  ].join('\n');
  await run(PYTHON, ['-c', script, dir]);
  for (const name of ['inks.jpg', 'inks.tif']) {
    const at = path.join(dir, name);
    assert.equal((await sharp(readFileSync(at)).metadata()).space, 'cmyk', `${name} is CMYK`);
    const image = await decodeImage(at);
    assert.equal(image.hasTransparency, false);
    const [paper, cyan, magenta, yellow, black] = [0, 1, 2, 3, 4].map((i) => pixel(image, i * 8 + 4, 4));
    assert.ok(paper.slice(0, 3).every((v) => v >= 245), `${name} paper ${paper}`);
    assert.ok(cyan[0] < 60 && cyan[2] > 180 && cyan[1] > 100, `${name} cyan ${cyan}`);
    assert.ok(magenta[1] < 60 && magenta[0] > 180 && magenta[2] > 80, `${name} magenta ${magenta}`);
    assert.ok(yellow[2] < 60 && yellow[0] > 200 && yellow[1] > 200, `${name} yellow ${yellow}`);
    assert.ok(black.slice(0, 3).every((v) => v < 60), `${name} black ${black}`);
  }
});

/** sRGB's transfer curve, which Display P3 shares. */
const toLinear = (v: number): number => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
const fromLinear = (l: number): number => 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);
/** Linear Display P3 to linear sRGB (both D65): the primaries' matrices combined. */
const P3_TO_SRGB = [
  [1.2249401, -0.2249404, 0],
  [-0.0420569, 1.0420571, 0],
  [-0.0196376, -0.0786361, 1.0982735],
];

function p3ToSrgb(rgb: readonly number[]): number[] {
  const linear = rgb.slice(0, 3).map(toLinear);
  return P3_TO_SRGB.map((row) => fromLinear(Math.min(1, Math.max(0, row[0] * linear[0] + row[1] * linear[1] + row[2] * linear[2]))));
}

test('an embedded Display P3 profile is converted to sRGB (PNG, JPEG, 16-bit PNG and TIFF)', async () => {
  const colours: Rgba[] = [
    [200, 100, 50, 255],
    [30, 180, 90, 255],
    [90, 60, 220, 255],
    [128, 128, 128, 255],
  ];
  const source = rawImage(32, 8, (x) => colours[x >> 3]);
  const files = {
    png: await source.clone().withIccProfile('p3').png().toBuffer(),
    jpeg: await source.clone().flatten().withIccProfile('p3').jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer(),
    png16: await source.clone().toColourspace('rgb16').withIccProfile('p3').png().toBuffer(),
    tiff16: await source.clone().toColourspace('rgb16').withIccProfile('p3').tiff({ compression: 'lzw' }).toBuffer(),
  };
  for (const [format, bytes] of Object.entries(files)) {
    const icc = (await sharp(bytes).metadata()).icc;
    // libvips names its Display P3 profile "sP3C" (UTF-16 in an mluc tag); the numbers below prove the primaries.
    assert.ok(icc && /P3/.test(icc.toString('latin1').replace(/[^\x20-\x7e]/g, '')), `${format} carries a P3 profile`);
    // The numbers in the file, as a reader that ignores the profile sees them.
    const { data: stored, info } = await sharp(bytes, { ignoreIcc: true }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const image = await decodeImage(file(`p3.${format}`, bytes));
    let largestShift = 0;
    for (let i = 0; i < colours.length; i++) {
      const x = i * 8 + 4;
      const at = (4 * 32 + x) * info.channels;
      const raw = [...stored.subarray(at, at + 3)];
      const decoded = pixel(image, x, 4);
      assertNear(decoded.slice(0, 3), p3ToSrgb(raw), 2, `${format} colour ${i}`);
      assertNear(decoded.slice(0, 3), colours[i].slice(0, 3), 3, `${format} colour ${i} back to the source`);
      largestShift = Math.max(largestShift, ...raw.map((v, c) => Math.abs(v - decoded[c])));
    }
    assert.ok(largestShift > 10, `${format}: the profile changed the numbers (largest change ${largestShift})`);
  }
});

test('16-bit RGB tagged sRGB keeps its colours (sharp alone turns them into Display P3 numbers)', async () => {
  const colours: Rgba[] = [
    [200, 100, 50, 255],
    [30, 180, 90, 128],
    [255, 0, 0, 255],
    [0, 0, 255, 255],
  ];
  const source = rawImage(4, 1, (x) => colours[x]);
  for (const [format, bytes] of [
    ['png', await source.clone().toColourspace('rgb16').withIccProfile('srgb').png().toBuffer()],
    ['tiff', await source.clone().toColourspace('rgb16').withIccProfile('srgb').tiff({ compression: 'lzw' }).toBuffer()],
  ] as const) {
    const metadata = await sharp(bytes).metadata();
    assert.deepEqual([metadata.depth, metadata.hasProfile], ['ushort', true], `${format}: 16-bit with a profile`);
    const image = await decodeImage(file(`srgb16.${format}`, bytes));
    colours.forEach((colour, x) => assertNear(pixel(image, x, 0), colour, 2, `${format} colour ${x}`));
  }
  // Without a profile, 16-bit samples are sRGB already and are only narrowed.
  const untagged = await decodeImage(file('untagged16.png', await source.clone().toColourspace('rgb16').png().toBuffer()));
  colours.forEach((colour, x) => assert.deepEqual(pixel(untagged, x, 0), [...colour], `untagged colour ${x}`));
});

// --- EXIF orientation ---

/** Where displayed pixel (x, y) comes from in the stored W × H image, per the EXIF definition of each orientation. */
function storedPixel(orientation: number, x: number, y: number, width: number, height: number): [number, number] {
  switch (orientation) {
    case 1: return [x, y];
    case 2: return [width - 1 - x, y];
    case 3: return [width - 1 - x, height - 1 - y];
    case 4: return [x, height - 1 - y];
    case 5: return [y, x];
    case 6: return [y, height - 1 - x];
    case 7: return [width - 1 - y, height - 1 - x];
    case 8: return [width - 1 - y, x];
    default: throw new Error(`orientation ${orientation}`);
  }
}

test('all eight EXIF orientations, in PNG exactly and in JPEG by blocks; the probe reports the turned size', async () => {
  const [width, height] = [3, 2];
  const colourAt = (x: number, y: number): Rgba => [40 + 100 * x, 30 + 150 * y, 200 - 60 * x - 70 * y, 255];
  const pngSource = rawImage(width, height, colourAt);
  // Blocks of 16 pixels survive JPEG's 8 × 8 transform; each block's centre is compared.
  const block = 16;
  const jpegSource = rawImage(width * block, height * block, (x, y) => colourAt(Math.floor(x / block), Math.floor(y / block)));
  for (let orientation = 1; orientation <= 8; orientation++) {
    const turned = orientation >= 5;
    const [shownWidth, shownHeight] = turned ? [height, width] : [width, height];
    const png = file(`orient-${orientation}.png`, await pngSource.clone().withMetadata({ orientation }).png().toBuffer());
    assert.equal((await sharp(readFileSync(png)).metadata()).orientation, orientation, 'the PNG carries the tag');
    const image = await decodeImage(png);
    assert.deepEqual([image.width, image.height], [shownWidth, shownHeight], `orientation ${orientation}`);
    for (let y = 0; y < shownHeight; y++) {
      for (let x = 0; x < shownWidth; x++) {
        assert.deepEqual(pixel(image, x, y), [...colourAt(...storedPixel(orientation, x, y, width, height))], `orientation ${orientation} (${x}, ${y})`);
      }
    }
    assert.deepEqual(await probeImage(png), { width: shownWidth, height: shownHeight, format: 'png' });

    const jpeg = file(`orient-${orientation}.jpg`, await jpegSource.clone().withMetadata({ orientation }).jpeg({ quality: 98, chromaSubsampling: '4:4:4' }).toBuffer());
    const photo = await decodeImage(jpeg);
    assert.deepEqual([photo.width, photo.height], [shownWidth * block, shownHeight * block]);
    for (let y = 0; y < shownHeight; y++) {
      for (let x = 0; x < shownWidth; x++) {
        const expected = colourAt(...storedPixel(orientation, x, y, width, height));
        assertNear(pixel(photo, x * block + block / 2, y * block + block / 2), expected, 4, `JPEG orientation ${orientation} block (${x}, ${y})`);
      }
    }
    assert.deepEqual(await probeImage(jpeg), { width: shownWidth * block, height: shownHeight * block, format: 'jpeg' });
  }
});

// --- Refusals ---

test('an empty file is refused as empty, by the probe too', async () => {
  const at = file('empty.png', '');
  await rejectsWith(decodeImage(at), 'image-empty');
  await rejectsWith(probeImage(at), 'image-empty');
});

test('random bytes and a text file are refused as unreadable, naming the file and the formats read', async () => {
  const bad = file('bad.png', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)));
  const err = await rejectsWith(decodeImage(bad), 'image-unreadable', /bad\.png/);
  assert.ok(plainHint(err.hint).includes(IMAGE_FORMAT_NAMES), plainHint(err.hint));
  await rejectsWith(probeImage(bad), 'image-unreadable', /bad\.png/);
  const text = file('notes.jpg', 'not an image at all\n');
  await rejectsWith(decodeImage(text), 'image-unreadable');
  await rejectsWith(probeImage(text), 'image-unreadable');
});

test('a missing file and a folder are refused as unreadable', async () => {
  await rejectsWith(decodeImage(path.join(dir, 'nope.png')), 'image-unreadable', /ENOENT/);
  await rejectsWith(probeImage(path.join(dir, 'nope.png')), 'image-unreadable', /ENOENT/);
  const folder = path.join(dir, 'folder.png');
  mkdirSync(folder);
  await rejectsWith(decodeImage(folder), 'image-unreadable', /folder/);
  await rejectsWith(probeImage(folder), 'image-unreadable', /folder/);
});

test('a device or pipe is refused without being read', { skip: process.platform === 'win32' && 'no /dev/zero on Windows' }, async () => {
  // /dev/zero would never end; opening a pipe would wait for a writer.
  await rejectsWith(decodeImage('/dev/zero'), 'image-unreadable', /not a regular file/);
  await rejectsWith(probeImage('/dev/zero'), 'image-unreadable', /not a regular file/);
});

test('truncated PNG and JPEG files are refused by the decoder; the probe refuses a cut header and passes a cut body', async () => {
  const noise = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  const source = sharp(noise, { raw: { width: 64, height: 64, channels: 3 } });
  for (const [format, bytes] of [['png', await source.clone().png().toBuffer()], ['jpg', await source.clone().jpeg().toBuffer()]] as const) {
    const cutBody = file(`cut.${format}`, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await rejectsWith(decodeImage(cutBody), 'image-unreadable', new RegExp(`cut\\.${format}`));
    // The probe reads headers only: the size is known, the damage further on is the decoder's to find.
    assert.deepEqual(await probeImage(cutBody), { width: 64, height: 64, format: format === 'png' ? 'png' : 'jpeg' });
    const cutHeader = file(`cut-header.${format}`, bytes.subarray(0, 20));
    await rejectsWith(decodeImage(cutHeader), 'image-unreadable');
    await rejectsWith(probeImage(cutHeader), 'image-unreadable');
  }
});

test('a PNG declaring 100000 × 100000 pixels is refused as too large without decoding, by both', async () => {
  const bomb = file('bomb.png', pngBytes({ width: 100_000, height: 100_000, bitDepth: 8, colourType: 0, rows: [Uint8Array.from([0])] }));
  const err = await rejectsWith(decodeImage(bomb), 'image-too-large', /100000 × 100000 pixels/);
  assert.match(err.message, /50 megapixels/);
  await rejectsWith(probeImage(bomb), 'image-too-large', /100000 × 100000/);
});

test('the pixel limit is inclusive, for decode and probe alike', async () => {
  const at = file('big.png', await rawImage(300, 200, () => [1, 2, 3, 255]).png().toBuffer());
  await rejectsWith(decodeImage(at, 300 * 200 - 1), 'image-too-large');
  await rejectsWith(probeImage(at, 300 * 200 - 1), 'image-too-large');
  assert.equal((await decodeImage(at, 300 * 200)).width, 300);
  assert.deepEqual(await probeImage(at, 300 * 200), { width: 300, height: 200, format: 'png' });
});

test('formats sharp reads but the product does not (SVG) are refused, listing the formats it reads', async () => {
  const svg = file('drawing.png', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  for (const attempt of [decodeImage, probeImage]) {
    const err = await rejectsWith(attempt(svg), 'image-unreadable', /SVG/);
    assert.ok(err.message.includes(IMAGE_FORMAT_NAMES), err.message);
  }
});

// --- Decoding ---

test('decodes RGBA and reports transparency', async () => {
  const disc = file('disc.png', await rawImage(40, 30, (x, y) => ((x - 20) ** 2 + (y - 15) ** 2 < 100 ? [200, 50, 10, 255] : [0, 0, 0, 0])).png().toBuffer());
  const image = await decodeImage(disc);
  assert.deepEqual([image.width, image.height, image.rgba.length], [40, 30, 40 * 30 * 4]);
  assert.equal(image.hasTransparency, true);
  assert.deepEqual(pixel(image, 20, 15), [200, 50, 10, 255]);
  assert.deepEqual(pixel(image, 0, 0)[3], 0);
  const opaque = await decodeImage(file('opaque.png', await rawImage(8, 8, () => [9, 9, 9, 255]).png().toBuffer()));
  assert.equal(opaque.hasTransparency, false);
});

test('the probe falls back to the whole file when the header lies past its first read (a TIFF directory at the end)', async () => {
  const [width, height] = [700, 400];
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const bytes = await sharp(noise, { raw: { width, height, channels: 3 } }).tiff({ compression: 'none' }).toBuffer();
  const directoryAt = bytes.toString('latin1', 0, 2) === 'II' ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4);
  assert.ok(directoryAt > 512 * 1024, `the TIFF directory sits at byte ${directoryAt}, inside the first read: this test would not reach the fallback`);
  const at = file('late-directory.tiff', bytes);
  assert.deepEqual(await probeImage(at), { width, height, format: 'tiff' });
  const image = await decodeImage(at);
  assert.deepEqual([image.width, image.height], [width, height]);
  assert.deepEqual(pixel(image, 0, 0), [...noise.subarray(0, 3), 255]);
});
