import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { generateFromImage, type GenerateRequest } from '../../src/pipeline/run.js';
import { loadModel, type LoadedModel } from '../../src/pipeline/network/session.js';
import { writeStandinModels, standinExpectation } from '../../src/pipeline/network/standinModel.js';
import { UserError } from '../../src/pipeline/errors.js';
import { namesOption, plainHint } from '../fixtures/userErrors.js';
import { decodeImage } from '../../src/pipeline/image/decode.js';
import { networkInput } from '../../src/pipeline/image/frame.js';
import { CancelledError } from '../../src/pipeline/progress.js';

const work = mkdtempSync(path.join(tmpdir(), 'i3d-run-'));
const modelDir = path.join(work, 'model');
let model: LoadedModel;

before(async () => {
  await writeStandinModels(modelDir);
  model = await loadModel(modelDir, { executionProviders: ['cpu'] });
});
after(async () => {
  await model?.dispose();
});

/** An opaque square photo of one colour: the stand-in's sphere size follows its brightness. */
async function solidImage(dir: string, name: string, rgb: [number, number, number]): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(file);
  return file;
}

async function meanColour(image: string): Promise<[number, number, number]> {
  const input = await networkInput(await decodeImage(image));
  const plane = input.length / 3;
  const mean = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) mean[c] += input[c * plane + i];
    mean[c] /= plane;
  }
  return [mean[0], mean[1], mean[2]];
}

function request(imagePath: string, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { imagePath, formats: ['glb', 'dxf', 'step'], resolution: 64, threshold: 25, longestSideMm: 100, existing: 'fail', ...extra };
}

function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

test('image → stand-in network → mesh → three files next to the image', async () => {
  const dir = path.join(work, 'basic');
  const image = await solidImage(dir, 'grey.png', [128, 128, 128]);
  const stages = new Set<string>();
  const result = await generateFromImage(request(image), { model, onProgress: (p) => stages.add(p.stage) });
  assert.deepEqual(result.files, ['grey.glb', 'grey.dxf', 'grey.step'].map((f) => path.join(dir, f)));
  assert.deepEqual(listing(dir), ['grey.dxf', 'grey.glb', 'grey.png', 'grey.step']);
  for (const file of result.files) assert.ok(statSync(file).size > 1000, `${file} has content`);
  for (const stage of ['image', 'encode', 'surface', 'mesh', 'colour', 'write']) assert.ok(stages.has(stage), `progress for ${stage}`);
  assert.equal(result.provider, 'cpu');
  assert.ok(result.metrics.watertight, 'the solid is closed');
  assert.equal(result.metrics.components, 1);
  // A sphere scaled so its diameter is 100 mm: volume π/6 · 100³.
  const sphere = (Math.PI / 6) * 100 ** 3;
  assert.ok(Math.abs(result.metrics.volume - sphere) / sphere < 0.03, `volume ${result.metrics.volume} vs ${sphere}`);
  // The preview is in glTF's frame: metres, on the ground plane.
  let minY = Infinity;
  for (let i = 1; i < result.preview.positions.length; i += 3) minY = Math.min(minY, result.preview.positions[i]);
  assert.ok(Math.abs(minY) < 1e-6);
  // Vertex colours are the image's colour (the stand-in paints its mean colour), made linear for glTF.
  const colors = result.preview.colors!;
  const linearGrey = ((128 / 255 + 0.055) / 1.055) ** 2.4;
  for (let i = 0; i < colors.length; i += 3 * 97) assert.ok(Math.abs(colors[i] - linearGrey) < 0.005, `colour ${colors[i]}`);
});

test('the mesh follows the image: a brighter image gives a bigger sphere before scaling', async () => {
  const dir = path.join(work, 'brightness');
  const dark = await solidImage(dir, 'dark.png', [20, 20, 20]);
  const bright = await solidImage(dir, 'bright.png', [240, 240, 240]);
  // Both results are scaled to the same size, so compare what scaling keeps: the number of grid cells
  // the surface crosses, which grows with the sphere's area in the grid.
  const a = await generateFromImage(request(dark, { formats: ['glb'] }), { model });
  const b = await generateFromImage(request(bright, { formats: ['glb'] }), { model });
  // The stand-in sees the framed network input (the photo inside a grey margin), not the raw pixels.
  const ra = standinExpectation(await meanColour(dark)).radius;
  const rb = standinExpectation(await meanColour(bright)).radius;
  assert.ok(rb > ra * 1.3);
  const expectedRatio = (rb / ra) ** 2;
  const ratio = b.metrics.faces / a.metrics.faces;
  assert.ok(Math.abs(ratio - expectedRatio) / expectedRatio < 0.1, `face ratio ${ratio} vs ${expectedRatio}`);
});

test('an existing output stops the run before any work, and nothing is touched', async () => {
  const dir = path.join(work, 'existing');
  const image = await solidImage(dir, 'photo.png', [90, 160, 40]);
  writeFileSync(path.join(dir, 'photo.dxf'), 'precious');
  const stages: string[] = [];
  await assert.rejects(
    generateFromImage(request(image), { model, onProgress: (p) => stages.push(p.stage) }),
    (err: unknown) => err instanceof UserError && err.code === 'output-exists' && err.message.includes('photo.dxf'),
  );
  assert.deepEqual(stages, [], 'no stage started');
  assert.equal(readFileSync(path.join(dir, 'photo.dxf'), 'utf8'), 'precious');
  assert.deepEqual(listing(dir), ['photo.dxf', 'photo.png']);
});

