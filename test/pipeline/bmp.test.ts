/**
 * The BMP reader (src/pipeline/image/bmp.ts) through decodeImage/probeImage: every variant Pillow 9.4
 * reads is compared byte for byte with Pillow (test/reference/pil_decode.py, Debian's /usr/bin/python3),
 * the rest (generic masks, RLE deltas, odd RLE4 literal runs, all-zero alpha) with values worked out
 * here from the format's definition, and malformed files must be refused before anything is allocated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { decodeImage, probeImage, type DecodedImage } from '../../src/pipeline/image/decode.js';
import { BMP_COMPRESSION } from '../../src/pipeline/image/bmp.js';
import { UserError } from '../../src/pipeline/errors.js';
import { rejectsWith } from '../fixtures/userErrors.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const REFERENCE = path.join(__dirname, '..', 'reference', 'pil_decode.py');
const dir = mkdtempSync(path.join(tmpdir(), 'i3d-bmp-'));

const { BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_JPEG, BI_PNG, BI_ALPHABITFIELDS } = BMP_COMPRESSION;

type Rgb = readonly [number, number, number];

interface BmpSpec {
  readonly width: number;
  /** Negative for top-down rows, as in the file. */
  readonly height: number;
  readonly bits: number;
  readonly compression?: number;
  readonly headerSize?: number;
  /** Inside the header when it is 52 bytes or more, else right after it. */
  readonly masks?: readonly number[];
  readonly palette?: readonly Rgb[];
  readonly coloursUsed?: number;
  readonly planes?: number;
  readonly pixelOffset?: number;
  /** The pixel data as stored. */
  readonly data: Uint8Array;
}

/** Writes a BMP field by field from the format's definition (file header, info header, masks, palette, pixels). */
function bmpBytes(spec: BmpSpec): Buffer {
  const headerSize = spec.headerSize ?? 40;
  const masks = spec.masks ?? [];
  const masksAfter = headerSize === 40 ? masks.length * 4 : 0;
  const palette = spec.palette ?? [];
  const offset = 14 + headerSize + masksAfter + palette.length * 4;
  const file = Buffer.alloc(offset + spec.data.length);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(spec.pixelOffset ?? offset, 10);
  file.writeUInt32LE(headerSize, 14);
  if (headerSize === 12) {
    file.writeUInt16LE(spec.width, 18);
    file.writeUInt16LE(Math.abs(spec.height), 20);
    file.writeUInt16LE(spec.planes ?? 1, 22);
    file.writeUInt16LE(spec.bits, 24);
  } else {
    file.writeInt32LE(spec.width, 18);
    file.writeInt32LE(spec.height, 22);
    file.writeUInt16LE(spec.planes ?? 1, 26);
    file.writeUInt16LE(spec.bits, 28);
    file.writeUInt32LE(spec.compression ?? BI_RGB, 30);
    file.writeUInt32LE(spec.data.length, 34);
    file.writeInt32LE(2835, 38);
    file.writeInt32LE(2835, 42);
    // A palette shorter than the depth allows must be declared, or readers expect 2^bits entries.
    file.writeUInt32LE(spec.coloursUsed ?? (palette.length > 0 && palette.length < 2 ** spec.bits ? palette.length : 0), 46);
    const maskRoom = headerSize === 40 ? masks.length : Math.min(masks.length, (headerSize - 40) / 4);
    for (let i = 0; i < maskRoom; i++) file.writeUInt32LE(masks[i], 54 + 4 * i);
    if (headerSize >= 108) file.write('BGRs', 70, 'latin1'); // LCS_sRGB, stored little-endian
  }
  palette.forEach(([r, g, b], i) => file.set([b, g, r, 0], 14 + headerSize + masksAfter + 4 * i));
  file.set(spec.data, offset);
  return file;
}

/** Rows of bytes, each padded to a multiple of 4 as uncompressed BMP rows are. */
function paddedRows(rows: readonly (readonly number[])[]): Uint8Array {
  return Uint8Array.from(rows.flatMap((row) => [...row, ...new Array<number>((4 - (row.length % 4)) % 4).fill(0)]));
}

