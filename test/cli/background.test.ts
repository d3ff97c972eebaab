import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../fixtures/cli.js';
import sharp from 'sharp';
import { writeTestSegmenter } from '../fixtures/segmentationNetwork.js';



/** An opaque photo-like image: a blue ellipse on a plain warm backdrop. */
async function photo(dir: string, name = 'photo.png'): Promise<string> {
  const width = 240;
  const height = 180;
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = ((x - 120) / 60) ** 2 + ((y - 90) / 45) ** 2 < 1;
      rgb.set(inside ? [30, 60, 200] : [200, 190, 170], (y * width + x) * 3);
    }
  }
  const file = path.join(dir, name);
  await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(file);
  return file;
}

const segmenter = writeTestSegmenter(mkdtempSync(path.join(tmpdir(), 'i3d-cli-seg-')), 'u2net-like.onnx', { width: 320, height: 320 });

test('--background-model removes the background of a photo; --save-input writes what the network saw', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-bg-'));
  const image = await photo(dir);
  const run = await runCli([image, '--model', 'standin', '--resolution', '40', '--formats', 'glb', '--background-model', segmenter, '--save-input']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), ['photo.glb', 'photo.input.png', 'photo.mask.png'].map((f) => path.join(dir, f)));
  assert.match(run.stderr, /Background removed with u2net: the object covers (19|20)\.\d% of the image/);
  assert.match(run.stderr, /\[background\]/);
  const mask = await sharp(path.join(dir, 'photo.mask.png')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([mask.info.width, mask.info.height], [240, 180]);
  assert.ok(mask.data[90 * 240 + 120]! > 250 && mask.data[0]! < 5);
});

test('--background keep frames the whole picture; --foreground-ratio changes the framing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-keep-'));
  const image = await photo(dir);
  const run = await runCli([image, '--model', 'standin', '--resolution', '40', '--formats', 'glb', '--background', 'keep', '--save-input', '--foreground-ratio', '0.5', '--no-download']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /Background kept: as asked/);
  const input = await sharp(path.join(dir, 'photo.input.png')).raw().toBuffer({ resolveWithObject: true });
  // Ratio 0.5: the 240-pixel-wide picture spans half the 512² frame, from x = 128 to 384, grey outside.
  const at = (x: number, y: number): number[] => [...input.data.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3)];
  assert.deepEqual(at(120, 256), [127, 127, 127]);
  assert.deepEqual(at(136, 256), [200, 190, 170]);
  assert.deepEqual(at(392, 256), [127, 127, 127]);
});

test('without the network and without downloading, an opaque photo stops with the ways out, and nothing is written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-nodl-'));
  const image = await photo(dir);
  const cache = mkdtempSync(path.join(tmpdir(), 'i3d-cli-cache-'));
  const run = await runCli([image, '--model', 'standin', '--resolution', '40', '--cache', cache, '--no-download', '--background-network', 'u2netp']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /needs the u2netp network/);
  assert.match(run.stderr, /point at a file you have \(--background-model\)/);
  assert.match(run.stderr, /--background keep/);
  assert.deepEqual(readdirSync(dir), ['photo.png']);
});

test('a background model that is not ONNX is named; bad background options are usage errors', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-badseg-'));
  const image = await photo(dir);
  const notOnnx = await runCli([image, '--model', 'standin', '--background-model', image]);
  assert.equal(notOnnx.code, 1, notOnnx.stderr);
  assert.match(notOnnx.stderr, /photo\.png is not an ONNX model/);
  assert.deepEqual(readdirSync(dir), ['photo.png']);
  for (const args of [['--background', 'erase'], ['--background-network', 'rmbg'], ['--foreground-ratio', '0.3'], ['--foreground-ratio', '1.5']]) {
    const run = await runCli([image, ...args]);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(args[0]!));
  }
});
