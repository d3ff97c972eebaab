import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { UserError } from '../../src/pipeline/errors.js';
import { plainHint } from '../fixtures/userErrors.js';
import { GraphBuilder, int64s } from '../../src/pipeline/network/onnx/graphBuilder.js';
import {
  AttributeType,
  DataLocation,
  decodeModel,
  encodeModel,
  readModelSignature,
  valueInfoDims,
} from '../../src/pipeline/network/onnx/proto.js';
import { autoExecutionProviders, loadModel, type LoadedModel } from '../../src/pipeline/network/session.js';
import {
  buildStandinModels,
  standinExpectation,
  writeStandinModels,
  type StandinExpectation,
} from '../../src/pipeline/network/standinModel.js';
import { mulberry32 } from '../fixtures/numeric.js';

const BOX = 0.87;
const ISO = 25;
const SIZE = 512;
const PLANE = SIZE * SIZE;

interface TestImage {
  pixels: Float32Array;
  mean: [number, number, number];
}

/** A noisy image around `base` per channel; the mean is computed in float64 from the float32 values. */
function makeImage(base: [number, number, number], spread: number, seed: number): TestImage {
  const random = mulberry32(seed);
  const pixels = new Float32Array(3 * PLANE);
  const mean: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let i = 0; i < PLANE; i++) {
      const v = Math.min(1, Math.max(0, base[c]! + (random() - 0.5) * 2 * spread));
      pixels[c * PLANE + i] = v;
      sum += pixels[c * PLANE + i]!;
    }
    mean[c] = sum / PLANE;
  }
  return { pixels, mean };
}

function randomDirections(count: number, seed: number): [number, number, number][] {
  const random = mulberry32(seed);
  const dirs: [number, number, number][] = [
    [1, 0, 0],
    [-1, 0, 0],
    [0, 1, 0],
    [0, -1, 0],
    [0, 0, 1],
    [0, 0, -1],
  ];
  while (dirs.length < count) {
    const v: [number, number, number] = [random() * 2 - 1, random() * 2 - 1, random() * 2 - 1];
    const n = Math.hypot(...v);
    if (n > 0.1 && n <= 1) dirs.push([v[0] / n, v[1] / n, v[2] / n]);
  }
  return dirs;
}

async function densities(model: LoadedModel, codes: Float32Array, pts: readonly number[][]): Promise<Float32Array> {
  return (await model.decode(codes, Float32Array.from(pts.flat()))).density;
}

/** Radius where density crosses ISO along each direction, by batched bisection. */
async function crossings(
  model: LoadedModel,
  codes: Float32Array,
  dirs: readonly [number, number, number][],
): Promise<number[]> {
  const lo = dirs.map(() => 0);
  const hi = dirs.map(() => 0.85);
  const at = (r: readonly number[]): number[][] => dirs.map((d, i) => d.map((x) => x * r[i]!));
  const dLo = await densities(model, codes, at(lo));
  const dHi = await densities(model, codes, at(hi));
  dirs.forEach((_, i) => {
    assert.ok(dLo[i]! >= ISO && dHi[i]! < ISO, `direction ${i}: no bracket (${dLo[i]}, ${dHi[i]})`);
  });
  for (let iter = 0; iter < 40; iter++) {
    const mid = lo.map((l, i) => (l + hi[i]!) / 2);
    const d = await densities(model, codes, at(mid));
    mid.forEach((m, i) => {
      if (d[i]! >= ISO) lo[i] = m;
      else hi[i] = m;
    });
  }
  return lo.map((l, i) => (l + hi[i]!) / 2);
}