/** Palette indices packed high bits first, `bits` per pixel. */
function packIndices(indices: readonly number[], bits: number): number[] {
  const bytes = new Array<number>(Math.ceil((indices.length * bits) / 8)).fill(0);
  indices.forEach((index, i) => {
    const bit = i * bits;
    bytes[bit >> 3] |= index << (8 - bits - (bit & 7));
  });
  return bytes;
}

const le16 = (v: number): number[] => [v & 255, v >>> 8];
const le32 = (v: number): number[] => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

interface PilImage {
  readonly width: number;
  readonly height: number;
  readonly mode: string;
  readonly rgba: Uint8Array;
}

/** Pillow's reading of each file (TripoSR's reader), or its refusal. */
async function pillow(files: readonly string[]): Promise<Map<string, PilImage | string>> {
  const { stdout } = await run(PYTHON, [REFERENCE, ...files]);
  const result = new Map<string, PilImage | string>();
  for (const line of stdout.trim().split('\n')) {
    const answer = JSON.parse(line) as { file: string; error?: string; width: number; height: number; mode: string };
    result.set(answer.file, answer.error ?? { ...answer, rgba: new Uint8Array(readFileSync(`${answer.file}.rgba`)) });
  }
  return result;
}


function rgbaOf(image: DecodedImage): number[][] {
  const pixels: number[][] = [];
  for (let i = 0; i < image.rgba.length; i += 4) pixels.push([...image.rgba.subarray(i, i + 4)]);
  return pixels;
}

const PALETTE_16: Rgb[] = Array.from({ length: 16 }, (_, i) => [(i * 37) % 256, (i * 91 + 10) % 256, 255 - i * 13]);
const PALETTE_8 = PALETTE_16.slice(0, 8);

