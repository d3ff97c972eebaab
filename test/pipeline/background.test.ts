import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { isolateObject, loadSegmenter, needsBackgroundRemoval, type Segmenter } from '../../src/pipeline/image/background.js';
import type { DecodedImage } from '../../src/pipeline/image/decode.js';
import { decodeImage } from '../../src/pipeline/image/decode.js';
import { generateFromImage, type GenerateRequest } from '../../src/pipeline/run.js';
import { loadModel, type LoadedModel } from '../../src/pipeline/network/session.js';
import { writeStandinModels } from '../../src/pipeline/network/standinModel.js';
import { prepareSegmentationModel, segmentationManifest } from '../../src/pipeline/network/segmentationSource.js';
import { ModelStore, storeFor } from '../../src/pipeline/network/store/modelStore.js';
import type { DownloadableManifestModel } from '../../src/pipeline/network/store/manifest.js';
import { writeTestSegmenter } from '../fixtures/segmentationNetwork.js';
import { TestFileServer } from '../fixtures/httpServer.js';
import { rejectsWith } from '../fixtures/userErrors.js';
import { CancelledError } from '../../src/pipeline/progress.js';

const work = mkdtempSync(path.join(tmpdir(), 'i3d-background-'));
const nets = path.join(work, 'nets');
/** u2net's interface (320²), the generated colour-key network: an object unlike the corner's colour. */
const u2netLike = writeTestSegmenter(nets, 'u2net-like.onnx', { width: 320, height: 320 });
let model: LoadedModel;
let segmenter: Segmenter;

before(async () => {
  await writeStandinModels(path.join(work, 'standin'));
  model = await loadModel(path.join(work, 'standin'), { executionProviders: ['cpu'] });
  segmenter = await loadSegmenter(u2netLike, 'u2net', { executionProviders: ['cpu'] });
});
after(async () => {
  await segmenter?.dispose();
  await model?.dispose();
});

/** An opaque photo-like image: a red disc (radius r) on a grey-green backdrop, width × height. */
function discOnBackdrop(width: number, height: number, r: number): DecodedImage {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < r * r;
      rgba.set(inside ? [220, 40, 30, 255] : [120, 140, 120, 255], (y * width + x) * 4);
    }
  }
  return { width, height, rgba, hasTransparency: false };
}

async function writePng(image: DecodedImage, file: string): Promise<string> {
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp(image.rgba, { raw: { width: image.width, height: image.height, channels: 4 } }).png().toFile(file);
  return file;
}


test('auto removes only from images without real transparency; remove always; keep never', () => {
  const opaque = discOnBackdrop(8, 8, 3);
  const cutout = { ...opaque, hasTransparency: true };
  assert.equal(needsBackgroundRemoval(opaque, 'auto'), true);
  assert.equal(needsBackgroundRemoval(cutout, 'auto'), false);
  assert.equal(needsBackgroundRemoval(cutout, 'remove'), true);
  assert.equal(needsBackgroundRemoval(opaque, 'keep'), false);
});

test('the network finds the object: its mask, rembg cutout and coverage', async () => {
  const image = discOnBackdrop(200, 150, 40);
  const found = await isolateObject(image, segmenter);
  assert.equal(found.removedWith, 'u2net');
  assert.equal(found.mask.length, 200 * 150);
  assert.ok(found.mask[75 * 200 + 100]! > 250, 'the disc centre is object');
  assert.ok(found.mask[5 * 200 + 5]! < 5, 'the backdrop corner is not');
  const share = (Math.PI * 40 * 40) / (200 * 150);
  assert.ok(Math.abs(found.coverage - share) < 0.02, `coverage ${found.coverage} against ${share}`);
  // The cutout: alpha is the mask, RGB multiplied by it (rembg's naive_cutout).
  const corner = found.image.rgba.subarray(0, 4);
  assert.ok(corner[3]! < 5 && corner[0]! < 5, `background pixel ${[...corner]}`);
  assert.equal(found.image.hasTransparency, true);
});

test('without a network, the image alpha (or full opacity) is the mask', async () => {
  const image = discOnBackdrop(20, 10, 3);
  const kept = await isolateObject(image, undefined);
  assert.equal(kept.removedWith, undefined);
  assert.ok(kept.mask.every((v) => v === 255));
  assert.equal(kept.coverage, 1);
  assert.equal(kept.image, image);
});

test('a network that finds nothing, or takes the whole frame, stops with what to try', async () => {
  const faint = await loadSegmenter(writeTestSegmenter(nets, 'faint.onnx', { width: 320, height: 320, scale: 0.4 }), 'u2net', {
    executionProviders: ['cpu'],
  });
  const constant = await loadSegmenter(writeTestSegmenter(nets, 'constant.onnx', { width: 320, height: 320, gain: 0 }), 'u2net', {
    executionProviders: ['cpu'],
  });
  try {
    const image = discOnBackdrop(120, 90, 20);
    await rejectsWith(isolateObject(image, faint), 'image-empty', /found no object.*40%/s);
    await rejectsWith(isolateObject(image, constant), 'image-empty', /same everywhere/);
    // An object that fills the frame: only a corner of backdrop is left.
    const filled = discOnBackdrop(300, 300, 1000);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) filled.rgba.set([120, 140, 120, 255], (y * 300 + x) * 4);
    await rejectsWith(isolateObject(filled, segmenter), 'image-empty', /whole picture/);
  } finally {
    await faint.dispose();
    await constant.dispose();
  }
});