test('suffix keeps the old files and writes numbered ones', async () => {
  const dir = path.join(work, 'suffix');
  const image = await solidImage(dir, 'shot.png', [200, 30, 30]);
  await generateFromImage(request(image, { formats: ['glb'] }), { model });
  const first = readFileSync(path.join(dir, 'shot.glb'));
  const second = await generateFromImage(request(image, { formats: ['glb'], existing: 'suffix' }), { model });
  assert.deepEqual(second.files, [path.join(dir, 'shot (2).glb')]);
  assert.ok(readFileSync(path.join(dir, 'shot.glb')).equals(first));
});

test('cancelling at any stage leaves no file behind', async () => {
  for (const stage of ['image', 'encode', 'surface', 'mesh', 'colour', 'write']) {
    const dir = path.join(work, `cancel-${stage}`);
    const image = await solidImage(dir, 'c.png', [100, 100, 100]);
    const abort = new AbortController();
    await assert.rejects(
      generateFromImage(request(image), {
        model,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.stage === stage) abort.abort();
        },
      }),
      (err: unknown) => err instanceof CancelledError,
      `cancel during ${stage}`,
    );
    assert.deepEqual(listing(dir), ['c.png'], `after a cancel during ${stage}`);
  }
});

test('no surface: a threshold above the peak density says so and writes nothing', async () => {
  const dir = path.join(work, 'nosurface');
  const image = await solidImage(dir, 'n.png', [128, 128, 128]);
  await assert.rejects(generateFromImage(request(image, { threshold: 1e30 }), { model }), (err: unknown) => {
    assert.ok(err instanceof UserError && err.code === 'no-surface');
    assert.match(err.message, /peak/);
    assert.ok(namesOption(err.hint, 'threshold'), plainHint(err.hint));
    assert.match(plainHint(err.hint), /Lower the threshold .* below \d/);
    return true;
  });
  assert.deepEqual(listing(dir), ['n.png']);
});

test('a corrupt image is refused and nothing is written', async () => {
  const dir = path.join(work, 'corrupt');
  mkdirSync(dir, { recursive: true });
  const image = path.join(dir, 'broken.png');
  writeFileSync(image, Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'));
  await assert.rejects(generateFromImage(request(image), { model }), (err: unknown) => err instanceof UserError && err.code === 'image-unreadable');
  assert.deepEqual(listing(dir), ['broken.png']);
});

test('an output folder we cannot write to is refused before any work, naming it', async () => {
  const dir = path.join(work, 'unwritable');
  const image = await solidImage(dir, 'u.png', [128, 128, 128]);
  // A path below a regular file can never be created, whoever we run as (root ignores chmod).
  const blocked = path.join(image, 'out');
  await assert.rejects(generateFromImage(request(image, { outDir: blocked }), { model }), (err: unknown) => {
    assert.ok(err instanceof UserError && err.code === 'output-not-writable');
    assert.ok(err.message.includes(blocked));
    return true;
  });
  assert.deepEqual(listing(dir), ['u.png']);
});

test('the mesh stage: floaters removed, smoothed, simplified to the target, still closed and the right size', async () => {
  const dir = path.join(work, 'processing');
  const image = await solidImage(dir, 'p.png', [128, 128, 128]);
  const plain = await generateFromImage(request(image, { formats: ['glb'], resolution: 96 }), { model });
  const processed = await generateFromImage(
    request(image, { formats: ['glb'], resolution: 96, existing: 'suffix', floaterFraction: 0.02, smoothingIterations: 10, targetTriangles: 4000 }),
    { model },
  );
  assert.equal(processed.processing.decimatedFrom, plain.metrics.faces);
  assert.ok(processed.metrics.faces <= 4000 * 1.02 && processed.metrics.faces > 3000, `faces ${processed.metrics.faces}`);
  assert.ok(processed.metrics.watertight);
  const sphere = (Math.PI / 6) * 100 ** 3;
  assert.ok(Math.abs(processed.metrics.volume - sphere) / sphere < 0.02, `volume ${processed.metrics.volume} vs ${sphere}`);
});

test('adaptive sampling gives the same mesh as dense sampling from far fewer network queries', async () => {
  const dir = path.join(work, 'adaptive');
  const image = await solidImage(dir, 'a.png', [160, 120, 90]);
  let denseQueries = 0;
  let adaptiveQueries = 0;
  const counting = (count: (n: number) => void): LoadedModel => ({
    provider: model.provider,
    kind: model.kind,
    encode: (img) => model.encode(img),
    decode: (codes, points) => {
      count(points.length / 3);
      return model.decode(codes, points);
    },
    dispose: () => Promise.resolve(),
  });
  const dense = await generateFromImage(request(image, { formats: ['glb'], resolution: 128, sampling: 'dense' }), {
    model: counting((n) => (denseQueries += n)),
  });
  const adaptive = await generateFromImage(
    request(image, { formats: ['glb'], resolution: 128, sampling: 'adaptive', existing: 'suffix' }),
    { model: counting((n) => (adaptiveQueries += n)) },
  );
  assert.deepEqual(adaptive.metrics.faces, dense.metrics.faces);
  assert.ok(Math.abs(adaptive.metrics.volume - dense.metrics.volume) < 1e-6 * dense.metrics.volume);
  // Queries include the colour query at the vertices, the same for both.
  assert.ok(adaptiveQueries < 0.25 * denseQueries, `adaptive ${adaptiveQueries} vs dense ${denseQueries}`);
});