/** Variants Pillow 9.4 reads correctly; every one must decode to Pillow's bytes. */
const PILLOW_CASES: Record<string, BmpSpec> = {
  '1-bit palette, odd width, bottom-up': {
    width: 13,
    height: 3,
    bits: 1,
    palette: [
      [200, 30, 40],
      [20, 220, 90],
    ],
    data: paddedRows([0, 1, 2].map((y) => packIndices(Array.from({ length: 13 }, (_, x) => (x + y) % 3 === 0 ? 1 : 0), 1))),
  },
  '4-bit palette, top-down': {
    width: 7,
    height: -3,
    bits: 4,
    palette: PALETTE_16,
    data: paddedRows([0, 1, 2].map((y) => packIndices(Array.from({ length: 7 }, (_, x) => (x * 3 + y * 5) % 16), 4))),
  },
  '8-bit palette': {
    width: 5,
    height: 4,
    bits: 8,
    palette: PALETTE_16,
    coloursUsed: 16,
    data: paddedRows([0, 1, 2, 3].map((y) => Array.from({ length: 5 }, (_, x) => (x * 7 + y) % 16))),
  },
  '8-bit grey ramp (Pillow reads it as L)': {
    width: 3,
    height: 2,
    bits: 8,
    palette: Array.from({ length: 256 }, (_, i): Rgb => [i, i, i]),
    data: paddedRows([
      [0, 128, 255],
      [7, 64, 200],
    ]),
  },
  '24-bit, bottom-up, padded rows': {
    width: 5,
    height: 3,
    bits: 24,
    data: paddedRows([0, 1, 2].map((y) => Array.from({ length: 5 }, (_, x) => [x * 50, y * 100, 255 - x * 40]).flat())),
  },
  '24-bit, top-down': {
    width: 2,
    height: -2,
    bits: 24,
    data: paddedRows([
      [1, 2, 3, 4, 5, 6],
      [250, 251, 252, 9, 8, 7],
    ]),
  },
  '16-bit BI_RGB (X1R5G5B5)': {
    width: 4,
    height: 2,
    bits: 16,
    data: paddedRows([0, 1].map((y) => Array.from({ length: 4 }, (_, x) => le16(((x * 9 + y) << 10) | ((x * 5 + 3 * y) << 5) | (31 - x * 7))).flat())),
  },
  '16-bit BI_BITFIELDS R5G6B5': {
    width: 3,
    height: 2,
    bits: 16,
    compression: BI_BITFIELDS,
    masks: [0xf800, 0x07e0, 0x001f],
    data: paddedRows([0, 1].map((y) => Array.from({ length: 3 }, (_, x) => le16(((x * 11 + y) << 11) | ((x * 21 + y * 3) << 5) | (x * 9 + 1))).flat())),
  },
  '32-bit BI_RGB: the fourth byte is not alpha': {
    width: 2,
    height: 2,
    bits: 32,
    data: Uint8Array.from([10, 20, 30, 0, 40, 50, 60, 77, 70, 80, 90, 128, 100, 110, 120, 255]),
  },
  '32-bit BI_BITFIELDS with a V4 header: BGRA': {
    width: 2,
    height: 2,
    bits: 32,
    headerSize: 108,
    compression: BI_BITFIELDS,
    masks: [0xff0000, 0xff00, 0xff, 0xff000000],
    data: Uint8Array.from([10, 20, 30, 0, 40, 50, 60, 77, 70, 80, 90, 128, 100, 110, 120, 255]),
  },
  '32-bit BI_BITFIELDS with a V5 header: RGBA order': {
    width: 3,
    height: -1,
    bits: 32,
    headerSize: 124,
    compression: BI_BITFIELDS,
    masks: [0xff, 0xff00, 0xff0000, 0xff000000],
    data: Uint8Array.from([200, 100, 50, 255, 1, 2, 3, 4, 9, 9, 9, 0]),
  },
  'RLE8: runs, a padded literal run, a run clipped at the row end': {
    width: 6,
    height: 4,
    bits: 8,
    compression: BI_RLE8,
    palette: PALETTE_8,
    data: Uint8Array.from([
      ...[3, 1, 0, 3, 2, 3, 4, 0, 0, 0], // bottom row: 1 1 1 2 3 4 (a 3-pixel literal run and its pad byte)
      ...[6, 5, 0, 0],
      ...[2, 7, 9, 1, 0, 0], // a run of 9 where 4 fit
      ...[0, 4, 1, 2, 3, 4, 2, 6, 0, 1], // top row, then the end-of-bitmap marker
    ]),
  },
  'RLE4: runs alternate two nibbles, literal runs': {
    width: 7,
    height: 3,
    bits: 4,
    compression: BI_RLE4,
    palette: PALETTE_16,
    data: Uint8Array.from([
      ...[7, 0x12, 0, 0],
      ...[0, 4, 0x34, 0x56, 3, 0x78, 0, 0],
      ...[2, 0x9a, 0, 4, 0xbc, 0xde, 1, 0xf0, 0, 1],
    ]),
  },
};

test('every BMP variant Pillow reads decodes to Pillow’s pixels', async () => {
  const files = new Map(Object.entries(PILLOW_CASES).map(([name, spec], i) => [name, write(`pil-${i}.bmp`, bmpBytes(spec))]));
  const reference = await pillow([...files.values()]);
  for (const [name, file] of files) {
    const pil = reference.get(file);
    assert.ok(pil && typeof pil !== 'string', `Pillow refused ${name}: ${String(pil)}`);
    const ours = await decodeImage(file);
    assert.equal(ours.width, pil.width, name);
    assert.equal(ours.height, pil.height, name);
    assert.deepEqual(rgbaOf(ours), rgbaOf({ ...pil, hasTransparency: false }), name);
    assert.equal(ours.hasTransparency, rgbaOf(ours).some((p) => p[3] !== 255), name);
    assert.deepEqual(await probeImage(file), { width: pil.width, height: pil.height, format: 'bmp' }, name);
  }
});

