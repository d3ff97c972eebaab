import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<UserError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(err.hint.length > 0, 'a user error says what to do');
    return err;
  }
  assert.fail(`expected a UserError ${code}`);
}

test('decodes RGBA and reports transparency', async () => {
  const file = await png('disc.png', 40, 30, (x, y) => ((x - 20) ** 2 + (y - 15) ** 2 < 100 ? [200, 50, 10, 255] : [0, 0, 0, 0]));
  const image = await decodeImage(file);
  assert.equal(image.width, 40);
  assert.equal(image.height, 30);
  assert.equal(image.rgba.length, 40 * 30 * 4);
  assert.equal(image.hasTransparency, true);
  assert.deepEqual([...image.rgba.subarray((15 * 40 + 20) * 4, (15 * 40 + 20) * 4 + 4)], [200, 50, 10, 255]);
});

test('an empty file is refused as empty', async () => {
  const file = path.join(dir, 'empty.png');
  writeFileSync(file, '');
  await rejectsWith(decodeImage(file), 'image-empty');
});

test('random bytes and a text file are refused as unreadable, naming the file', async () => {
  const bad = path.join(dir, 'bad.png');
  writeFileSync(bad, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)));
  const err = await rejectsWith(decodeImage(bad), 'image-unreadable');
  assert.match(err.message, /bad\.png/);
  const text = path.join(dir, 'notes.jpg');
  writeFileSync(text, 'not an image at all\n');
  await rejectsWith(decodeImage(text), 'image-unreadable');
});

test('a missing file is refused as unreadable', async () => {
  await rejectsWith(decodeImage(path.join(dir, 'nope.png')), 'image-unreadable');
});

test('an image above the pixel limit is refused before decoding', async () => {
  const file = await png('big.png', 300, 200, () => [1, 2, 3, 255]);
  await rejectsWith(decodeImage(file, 300 * 200 - 1), 'image-too-large');
  const ok = await decodeImage(file, 300 * 200);
  assert.equal(ok.width, 300);
});

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
  const input = await networkInput(await decodeImage(file));
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

test('an opaque photo uses the whole image', async () => {
  const file = path.join(dir, 'photo.jpg');
  await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toFile(file);
  const image = await decodeImage(file);
  assert.equal(image.hasTransparency, false);
  assert.deepEqual(foregroundBox(image), { x: 0, y: 0, width: 80, height: 60 });
});
