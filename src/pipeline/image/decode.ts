import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { UserError } from '../errors.js';
import { BmpError, checkBmpLength, decodeBmp, isBmp, readBmpHeader, type BmpHeader } from './bmp.js';
import { IMAGE_FORMAT_NAMES, type ImageFormatId } from './imageFormats.js';

/** An image decoded to 8-bit sRGB with alpha, EXIF orientation applied. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 4 bytes, row-major RGBA. */
  readonly rgba: Uint8Array;
  /** True when some pixel is not fully opaque: the alpha then marks the object. */
  readonly hasTransparency: boolean;
}

/** What an image file's header says, EXIF orientation applied to the size. */
export interface ImageProbe {
  readonly width: number;
  readonly height: number;
  readonly format: ImageFormatId;
}

/** The default ceiling on decoded pixels: decoding more would cost gigabytes for a 512² network input. */
export const DEFAULT_MAX_INPUT_PIXELS = 50_000_000;

/**
 * What a probe reads first. Headers nearly always sit at the start, but a TIFF may keep its directory
 * at the end and a JPEG may carry large metadata first: when the start alone does not parse, the probe
 * reads the whole file (still without decoding any pixels).
 */
const PROBE_BYTES = 512 * 1024;

/** Node cannot read a larger file into one buffer; no image within the pixel limit comes near it. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Decodes the first frame or page of a PNG, JPEG, WebP, TIFF, BMP, GIF or AVIF file to 8-bit sRGB RGBA:
 * EXIF orientation applied, an embedded ICC profile converted to sRGB, 16-bit samples reduced to their
 * high byte (as Pillow reads 16-bit RGB), CMYK, grey and palettes expanded, alpha kept.
 */
export async function decodeImage(path: string, maxPixels = DEFAULT_MAX_INPUT_PIXELS): Promise<DecodedImage> {
  const file = await readImageFile(path);
  const header = await identify(path, file.bytes, file.size);
  if (!header) throw new Error('identify answers for a whole file');
  checkPixelCount(path, header, maxPixels);
  const decoded = header.bmp
    ? decodeBmpFile(path, file.bytes, header.bmp)
    : await decodeWithSharp(path, file.bytes, maxPixels, header.wideWithProfile === true);
  return { ...decoded, hasTransparency: anyTranslucent(decoded.rgba) };
}

/**
 * Reads only what it takes to know an image's format and size, and refuses what decodeImage would refuse
 * before decoding (a missing or unreadable file, a folder, an empty file, a format the product does not
 * read, a header that does not parse, too many pixels), with the same errors. Damage inside the pixel
 * data (a truncated file, for one) shows only when decodeImage decodes it.
 */
export async function probeImage(path: string, maxPixels = DEFAULT_MAX_INPUT_PIXELS): Promise<ImageProbe> {
  let file = await readImageFile(path, PROBE_BYTES);
  let header = await identify(path, file.bytes, file.size);
  if (!header) {
    file = await readImageFile(path);
    header = await identify(path, file.bytes, file.size);
    if (!header) throw new Error('identify answers for a whole file');
  }
  checkPixelCount(path, header, maxPixels);
  if (header.bmp) {
    // A BMP's uncompressed pixel data has a known length: a file too short for it is refused here already.
    try {
      checkBmpLength(header.bmp, file.size);
    } catch (err) {
      throw bmpRefused(path, err);
    }
  }
  return { width: header.width, height: header.height, format: header.format };
}

interface ImageFile {
  /** The file's bytes, or its first ones when a read was limited. */
  readonly bytes: Buffer;
  /** The whole file's length. */
  readonly size: number;
}