test('alpha from 32-bit V4/V5 masks is kept and reported as transparency', async () => {
  const image = await decodeImage(write('alpha.bmp', bmpBytes(PILLOW_CASES['32-bit BI_BITFIELDS with a V4 header: BGRA'])));
  assert.equal(image.hasTransparency, true);
  // Bottom-up: the first stored pixel is the bottom-left one.
  assert.deepEqual(rgbaOf(image), [
    [90, 80, 70, 128],
    [120, 110, 100, 255],
    [30, 20, 10, 0],
    [60, 50, 40, 77],
  ]);
});

test('generic masks widen each field to 8 bits as floor(v × 255 / max)', async () => {
  // 10-10-10-2 in a V5 header: r 1023, g 512, b 0, a 2 → 255, floor(512·255/1023) = 127, 0, floor(2·255/3) = 170.
  const wide = bmpBytes({
    width: 1,
    height: 1,
    bits: 32,
    headerSize: 124,
    compression: BI_BITFIELDS,
    masks: [0x3ff00000, 0x000ffc00, 0x000003ff, 0xc0000000],
    data: Uint8Array.from(le32(((2 << 30) | (1023 << 20) | (512 << 10) | 0) >>> 0)),
  });
  assert.deepEqual(rgbaOf(await decodeImage(write('1010102.bmp', wide))), [[255, 127, 0, 170]]);
  // A4R4G4B4 through BI_ALPHABITFIELDS after a 40-byte header: 0x8F40 → a 8·17, r 255, g 4·17, b 0.
  const small = bmpBytes({
    width: 2,
    height: 1,
    bits: 16,
    compression: BI_ALPHABITFIELDS,
    masks: [0x0f00, 0x00f0, 0x000f, 0xf000],
    data: paddedRows([[...le16(0x8f40), ...le16(0xf123)]]),
  });
  assert.deepEqual(rgbaOf(await decodeImage(write('4444.bmp', small))), [
    [255, 68, 0, 136],
    [17, 34, 51, 255],
  ]);
});

test('an alpha mask that is zero on every pixel leaves the image opaque, as browsers show it', async () => {
  const file = write(
    'zero-alpha.bmp',
    bmpBytes({
      width: 2,
      height: 1,
      bits: 32,
      headerSize: 108,
      compression: BI_BITFIELDS,
      masks: [0xff0000, 0xff00, 0xff, 0xff000000],
      data: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 0]),
    }),
  );
  const image = await decodeImage(file);
  assert.equal(image.hasTransparency, false);
  assert.deepEqual(rgbaOf(image), [
    [3, 2, 1, 255],
    [6, 5, 4, 255],
  ]);
});

test('RLE deltas and odd RLE4 literal runs; skipped pixels take palette entry 0', async () => {
  const palette: Rgb[] = [
    [11, 12, 13],
    [200, 0, 0],
    [0, 200, 0],
    [0, 0, 200],
    [9, 9, 9],
    [50, 60, 70],
  ];
  const delta = bmpBytes({
    width: 5,
    height: 3,
    bits: 8,
    compression: BI_RLE8,
    palette,
    // Bottom row: 2 × index 3, then a delta of 2 right and 1 up, one index 5 there, end of line, 5 × index 4, end.
    data: Uint8Array.from([2, 3, 0, 2, 2, 1, 1, 5, 0, 0, 5, 4, 0, 1]),
  });
  const fill = [...palette[0], 255];
  const [c3, c4, c5] = [3, 4, 5].map((i) => [...palette[i], 255]);
  assert.deepEqual(rgbaOf(await decodeImage(write('rle8-delta.bmp', delta))), [
    ...[c4, c4, c4, c4, c4],
    ...[fill, fill, fill, fill, c5],
    ...[c3, c3, fill, fill, fill],
  ]);
  const oddLiteral = bmpBytes({
    width: 5,
    height: 1,
    bits: 4,
    compression: BI_RLE4,
    palette,
    // A literal run of 5 nibbles: 3 bytes and 1 pad byte, then the end of the bitmap.
    data: Uint8Array.from([0, 5, 0x12, 0x34, 0x50, 0, 0, 1]),
  });
  assert.deepEqual(
    rgbaOf(await decodeImage(write('rle4-odd.bmp', oddLiteral))),
    [1, 2, 3, 4, 5].map((i) => [...palette[i], 255]),
  );
});