describe('network: stand-in model through onnxruntime', () => {
  let tmp: string;
  let modelDir: string;
  let model: LoadedModel;
  const dark = makeImage([0.1, 0.12, 0.08], 0.08, 1);
  const bright = makeImage([0.9, 0.85, 0.8], 0.1, 2);
  const white: TestImage = { pixels: new Float32Array(3 * PLANE).fill(1), mean: [1, 1, 1] };
  let darkCodes: Float32Array;
  let brightCodes: Float32Array;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'network-test-'));
    modelDir = join(tmp, 'standin');
    await writeStandinModels(modelDir);
    model = await loadModel(modelDir, { executionProviders: ['cpu'], intraOpThreads: 2 });
    darkCodes = await model.encode(dark.pixels);
    brightCodes = await model.encode(bright.pixels);
  });

  after(async () => {
    await model?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('loads on cpu and reports the stand-in kind', () => {
    assert.equal(model.provider, 'cpu');
    assert.equal(model.kind, 'standin');
  });

  it('writes the manifest the loader reads', async () => {
    const manifest: unknown = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    assert.deepEqual({ ...(manifest as object), description: undefined }, {
      kind: 'standin',
      contract: 1,
      description: undefined,
    });
  });

  it('encodes dark and bright images to different scene codes with the documented layout', () => {
    assert.equal(darkCodes.length, 3 * 40 * 64 * 64);
    assert.notDeepEqual(darkCodes, brightCodes);
    for (const [image, codes] of [
      [dark, darkCodes],
      [bright, brightCodes],
    ] as const) {
      const e = standinExpectation(image.mean);
      const at = (plane: number, ch: number, row: number, col: number): number =>
        codes[((plane * 40 + ch) * 64 + row) * 64 + col]!;
      for (const [plane, row, col] of [
        [0, 0, 0],
        [1, 5, 63],
        [2, 40, 17],
      ] as const) {
        const u = (2 * col + 1) / 64 - 1;
        const v = (2 * row + 1) / 64 - 1;
        assert.ok(Math.abs(at(plane, 0, row, col) - u * u) < 1e-6, 'channel 0 = u²');
        assert.ok(Math.abs(at(plane, 1, row, col) - v * v) < 1e-6, 'channel 1 = v²');
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(plane, 2 + c, row, col) - image.mean[c]!) < 1e-4);
        assert.ok(Math.abs(at(plane, 5, row, col) - e.rho * e.rho) < 1e-4, 'channel 5 = ρ²');
        assert.equal(at(plane, 6, row, col), 0);
        assert.equal(at(plane, 39, row, col), 0);
      }
    }
    const rDark = standinExpectation(dark.mean).radius;
    const rBright = standinExpectation(bright.mean).radius;
    assert.ok(rBright - rDark > 0.15, `radii ${rDark} vs ${rBright}`);
  });

  for (const which of ['dark', 'bright'] as const) {
    it(`puts the density-25 surface at the expected radius (${which})`, async () => {
      const image = which === 'dark' ? dark : bright;
      const codes = which === 'dark' ? darkCodes : brightCodes;
      const e = standinExpectation(image.mean);
      const dirs = randomDirections(26, which === 'dark' ? 11 : 12);
      const radii = await crossings(model, codes, dirs);
      radii.forEach((r, i) => {
        assert.ok(
          r >= e.radius - e.radiusTolerance && r <= e.radius + 1e-5,
          `direction ${dirs[i]!.map((x) => x.toFixed(3))}: crossing at ${r}, expected ${e.radius} (−${e.radiusTolerance})`,
        );
      });
      // One crossing per ray: inside exactly below it, all the way out to the box.
      const steps = 160;
      const pts: number[][] = [];
      const samples: { ray: number; r: number }[] = [];
      for (const [ray, d] of dirs.entries()) {
        const exit = BOX / Math.max(...d.map(Math.abs));
        for (let s = 0; s <= steps; s++) {
          const r = (exit * s) / steps;
          if (Math.abs(r - radii[ray]!) < 1e-4) continue; // too close to call in float32
          pts.push(d.map((x) => x * r));
          samples.push({ ray, r });
        }
      }
      const d = await densities(model, codes, pts);
      samples.forEach(({ ray, r }, k) => {
        assert.equal(d[k]! >= ISO, r < radii[ray]!, `ray ${ray} at r=${r}: density ${d[k]}`);
      });
    });
  }

  it('is far inside at the centre and outside at the box corners, faces and edges (ρ at its maximum)', async () => {
    const codes = await model.encode(white.pixels);
    const e = standinExpectation(white.mean);
    assert.ok(Math.abs(e.rho - 0.6) < 1e-12);
    const centre = await densities(model, codes, [[0, 0, 0]]);
    assert.ok(centre[0]! > 1000 * ISO, `centre density ${centre[0]}`);
    const darkCentre = await densities(model, darkCodes, [[0, 0, 0]]);
    assert.ok(darkCentre[0]! > 1000 * ISO, `dark centre density ${darkCentre[0]}`);

    // The outer half texel (|p_n| > 63/64 on some axis) is where zero padding pulls u² towards 0.
    const shell: number[][] = [];
    const grid = 41;
    const layers = [63 / 64, 0.99, 0.995, 0.999, 1];
    for (let axis = 0; axis < 3; axis++) {
      for (const sign of [-1, 1]) {
        for (const t of layers) {
          for (let a = 0; a < grid; a++) {
            for (let b = 0; b < grid; b++) {
              const p = [0, 0, 0];
              p[axis] = sign * t * BOX;
              p[(axis + 1) % 3] = (2 * a / (grid - 1) - 1) * BOX;
              p[(axis + 2) % 3] = (2 * b / (grid - 1) - 1) * BOX;
              shell.push(p);
            }
          }
        }
      }
    }
    for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) shell.push([sx * BOX, sy * BOX, sz * BOX]);
    const d = await densities(model, codes, shell);
    const worst = d.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(worst < ISO, `max density in the outer shell ${worst}`);
    for (let i = shell.length - 8; i < shell.length; i++) assert.ok(d[i]! < ISO, `corner ${shell[i]}: ${d[i]}`);
  });

  it('has no inside region outside the sphere anywhere on a 64³ grid', async () => {
    for (const image of [white, dark]) {
      const codes = await model.encode(image.pixels);
      const e = standinExpectation(image.mean);
      const n = 64;
      const pts = new Float32Array(n * n * n * 3);
      let k = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          for (let l = 0; l < n; l++) {
            pts[k++] = ((2 * i) / (n - 1) - 1) * BOX;
            pts[k++] = ((2 * j) / (n - 1) - 1) * BOX;
            pts[k++] = ((2 * l) / (n - 1) - 1) * BOX;
          }
      const { density } = await model.decode(codes, pts);
      let inside = 0;
      for (let p = 0; p < n * n * n; p++) {
        const r = Math.hypot(pts[3 * p]!, pts[3 * p + 1]!, pts[3 * p + 2]!);
        if (density[p]! >= ISO) {
          inside++;
          assert.ok(r <= e.radius + 1e-5, `inside at r=${r} > ${e.radius}`);
        } else {
          assert.ok(r >= e.radius - e.radiusTolerance, `outside at r=${r} < ${e.radius - e.radiusTolerance}`);
        }
      }
      // Volume check: grid points inside ≈ sphere volume / cell volume.
      const cell = (2 * BOX) / (n - 1);
      const expected = ((4 / 3) * Math.PI * e.radius ** 3) / cell ** 3;
      assert.ok(Math.abs(inside - expected) / expected < 0.05, `inside ${inside} vs ~${expected.toFixed(0)}`);
    }
  });

  it('returns the image mean colour inside the box', async () => {
    for (const [image, codes] of [
      [dark, darkCodes],
      [bright, brightCodes],
    ] as const) {
      const random = mulberry32(5);
      const pts: number[][] = [];
      for (let i = 0; i < 500; i++) pts.push([0, 1, 2].map(() => (random() * 2 - 1) * 0.95 * BOX));
      const { color } = await model.decode(codes, Float32Array.from(pts.flat()));
      const expected = standinExpectation(image.mean).color;
      for (let i = 0; i < pts.length; i++) {
        for (let c = 0; c < 3; c++) {
          assert.ok(Math.abs(color[3 * i + c]! - expected[c]!) < 1e-3, `point ${i} channel ${c}: ${color[3 * i + c]}`);
        }
      }
    }
  });

  it('decodes any number of points, consistently across batch sizes', async () => {
    const empty = await model.decode(brightCodes, new Float32Array(0));
    assert.equal(empty.density.length, 0);
    assert.equal(empty.color.length, 0);
    const random = mulberry32(9);
    const pts = Float32Array.from({ length: 7 * 3 }, () => (random() * 2 - 1) * BOX);
    const all = await model.decode(brightCodes, pts);
    assert.equal(all.density.length, 7);
    assert.equal(all.color.length, 21);
    for (let i = 0; i < 7; i++) {
      const one = await model.decode(brightCodes, pts.slice(3 * i, 3 * i + 3));
      assert.ok(Math.abs(one.density[0]! - all.density[i]!) <= 1e-6 * Math.max(1, all.density[i]!));
    }
    await assert.rejects(model.decode(brightCodes, new Float32Array(4)), /multiple of 3/);
    await assert.rejects(model.encode(new Float32Array(10)), /image must hold/);
  });

  it('measures encoder time and decoder throughput', async (t) => {
    const t0 = performance.now();
    await model.encode(bright.pixels);
    const encodeMs = performance.now() - t0;
    const random = mulberry32(3);
    for (const count of [131072, 262144]) {
      const pts = Float32Array.from({ length: count * 3 }, () => (random() * 2 - 1) * BOX);
      await model.decode(brightCodes, pts); // warm-up
      const runs = 3;
      const t1 = performance.now();
      for (let i = 0; i < runs; i++) await model.decode(brightCodes, pts);
      const seconds = (performance.now() - t1) / 1000;
      t.diagnostic(`decoder: ${count} points/batch → ${((count * runs) / seconds / 1e6).toFixed(2)} M points/s`);
    }
    t.diagnostic(`encoder: ${encodeMs.toFixed(1)} ms`);
    assert.ok(encodeMs > 0);
  });
});