async function readImageFile(path: string, limit = Infinity): Promise<ImageFile> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
  if (stat.isDirectory()) {
    throw new UserError(`${path} is a folder, not an image.`, `Choose an image file (${IMAGE_FORMAT_NAMES}).`, 'image-unreadable');
  }
  // Opening a pipe or a device would wait for a writer or read without end.
  if (!stat.isFile()) {
    throw new UserError(`${path} is not a regular file.`, `Choose an image file (${IMAGE_FORMAT_NAMES}).`, 'image-unreadable');
  }
  if (stat.size === 0) {
    throw new UserError(`The image ${path} is empty (0 bytes).`, 'Choose an image file that has content.', 'image-empty');
  }
  if (stat.size > MAX_FILE_BYTES && limit > MAX_FILE_BYTES) {
    throw new UserError(
      `The image ${path} is ${(stat.size / 2 ** 30).toFixed(1)} GiB, too large to read.`,
      'Scale it down or save it compressed (the network sees 512 × 512 pixels) and try again.',
      'image-too-large',
    );
  }
  try {
    const handle = await fs.open(path, 'r');
    try {
      const wanted = Math.min(stat.size, limit);
      const bytes = Buffer.alloc(wanted);
      let filled = 0;
      while (filled < wanted) {
        const { bytesRead } = await handle.read(bytes, filled, wanted - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      // A file that shrank since the stat is taken as it is now.
      const size = filled < wanted ? filled : stat.size;
      if (size === 0) throw new UserError(`The image ${path} is empty (0 bytes).`, 'Choose an image file that has content.', 'image-empty');
      return { bytes: bytes.subarray(0, filled), size };
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw cannotRead(path, err);
  }
}

interface Header extends ImageProbe {
  /** The BMP header, for the BMP reader. */
  readonly bmp?: BmpHeader;
  /** 16-bit RGB with an embedded ICC profile: see decodeWithSharp. */
  readonly wideWithProfile?: boolean;
}

/**
 * The format and size from the file's start. Undefined when `bytes` is only the start of the file and
 * does not hold the whole header; a whole file that does not parse is refused.
 */
async function identify(path: string, bytes: Buffer, fileLength: number): Promise<Header | undefined> {
  const partial = bytes.length < fileLength;
  if (isBmp(bytes)) {
    try {
      const bmp = readBmpHeader(bytes, fileLength);
      return { format: 'bmp', width: bmp.width, height: bmp.height, bmp };
    } catch (err) {
      throw bmpRefused(path, err);
    }
  }
  let metadata: sharp.Metadata;
  try {
    // Reading a header allocates no pixels, so the pixel limit is applied below with the image's size in the message.
    metadata = await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (err) {
    if (partial) return undefined;
    throw undecodable(path, err);
  }
  const format = productFormat(metadata);
  if (!format) throw unsupportedFormat(path, metadata);
  return {
    format,
    width: metadata.autoOrient.width,
    height: metadata.autoOrient.height,
    wideWithProfile: metadata.space === 'rgb16' && metadata.hasProfile,
  };
}

function productFormat(metadata: sharp.Metadata): ImageFormatId | undefined {
  switch (metadata.format) {
    case 'png':
    case 'jpeg':
    case 'webp':
    case 'tiff':
    case 'gif':
      return metadata.format;
    case 'heif':
      return metadata.compression === 'av1' ? 'avif' : undefined;
    default:
      return undefined;
  }
}

function checkPixelCount(path: string, size: { width: number; height: number }, maxPixels: number): void {
  const pixels = size.width * size.height;
  if (pixels > maxPixels) throw tooLarge(path, maxPixels, `${size.width} × ${size.height} pixels, ${formatMegapixels(pixels)} megapixels`);
}

function decodeBmpFile(path: string, bytes: Buffer, header: BmpHeader): { width: number; height: number; rgba: Uint8Array } {
  try {
    checkBmpLength(header, bytes.length);
    return { width: header.width, height: header.height, rgba: decodeBmp(bytes, header) };
  } catch (err) {
    throw bmpRefused(path, err);
  }
}

async function decodeWithSharp(
  path: string,
  bytes: Buffer,
  maxPixels: number,
  wideWithProfile: boolean,
): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  try {
    // page 0 is a GIF's or WebP's first frame and a TIFF's first page. toColourspace('srgb') is sharp's
    // default for raw output too, named here because the rest relies on it. sharp converts an embedded ICC
    // profile as it loads, to sRGB for 8-bit images but to Display P3 for 16-bit RGB ones (sharp 0.35,
    // pipeline.cc), and toColourspace('srgb') then only rescales the numbers: a 16-bit file, even one
    // tagged sRGB, would come out as P3 numbers read as sRGB. An output transform to sRGB, from the P3 now
    // attached, puts them back (within 2 levels, as it works on 8 bits). Without an embedded profile,
    // 16-bit input is taken as sRGB and must not be transformed. CMYK without a profile goes through
    // libvips' own CMYK profile.
    let pipeline = sharp(bytes, { limitInputPixels: Math.max(1, Math.floor(maxPixels)), autoOrient: true, failOn: 'error', pages: 1, page: 0 }).toColourspace('srgb');
    if (wideWithProfile) pipeline = pipeline.withIccProfile('srgb');
    const { data, info } = await pipeline.ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
      throw new Error(`sharp returned ${info.channels} channels of ${info.width} × ${info.height} in ${data.length} bytes`);
    }
    return { width: info.width, height: info.height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(text)) throw tooLarge(path, maxPixels);
    throw undecodable(path, err);
  }
}

function cannotRead(path: string, err: unknown): UserError {
  return new UserError(
    `Cannot read the image ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
    'Check that the file exists and that you may read it.',
    'image-unreadable',
  );
}

function undecodable(path: string, err: unknown): UserError {
  const text = err instanceof Error ? err.message : String(err);
  return new UserError(
    `The file ${path} could not be decoded as an image (${text.replace(/\s+/g, ' ').trim()}).`,
    `Use a ${IMAGE_FORMAT_NAMES} file that opens in an image viewer.`,
    'image-unreadable',
  );
}

function unsupportedFormat(path: string, metadata: sharp.Metadata): UserError {
  const kind = metadata.format === 'heif' ? `a HEIF image compressed with ${metadata.compression?.toUpperCase() ?? 'an unknown codec'} (HEIC)` : `an image in the ${metadata.format.toUpperCase()} format`;
  return new UserError(
    `${path} is ${kind}, which Image to 3D does not read: it reads ${IMAGE_FORMAT_NAMES}.`,
    'Convert it to PNG (which keeps transparency) or JPEG in an image editor and try again.',
    'image-unreadable',
  );
}

function bmpRefused(path: string, err: unknown): unknown {
  if (!(err instanceof BmpError)) return err;
  if (err.kind === 'unsupported') {
    return new UserError(
      `${path} is ${err.message}, which Image to 3D does not read.`,
      'Save it again as a 24-bit BMP or as a PNG in an image editor and try again.',
      'image-unreadable',
    );
  }
  return new UserError(
    `The BMP file ${path} is damaged: ${err.message}.`,
    `Open it in an image editor and save it again, or use another ${IMAGE_FORMAT_NAMES} file.`,
    'image-unreadable',
  );
}

function tooLarge(path: string, maxPixels: number, size?: string): UserError {
  return new UserError(
    `The image ${path} is larger than ${formatMegapixels(maxPixels)} megapixels${size ? ` (${size})` : ''}, too large to decode safely.`,
    'Scale it down in an image editor (the network sees 512 × 512 pixels) and try again.',
    'image-too-large',
  );
}

function anyTranslucent(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}

function formatMegapixels(pixels: number): string {
  return pixels >= 1e6 ? (pixels / 1e6).toFixed(0) : (pixels / 1e6).toPrecision(2);
}