test('an index past a short palette is black', async () => {
  const file = write(
    'short-palette.bmp',
    bmpBytes({
      width: 3,
      height: 1,
      bits: 8,
      coloursUsed: 2,
      palette: [
        [10, 20, 30],
        [40, 50, 60],
      ],
      data: paddedRows([[1, 0, 7]]),
    }),
  );
  assert.deepEqual(rgbaOf(await decodeImage(file)), [
    [40, 50, 60, 255],
    [10, 20, 30, 255],
    [0, 0, 0, 255],
  ]);
});

/** Files that lie about themselves or use what the reader leaves out: refused by name, before allocating. */
const REFUSED: Record<string, { spec: BmpSpec; message: RegExp; bytes?: (b: Buffer) => Buffer }> = {
  'an OS/2 header': { spec: { width: 2, height: 2, bits: 24, headerSize: 12, data: paddedRows([[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]]) }, message: /OS\/2/ },
  'an unknown header size': { spec: { width: 1, height: 1, bits: 24, headerSize: 44, data: paddedRows([[1, 2, 3]]) }, message: /header size \(44 bytes\)/ },
  'embedded JPEG': { spec: { width: 1, height: 1, bits: 0, compression: BI_JPEG, data: Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]) }, message: /embedded JPEG/ },
  'embedded PNG': { spec: { width: 1, height: 1, bits: 24, compression: BI_PNG, data: Uint8Array.from([137, 80, 78, 71]) }, message: /embedded PNG/ },
  '2-bit pixels': { spec: { width: 4, height: 1, bits: 2, palette: PALETTE_16.slice(0, 4), data: paddedRows([[0x1b]]) }, message: /2-bit BMP/ },
  '64-bit pixels': { spec: { width: 1, height: 1, bits: 64, data: new Uint8Array(8) }, message: /64-bit BMP/ },
  'RLE with top-down rows': { spec: { width: 2, height: -1, bits: 8, compression: BI_RLE8, palette: PALETTE_8, data: Uint8Array.from([2, 1, 0, 1]) }, message: /top-down/ },
  'RLE8 on 4-bit pixels': { spec: { width: 2, height: 1, bits: 4, compression: BI_RLE8, palette: PALETTE_16, data: Uint8Array.from([2, 1, 0, 1]) }, message: /RLE8 compression for 4-bit/ },
  'RLE data that stops before the bitmap ends': { spec: { width: 2, height: 3, bits: 8, compression: BI_RLE8, palette: PALETTE_8, data: Uint8Array.from([2, 1, 0, 0]) }, message: /ends at row 1 of 3/ },
  'overlapping masks': { spec: { width: 1, height: 1, bits: 16, compression: BI_BITFIELDS, masks: [0xf800, 0x0fe0, 0x001f], data: paddedRows([[0, 0]]) }, message: /overlap/ },
  'a mask with a gap': { spec: { width: 1, height: 1, bits: 16, compression: BI_BITFIELDS, masks: [0xf000, 0x0f00, 0x00f5], data: paddedRows([[0, 0]]) }, message: /not one run of bits/ },
  'a mask wider than the pixel': { spec: { width: 1, height: 1, bits: 16, compression: BI_BITFIELDS, masks: [0x1f0000, 0x07e0, 0x001f], data: paddedRows([[0, 0]]) }, message: /does not fit 16-bit/ },
  'an empty colour mask': { spec: { width: 1, height: 1, bits: 32, compression: BI_BITFIELDS, masks: [0xff0000, 0, 0xff], data: new Uint8Array(4) }, message: /green mask is empty/ },
  'more palette colours than the depth allows': { spec: { width: 1, height: 1, bits: 1, coloursUsed: 3, palette: PALETTE_8.slice(0, 3), data: paddedRows([[0]]) }, message: /3 palette colours for 1-bit/ },
  'a zero width': { spec: { width: 0, height: 1, bits: 24, data: paddedRows([[0, 0, 0]]) }, message: /width is 0/ },
  'a zero height': { spec: { width: 1, height: 0, bits: 24, data: paddedRows([[0, 0, 0]]) }, message: /height is 0/ },
  'two colour planes': { spec: { width: 1, height: 1, bits: 24, planes: 2, data: paddedRows([[0, 0, 0]]) }, message: /2 colour planes/ },
  'pixel data past the end of the file': { spec: { width: 1, height: 1, bits: 24, pixelOffset: 5000, data: paddedRows([[0, 0, 0]]) }, message: /past the end of the file/ },
  'pixel data inside the palette': { spec: { width: 1, height: 1, bits: 8, palette: PALETTE_8, pixelOffset: 60, data: paddedRows([[0]]) }, message: /overlaps its header or palette/ },
  'a header that claims more pixels than the file holds': {
    spec: { width: 1000, height: 1000, bits: 24, data: paddedRows([[1, 2, 3]]) },
    message: /1000 × 1000 pixels \(3000000 bytes of pixel data\) but the file holds only 4 bytes/,
  },
  'a file cut inside its header': { spec: { width: 1, height: 1, bits: 24, headerSize: 124, data: new Uint8Array(0) }, message: /ends inside its header/, bytes: (b) => b.subarray(0, 60) },
};

