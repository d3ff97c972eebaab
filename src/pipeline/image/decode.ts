import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { UserError } from '../errors.js';

/** An image decoded to 8-bit sRGB with alpha, EXIF orientation applied. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 4 bytes, row-major RGBA. */
  readonly rgba: Uint8Array;
  /** True when some pixel is not fully opaque: the alpha then marks the object. */
  readonly hasTransparency: boolean;
}

/** The default ceiling on decoded pixels: decoding more would cost gigabytes for a 512² network input. */
export const DEFAULT_MAX_INPUT_PIXELS = 50_000_000;

export const IMAGE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg', 'webp', 'bmp', 'tif', 'tiff'];

export async function decodeImage(path: string, maxPixels = DEFAULT_MAX_INPUT_PIXELS): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    throw new UserError(
      `Cannot read the image ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
      'Check that the file exists and that you may read it.',
      'image-unreadable',
    );
  }
  if (bytes.length === 0) {
    throw new UserError(`The image ${path} is empty (0 bytes).`, 'Choose an image file that has content.', 'image-empty');
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, autoOrient: true, failOn: 'error' })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { width: info.width, height: info.height, rgba, hasTransparency: anyTranslucent(rgba) };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(text)) {
      throw new UserError(
        `The image ${path} is larger than ${formatMegapixels(maxPixels)} megapixels, too large to decode safely.`,
        'Scale it down in an image editor (the network sees 512 × 512 pixels) and try again.',
        'image-too-large',
      );
    }
    throw new UserError(
      `The file ${path} could not be decoded as an image (${text.replace(/\s+/g, ' ').trim()}).`,
      'Use a PNG, JPEG, WebP, BMP or TIFF file that opens in an image viewer.',
      'image-unreadable',
    );
  }
}

function anyTranslucent(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}

function formatMegapixels(pixels: number): string {
  return (pixels / 1e6).toFixed(0);
}
