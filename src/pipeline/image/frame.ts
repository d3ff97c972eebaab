import sharp from 'sharp';
import type { DecodedImage } from './decode.js';
import { UserError } from '../errors.js';
import { IMAGE_SIZE } from '../network/contract.js';

/** TripoSR's input: 3 × 512 × 512 floats in [0, 1], channel-major. */
export const NETWORK_IMAGE_SIZE = IMAGE_SIZE;
/** Share of the square frame the object's longer side fills (TripoSR's default foreground ratio). */
export const FOREGROUND_RATIO = 0.85;
/** Working resolution before the final resize: enough for a 512² result, bounded in memory. */
const MAX_WORKING_SIDE = 1024;

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The object's box: where alpha marks it, TripoSR's crop [y1:y2, x1:x2] with y2/x2 the last index that
 * has alpha > 0, taken as an exclusive end (its off-by-one, kept for parity with the reference);
 * otherwise the whole image.
 */
export function foregroundBox(image: DecodedImage): Box {
  if (!image.hasTransparency) return { x: 0, y: 0, width: image.width, height: image.height };
  const { width, height, rgba } = image;
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * 4;
    for (let x = 0; x < width; x++) {
      if (rgba[row + x * 4 + 3] > 0) {
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
    }
  }
  if (x2 < 0) {
    throw new UserError(
      'The image is fully transparent: there is no object to reconstruct.',
      'Use an image whose object is opaque (a transparent background is fine).',
      'image-empty',
    );
  }
  // Exclusive end, as the reference slices; a one-pixel object still keeps one pixel.
  return { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1) };
}

/**
 * Crops the object, centres it in a square grey frame with the foreground ratio, composites alpha on
 * grey 0.5 and resizes to 512²: the tensor the encoder takes.
 */
export async function networkInput(image: DecodedImage): Promise<Float32Array> {
  const box = foregroundBox(image);
  const scale = Math.min(1, MAX_WORKING_SIDE / Math.max(box.width, box.height));
  const cropW = Math.max(1, Math.round(box.width * scale));
  const cropH = Math.max(1, Math.round(box.height * scale));
  const crop = await sharp(image.rgba, { raw: { width: image.width, height: image.height, channels: 4 } })
    .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
    .resize(cropW, cropH, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();

  const square = Math.max(cropW, cropH);
  const side = Math.floor(square / FOREGROUND_RATIO);
  const offX = Math.floor((square - cropW) / 2) + Math.floor((side - square) / 2);
  const offY = Math.floor((square - cropH) / 2) + Math.floor((side - square) / 2);
  const canvas = Buffer.alloc(side * side * 3, 127);
  for (let y = 0; y < cropH; y++) {
    for (let x = 0; x < cropW; x++) {
      const s = (y * cropW + x) * 4;
      const d = ((y + offY) * side + (x + offX)) * 3;
      const a = crop[s + 3] / 255;
      for (let c = 0; c < 3; c++) {
        // Composite on grey in [0, 1], then truncate to 8 bits as the reference does.
        canvas[d + c] = Math.floor(((crop[s + c] / 255) * a + (1 - a) * 0.5) * 255);
      }
    }
  }
  const resized = await sharp(canvas, { raw: { width: side, height: side, channels: 3 } })
    .resize(NETWORK_IMAGE_SIZE, NETWORK_IMAGE_SIZE, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const plane = NETWORK_IMAGE_SIZE * NETWORK_IMAGE_SIZE;
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    chw[i] = resized[i * 3] / 255;
    chw[plane + i] = resized[i * 3 + 1] / 255;
    chw[2 * plane + i] = resized[i * 3 + 2] / 255;
  }
  return chw;
}