test('malformed and unsupported BMP files are refused by decodeImage and probeImage, naming the problem', async () => {
  for (const [name, { spec, message, bytes }] of Object.entries(REFUSED)) {
    let file = bmpBytes(spec);
    if (bytes) file = bytes(file);
    const at = write(`bad-${name.replace(/\W+/g, '-')}.bmp`, file);
    const err = await rejectsWith(decodeImage(at), 'image-unreadable', message);
    assert.match(err.message, new RegExp(path.basename(at).replace(/\./g, '\\.')), `${name}: the message names the file`);
    // Problems in the pixel data only show when decoding; everything in the header shows in a probe too.
    if (!/RLE data that stops/.test(name)) await rejectsWith(probeImage(at), 'image-unreadable', message);
  }
});

test('a BMP declaring a huge size is refused as too large before its missing pixels are even looked at', async () => {
  const file = write('bomb.bmp', bmpBytes({ width: 100_000, height: -100_000, bits: 32, data: new Uint8Array(16) }));
  const err = await rejectsWith(decodeImage(file), 'image-too-large', /100000 × 100000 pixels/);
  assert.match(err.message, /50 megapixels/);
  await rejectsWith(probeImage(file), 'image-too-large');
  // Within a raised limit the same file is refused as damaged, still without allocating 40 GB.
  await rejectsWith(decodeImage(file, 1e10 + 1), 'image-unreadable', /holds only 16/);
});

test('damaged copies of valid files are decoded or refused with a UserError, never anything else', async () => {
  const originals = Object.values(PILLOW_CASES).map(bmpBytes);
  let state = 2463534242;
  const random = (): number => {
    // xorshift32: a fixed sequence, so a failure reproduces.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const at = path.join(dir, 'damaged.bmp');
  let refused = 0;
  for (let i = 0; i < 400; i++) {
    const bytes = Buffer.from(originals[i % originals.length]);
    // Mostly in the headers, where a lie does the most harm; sometimes anywhere; sometimes cut short.
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
      bytes[Math.floor(random() * Math.min(bytes.length, random() < 0.7 ? 80 : bytes.length))] = Math.floor(random() * 256);
    }
    writeFileSync(at, random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes);
    for (const read of [decodeImage, probeImage]) {
      try {
        await read(at, 1_000_000);
      } catch (err) {
        assert.ok(err instanceof UserError, `case ${i}: ${String(err)}\n${bytes.toString('hex')}`);
        refused++;
      }
    }
  }
  assert.ok(refused > 100, `only ${refused} of 800 reads refused: the damage is not reaching the reader`);
});
