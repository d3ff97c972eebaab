import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/pipeline/image/decode.js';
import { foregroundBox, networkInput, NETWORK_IMAGE_SIZE } from '../../src/pipeline/image/frame.js';
import { UserError } from '../../src/pipeline/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'i3d-image-'));

async function png(name: string, width: number, height: number, draw: (x: number, y: number) => [number, number, number, number]): Promise<string> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(draw(x, y), (y * width + x) * 4);
  const file = path.join(dir, name);
  await sharp(data, { raw: { width, height, channels: 4 } }).png().toFile(file);
  return file;
}

test('the foreground box follows the reference exclusive crop', async () => {
  // Opaque block from x 10..19, y 5..24 inclusive: the reference slices [5:24, 10:19].
  const file = await png('block.png', 40, 40, (x, y) => (x >= 10 && x <= 19 && y >= 5 && y <= 24 ? [255, 255, 255, 255] : [0, 0, 0, 0]));
  const box = foregroundBox(await decodeImage(file));
  assert.deepEqual(box, { x: 10, y: 5, width: 9, height: 19 });
});

test('a fully transparent image is refused as empty', async () => {
  const file = await png('clear.png', 16, 16, () => [0, 0, 0, 0]);
  const image = await decodeImage(file);
  assert.throws(() => foregroundBox(image), (err: unknown) => err instanceof UserError && err.code === 'image-empty');
});

test('network input: 3×512×512 in [0, 1], object centred on grey', async () => {
  const file = await png('red.png', 64, 32, (x, y) => (x >= 16 && x < 48 && y >= 8 && y < 24 ? [255, 0, 0, 255] : [0, 0, 0, 0]));
  const input = networkInput(await decodeImage(file));
  const plane = NETWORK_IMAGE_SIZE ** 2;
  assert.equal(input.length, 3 * plane);
  let min = Infinity;
  let max = -Infinity;
  for (const v of input) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(min >= 0 && max <= 1);
  const at = (c: number, x: number, y: number): number => input[c * plane + y * NETWORK_IMAGE_SIZE + x];
  // Centre is the red object, the corners are the grey background (127/255).
  assert.ok(at(0, 256, 256) > 0.95 && at(1, 256, 256) < 0.05);
  for (const [x, y] of [[2, 2], [509, 2], [2, 509], [509, 509]]) {
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(c, x, y) - 127 / 255) < 1e-6);
  }
  // The object's longer side fills about 85% of the frame.
  let redColumns = 0;
  for (let x = 0; x < NETWORK_IMAGE_SIZE; x++) if (at(0, x, 256) > 0.75 && at(1, x, 256) < 0.25) redColumns++;
  assert.ok(Math.abs(redColumns / NETWORK_IMAGE_SIZE - 0.85) < 0.02, `object spans ${redColumns} columns`);
});

test('an opaque photo is the object as a whole, less the last row and column TripoSR\'s crop drops', async () => {
  const file = path.join(dir, 'photo.jpg');
  await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toFile(file);
  const image = await decodeImage(file);
  assert.equal(image.hasTransparency, false);
  assert.deepEqual(foregroundBox(image), { x: 0, y: 0, width: 79, height: 59 });
});