test('a file that is not ONNX, or has the wrong inputs, is refused by name', async () => {
  const junk = path.join(nets, 'junk.onnx');
  writeFileSync(junk, 'not a network at all');
  await rejectsWith(loadSegmenter(junk, 'u2net', { executionProviders: ['cpu'] }), 'model-invalid', /junk\.onnx.*not an ONNX model/);
  // A 1024² network (IS-Net's size) chosen as u2net (320²): the shapes are named.
  const big = writeTestSegmenter(nets, 'big.onnx', { width: 1024, height: 1024 });
  await rejectsWith(loadSegmenter(big, 'u2net', { executionProviders: ['cpu'] }), 'model-invalid', /\[1,3,1024,1024\].*\[1,3,320,320\]/);
  await rejectsWith(loadSegmenter(path.join(nets, 'missing.onnx'), 'u2net', { executionProviders: ['cpu'] }), 'model-missing');
  await rejectsWith(loadSegmenter(nets, 'u2net', { executionProviders: ['cpu'] }), 'model-missing');
});

test('a half-precision network is fed and read in half precision', async () => {
  const half = await loadSegmenter(writeTestSegmenter(nets, 'half.onnx', { width: 320, height: 320, inputType: 'float16' }), 'u2net', {
    executionProviders: ['cpu'],
  });
  try {
    const found = await isolateObject(discOnBackdrop(100, 100, 30), half);
    assert.ok(found.mask[50 * 100 + 50]! > 250 && found.mask[0]! < 5);
  } finally {
    await half.dispose();
  }
});

function generate(imagePath: string, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    imagePath,
    formats: ['glb'],
    resolution: 48,
    threshold: 25,
    longestSideMm: 100,
    existing: 'fail',
    background: { mode: 'auto', model: { kind: 'file', file: u2netLike, network: 'u2net' } },
    ...extra,
  };
}

test('a run removes the background of a photo and saves what the network saw', async () => {
  const dir = path.join(work, 'run-save');
  const photo = await writePng(discOnBackdrop(300, 200, 60), path.join(dir, 'photo.png'));
  const result = await generateFromImage(generate(photo, { saveInput: true }), { model });
  assert.equal(result.input.backgroundRemovedWith, 'u2net');
  assert.deepEqual(readdirSync(dir).sort(), ['photo.glb', 'photo.input.png', 'photo.mask.png', 'photo.png']);
  const input = await decodeImage(path.join(dir, 'photo.input.png'));
  assert.deepEqual([input.width, input.height], [512, 512]);
  // The framed object is centred: the middle is the disc's red, a corner the grey canvas.
  const at = (x: number, y: number): number[] => [...input.rgba.subarray((y * 512 + x) * 4, (y * 512 + x) * 4 + 3)];
  assert.ok(at(256, 256)[0]! > 180 && at(256, 256)[1]! < 80, `centre ${at(256, 256)}`);
  assert.deepEqual(at(3, 3), [127, 127, 127]);
  const meta = await sharp(path.join(dir, 'photo.mask.png')).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth, meta.space], [300, 200, 1, 'uchar', 'b-w'], 'an 8-bit grey PNG');
  const mask = await sharp(path.join(dir, 'photo.mask.png')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.ok(mask.data[100 * 300 + 150]! > 250 && mask.data[0]! < 5);
  assert.deepEqual([...result.input.png.subarray(1, 4)], [...Buffer.from('PNG')]);
});

test('keep frames the whole opaque picture; the network is not needed', async () => {
  const dir = path.join(work, 'run-keep');
  const photo = await writePng(discOnBackdrop(64, 64, 20), path.join(dir, 'keep.png'));
  const result = await generateFromImage(
    generate(photo, { background: { mode: 'keep', model: { kind: 'file', file: path.join(nets, 'absent.onnx'), network: 'u2net' } } }),
    { model },
  );
  assert.equal(result.input.backgroundRemovedWith, undefined);
  assert.equal(result.input.objectShare, 1);
});

test('a run whose network finds nothing writes nothing', async () => {
  const dir = path.join(work, 'run-empty');
  const photo = await writePng(discOnBackdrop(64, 64, 20), path.join(dir, 'empty.png'));
  const faint = writeTestSegmenter(nets, 'faint2.onnx', { width: 320, height: 320, scale: 0.3 });
  await rejectsWith(
    generateFromImage(generate(photo, { saveInput: true, background: { mode: 'auto', model: { kind: 'file', file: faint, network: 'u2net' } } }), { model }),
    'image-empty',
  );
  assert.deepEqual(readdirSync(dir), ['empty.png']);
});