describe('network: onnx proto and graph builder', () => {
  it('round-trips the stand-in graphs through encode/decode unchanged', () => {
    const { encoder, decoder } = buildStandinModels();
    for (const bytes of [encoder, decoder]) {
      const decoded = decodeModel(bytes);
      assert.deepEqual(encodeModel(decoded), bytes);
      assert.deepEqual(decodeModel(encodeModel(decoded)), decoded);
    }
    const model = decodeModel(decoder);
    assert.equal(model.irVersion, 8);
    assert.deepEqual(model.opsetImport, [{ domain: '', version: 17 }]);
    const graph = model.graph!;
    assert.deepEqual(
      graph.input.map((i) => [i.name, i.type?.tensorType?.elemType, valueInfoDims(i)]),
      [
        ['scene_codes', 1, [1, 3, 40, 64, 64]],
        ['points', 1, [1, 'P', 3]],
      ],
    );
    assert.deepEqual(
      graph.output.map((o) => [o.name, valueInfoDims(o)]),
      [
        ['density', [1, 'P', 1]],
        ['color', [1, 'P', 3]],
      ],
    );
    const gridSample = graph.node.find((n) => n.opType === 'GridSample')!;
    const attrs = Object.fromEntries(gridSample.attribute.map((a) => [a.name, a]));
    assert.equal(attrs.mode?.type, AttributeType.STRING);
    assert.equal(new TextDecoder().decode(attrs.mode?.s), 'bilinear');
    assert.equal(attrs.align_corners?.i, 0);
    const heads = graph.initializer.find((t) => t.name?.startsWith('head_weights'))!;
    assert.deepEqual(heads.dims, [5, 120]);
    assert.equal(heads.rawData?.byteLength, 5 * 120 * 4);
    const weights = new Float32Array(heads.rawData!.slice().buffer);
    assert.equal(weights[0 * 120 + 40 + 1], 1, 'r² reads plane 1 channel 1 (z²)');

    const signature = readModelSignature(decoder);
    assert.deepEqual(signature.inputs, graph.input);
    assert.deepEqual(signature.outputs, graph.output);
    assert.equal(signature.graphName, 'standin_decoder');
    assert.ok(signature.initializerNames.includes(heads.name!));
  });

  it('rejects graphs that read undefined values or leave outputs unproduced', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [1]);
    assert.throws(() => g.node('Relu', ['nope'], ['y']), /not defined/);
    assert.throws(() => g.input('x', 'float32', [1]), /defined twice/);
    assert.throws(() => g.initializer('w', new Float32Array(3), [2, 2]), /4 elements/);
    g.output('z', 'float32', [1]);
    assert.throws(() => g.toModel({ opset: 17, producer: 't' }), /never produced/);
  });

  it('writes large initializers as external data that onnxruntime loads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'network-ext-'));
    try {
      const n = 256;
      const w = new Float32Array(n * n);
      for (let i = 0; i < n; i++) w[i * n + ((i * 7) % n)] = i + 1; // a scaled permutation
      const g = new GraphBuilder('external');
      const x = g.input('x', 'float32', ['B', n]);
      const weights = g.initializer('weights', w, [n, n]);
      const bias = g.initializer('bias', new Float32Array([0.5]), [1]);
      g.node('Add', [g.op('MatMul', [x, weights]), bias], ['y']);
      g.output('y', 'float32', ['B', n]);
      const path = join(dir, 'm.onnx');
      const sizes = await g.writeModel(path, { opset: 17, producer: 'test', externalData: { location: 'm.onnx.data' } });
      assert.equal(sizes.dataBytes, n * n * 4);
      assert.equal((await stat(join(dir, 'm.onnx.data'))).size, n * n * 4);
      assert.ok(sizes.modelBytes < 2000, `model file ${sizes.modelBytes} bytes`);
      const decoded = decodeModel(await readFile(path));
      const ext = decoded.graph!.initializer.find((t) => t.name === 'weights')!;
      assert.equal(ext.dataLocation, DataLocation.EXTERNAL);
      assert.equal(ext.rawData, undefined);
      assert.deepEqual(ext.externalData, [
        { key: 'location', value: 'm.onnx.data' },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(n * n * 4) },
      ]);
      assert.ok(decoded.graph!.initializer.find((t) => t.name === 'bias')!.rawData, 'small tensors stay inline');

      const session = await ort.InferenceSession.create(path);
      const input = Float32Array.from({ length: n }, (_, i) => i / n);
      const out = await session.run({ x: new ort.Tensor('float32', input, [1, n]) });
      const y = out.y!.data as Float32Array;
      for (let i = 0; i < n; i++) {
        const j = (i * 7) % n;
        assert.ok(Math.abs(y[j]! - (input[i]! * (i + 1) + 0.5)) < 1e-4, `y[${j}]`);
      }
      await session.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('network: loading errors and providers', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'network-load-'));
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function expectUserError(
    promise: Promise<unknown>,
    code: string,
    ...mentions: readonly string[]
  ): Promise<UserError> {
    try {
      await promise;
    } catch (e) {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
      assert.ok(plainHint(e.hint).trim().length > 0);
      return e;
    }
    assert.fail('expected the load to fail');
  }

  /** A decoder-shaped graph whose points input and P dimension can be varied. */
  function variantDecoder(pointsName: string, p: number | string): Uint8Array {
    const g = new GraphBuilder('variant');
    g.input('scene_codes', 'float32', [1, 3, 40, 64, 64]);
    const pts = g.input(pointsName, 'float32', [1, p, 3]);
    g.node('Slice', [pts, g.constant(int64s([0]), [1]), g.constant(int64s([1]), [1]), g.constant(int64s([2]), [1])], [
      'density',
    ]);
    g.node('Identity', [pts], ['color']);
    g.output('density', 'float32', [1, p, 1]);
    g.output('color', 'float32', [1, p, 3]);
    return g.toModel({ opset: 17, producer: 'test' });
  }

  async function dirWith(name: string, decoder: Uint8Array): Promise<string> {
    const dir = join(tmp, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'encoder.onnx'), buildStandinModels().encoder);
    await writeFile(join(dir, 'decoder.onnx'), decoder);
    return dir;
  }

  it('accepts the variant graph when it matches the contract (so the refusals below are about the change)', async () => {
    const dir = await dirWith('variant-ok', variantDecoder('points', 'P'));
    const m = await loadModel(dir, { executionProviders: ['cpu'] });
    assert.equal(m.kind, 'unknown');
    const out = await m.decode(new Float32Array(3 * 40 * 64 * 64), new Float32Array([1, 2, 3, 4, 5, 6]));
    assert.deepEqual([...out.density], [1, 4]);
    await m.dispose();
  });

  it("refuses a decoder whose input is renamed, naming it", async () => {
    const dir = await dirWith('renamed', variantDecoder('pts', 'P'));
    const e = await expectUserError(loadModel(dir, { executionProviders: ['cpu'] }), 'model-invalid', "'pts'", "'points'");
    assert.match(e.message, /decoder input 'pts' .*— expected 'points' float32 \[1,P,3\]/);
  });

  it('refuses a decoder with a fixed point count', async () => {
    const dir = await dirWith('static-p', variantDecoder('points', 8192));
    await expectUserError(
      loadModel(dir, { executionProviders: ['cpu'] }),
      'model-invalid',
      "decoder input 'points' is float32 [1,8192,3] — expected float32 [1,P,3]",
    );
  });

  it('reports a missing folder or file as model-missing', async () => {
    const missing = join(tmp, 'does-not-exist');
    await expectUserError(loadModel(missing, { executionProviders: ['cpu'] }), 'model-missing', missing);
    const half = join(tmp, 'half');
    await mkdir(half);
    await writeFile(join(half, 'encoder.onnx'), buildStandinModels().encoder);
    await expectUserError(loadModel(half, { executionProviders: ['cpu'] }), 'model-missing', 'decoder.onnx');
  });

  it('reports a corrupt encoder.onnx as model-invalid, naming it', async () => {
    const dir = join(tmp, 'garbage');
    await mkdir(dir);
    await writeFile(join(dir, 'encoder.onnx'), Buffer.from('this is not an onnx model \u0000\u0001\u0002'.repeat(50)));
    await writeFile(join(dir, 'decoder.onnx'), buildStandinModels().decoder);
    await expectUserError(loadModel(dir, { executionProviders: ['cpu'] }), 'model-invalid', 'encoder.onnx');
  });

  it('falls back from cuda to cpu on a machine without CUDA, saying why', async (t) => {
    const dir = join(tmp, 'providers');
    await writeStandinModels(dir);
    const lines: string[] = [];
    const m = await loadModel(dir, { executionProviders: ['cuda', 'cpu'], log: (l) => lines.push(l) });
    try {
      if (m.provider === 'cuda') {
        t.skip('CUDA is available here; the fallback cannot be observed');
        return;
      }
      assert.equal(m.provider, 'cpu');
      assert.ok(
        lines.some((l) => /cuda/i.test(l) && /unavailable|could not/i.test(l)),
        `log should say why cuda failed: ${JSON.stringify(lines)}`,
      );
      const codes = await m.encode(new Float32Array(3 * PLANE).fill(0.5));
      const e: StandinExpectation = standinExpectation([0.5, 0.5, 0.5]);
      const { color } = await m.decode(codes, new Float32Array(3));
      assert.ok(Math.abs(color[0]! - e.color[0]) < 1e-3);
    } finally {
      await m.dispose();
    }
  });

  it('appends cpu to explicit lists and orders the auto list by platform', async () => {
    assert.deepEqual(autoExecutionProviders('linux'), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(autoExecutionProviders('win32'), ['cuda', 'dml', 'webgpu', 'cpu']);
    assert.deepEqual(autoExecutionProviders('darwin'), ['coreml', 'webgpu', 'cpu']);
    const dir = join(tmp, 'no-cpu');
    await writeStandinModels(dir);
    const lines: string[] = [];
    const m = await loadModel(dir, { executionProviders: ['definitely-not-a-provider'], log: (l) => lines.push(l) });
    assert.equal(m.provider, 'cpu');
    assert.ok(lines.some((l) => l.includes('definitely-not-a-provider')));
    await m.dispose();
  });
});