test('a network that is not downloaded stops with background-model-missing when downloading is not allowed', async () => {
  const dir = path.join(work, 'run-missing');
  const photo = await writePng(discOnBackdrop(64, 64, 20), path.join(dir, 'missing.png'));
  const spec = { kind: 'managed' as const, storeDir: path.join(work, 'store-empty'), network: 'u2netp' as const, allowDownload: false };
  assert.equal((await storeFor(spec.storeDir, spec.network).status()).state, 'missing');
  await rejectsWith(generateFromImage(generate(photo, { background: { mode: 'auto', model: spec } }), { model }), 'background-model-missing', /u2netp/);
  assert.deepEqual(readdirSync(dir), ['missing.png']);
  // An image with its own transparency needs no network: the same request goes through.
  const cutout = discOnBackdrop(64, 64, 20);
  for (let i = 3; i < cutout.rgba.length; i += 4) if (cutout.rgba[i - 3] !== 220) cutout.rgba[i] = 0;
  const transparent = await writePng({ ...cutout, hasTransparency: true }, path.join(dir, 'cutout.png'));
  const result = await generateFromImage(generate(transparent, { background: { mode: 'auto', model: spec } }), { model });
  assert.equal(result.input.backgroundRemovedWith, undefined);
});

test('every network in the manifest is pinned by the publisher MD5 and a file that differs is refused', async () => {
  for (const network of ['u2net', 'u2netp', 'isnet-general-use', 'birefnet-general-lite'] as const) {
    const entry = segmentationManifest(network);
    assert.equal(entry.kind, 'segmentation');
    assert.match(entry.files[0]!.md5 ?? '', /^[0-9a-f]{32}$/);
    assert.match(entry.files[0]!.url, /^https:\/\/github\.com\/danielgatis\/rembg\/releases\/download\//);
  }
  const server = await TestFileServer.start();
  try {
    const bytes = readFileSync(u2netLike);
    server.serve('/u2netp.onnx', bytes);
    const storeDir = path.join(work, 'store-mirror');
    // A mirror serving another file than rembg's is refused by the pinned MD5, and nothing is kept.
    const spec = {
      kind: 'managed' as const,
      storeDir,
      network: 'u2netp' as const,
      allowDownload: true,
      urlOverrides: { 'u2netp.onnx': server.url('/u2netp.onnx') },
    };
    await rejectsWith(prepareSegmentationModel(spec), 'checksum-mismatch', /u2netp\.onnx/);
    assert.equal(existsSync(path.join(storeDir, 'u2netp', 'u2netp.onnx')), false);
    // The same store takes a file whose MD5 matches its pin, records its SHA-256 and serves it.
    const published = segmentationManifest('u2netp');
    const entry: DownloadableManifestModel = {
      ...published,
      files: [{ ...published.files[0]!, md5: createHash('md5').update(bytes).digest('hex') }],
    };
    const store = new ModelStore(storeDir, 'u2netp');
    const record = await store.ensureDownloaded(entry, { urlOverrides: spec.urlOverrides });
    assert.equal(record.files[0]!.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal((await storeFor(storeDir, 'u2netp').status()).state, 'complete-unverified');
    assert.equal(await prepareSegmentationModel({ ...spec, allowDownload: false }), path.join(storeDir, 'u2netp', 'u2netp.onnx'));
  } finally {
    await server.close();
  }
});

test('a download of the network that fails half-way stops the run, writes nothing and keeps the part to resume', async () => {
  const server = await TestFileServer.start();
  try {
    server.serve('/isnet.onnx', Buffer.alloc(300_000, 7));
    server.behave({ dropAfter: 120_000 });
    const dir = path.join(work, 'run-halfway');
    const photo = await writePng(discOnBackdrop(64, 64, 20), path.join(dir, 'halfway.png'));
    const storeDir = path.join(work, 'store-halfway');
    const spec = {
      kind: 'managed' as const,
      storeDir,
      network: 'isnet-general-use' as const,
      allowDownload: true,
      urlOverrides: { 'isnet-general-use.onnx': server.url('/isnet.onnx') },
    };
    const failure = await rejectsWith(generateFromImage(generate(photo, { background: { mode: 'auto', model: spec } }), { model }), 'download-failed');
    assert.match(failure.message, /isnet-general-use\.onnx/);
    assert.deepEqual(readdirSync(dir), ['halfway.png']);
    const part = readdirSync(path.join(storeDir, 'isnet-general-use')).filter((f) => f.endsWith('.part'));
    assert.equal(part.length, 1, 'the received bytes wait for a resume');
  } finally {
    await server.close();
  }
});

test('a cancel during background removal stops the run and writes nothing', async () => {
  const dir = path.join(work, 'run-cancel');
  const photo = await writePng(discOnBackdrop(120, 90, 25), path.join(dir, 'cancel.png'));
  const abort = new AbortController();
  const stages: string[] = [];
  await assert.rejects(
    generateFromImage(generate(photo, { saveInput: true }), {
      model,
      signal: abort.signal,
      onProgress: (p) => {
        stages.push(p.stage);
        if (p.stage === 'background') abort.abort();
      },
    }),
    CancelledError,
  );
  assert.ok(stages.includes('background') && !stages.includes('encode'), stages.join(' '));
  assert.deepEqual(readdirSync(dir), ['cancel.png']);
});
