/**
 * The extension's pipeline client against the bundled pipeline process (dist/worker.js), as the
 * extension runs it: one job per generation, binary meshes over IPC, cancel, and crashes — the process
 * killed with SIGKILL in the middle of a job and between jobs — after which the client says so, sweeps
 * the job's temporary files and starts a fresh process for the next job.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PipelineClient, workerScriptPath, type Cancellation } from '../../src/extension/pipelineClient.js';
import type { GenerateRequest } from '../../src/pipeline/run.js';
import type { ModelRequest } from '../../src/pipeline/generate.js';
import type { Progress } from '../../src/pipeline/progress.js';
import sharp from 'sharp';
import { writeTestSegmenter } from '../fixtures/segmentationNetwork.js';
import { plainHint } from '../fixtures/userErrors.js';

// The client runs the bundled process, as the extension does: build first.
const root = path.join(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const model: ModelRequest = { spec: { kind: 'onnx', dir: path.join(dist, 'models', 'standin') }, precision: 'auto', executionProviders: ['cpu'] };
const logs: string[] = [];
const client = new PipelineClient(workerScriptPath(dist), (line) => logs.push(line));
after(() => client.dispose());

function job(resolution: number): { dir: string; request: GenerateRequest } {
  assert.ok(existsSync(workerScriptPath(dist)), 'dist/worker.js is missing: run "npm run build" first');
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-client-'));
  copyFileSync(path.join(root, 'samples', 'apple.png'), path.join(dir, 'apple.png'));
  return {
    dir,
    request: { imagePath: path.join(dir, 'apple.png'), formats: ['glb', 'dxf', 'step'], resolution, threshold: 25, longestSideMm: 100, existing: 'fail' },
  };
}

function neverCancelled(): Cancellation {
  return { onCancel: () => undefined };
}

test('a generation is one job in a child process and returns files, metrics and the preview as typed arrays', async () => {
  const { dir, request } = job(40);
  const stages = new Set<string>();
  const outcome = await client.generate(request, model, (p: Progress) => stages.add(p.stage), neverCancelled());
  assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.failure));
  assert.deepEqual(readdirSync(dir).sort(), ['apple.dxf', 'apple.glb', 'apple.png', 'apple.step']);
  assert.ok(outcome.result.preview.positions instanceof Float32Array && outcome.result.preview.positions.length > 0);
  assert.ok(outcome.result.preview.indices instanceof Uint32Array);
  assert.ok(outcome.result.input.png instanceof Uint8Array);
  assert.equal(outcome.result.provider, 'cpu');
  assert.ok(outcome.result.metrics.watertight);
  for (const stage of ['model', 'image', 'encode', 'surface', 'write']) assert.ok(stages.has(stage), stage);
  const state = client.state();
  assert.ok(state.pid !== undefined && state.pid !== process.pid, 'the job ran in another process');
  assert.equal(state.runningJobs, 0);
});

test('cancelling mid-run resolves as cancelled and leaves no file', async () => {
  const { dir, request } = job(256);
  let cancel: (() => void) | undefined;
  const outcome = await client.generate(
    request,
    model,
    (p) => {
      if (p.stage === 'surface' && p.fraction > 0) cancel?.();
    },
    { onCancel: (listener) => (cancel = listener) },
  );
  assert.equal(outcome.ok, false);
  assert.deepEqual(!outcome.ok && outcome.failure, { kind: 'cancelled' });
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});

test('a user error crosses the process boundary with its code and structured hint', async () => {
  const { dir, request } = job(40);
  const outcome = await client.generate({ ...request, imagePath: path.join(dir, 'missing.png') }, model, () => undefined, neverCancelled());
  assert.equal(outcome.ok, false);
  if (outcome.ok) return;
  assert.equal(outcome.failure.kind, 'user');
  assert.ok(outcome.failure.kind === 'user' && outcome.failure.code === 'image-unreadable' && plainHint(outcome.failure.hint).trim().length > 0);
});

test('existing outputs stop the job before any work, naming every file in the way', async () => {
  const { dir, request } = job(40);
  writeFileSync(path.join(dir, 'apple.glb'), 'mine');
  writeFileSync(path.join(dir, 'apple.step'), 'mine too');
  const stages = new Set<string>();
  const outcome = await client.generate(request, model, (p) => stages.add(p.stage), neverCancelled());
  assert.ok(!outcome.ok && outcome.failure.kind === 'user', JSON.stringify(outcome));
  assert.equal(outcome.failure.code, 'output-exists');
  assert.deepEqual([...(outcome.failure.details.existingFiles ?? [])].sort(), [path.join(dir, 'apple.glb'), path.join(dir, 'apple.step')]);
  assert.deepEqual([...stages], [], 'nothing ran before the check');
});

test('a managed model that is not downloaded fails fast with model-missing when downloading is not allowed', async () => {
  const { dir, request } = job(40);
  const outcome = await client.generate(
    request,
    { ...model, spec: { kind: 'managed', storeDir: path.join(dir, 'store'), allowDownload: false } },
    () => undefined,
    neverCancelled(),
  );
  assert.ok(!outcome.ok && outcome.failure.kind === 'user', JSON.stringify(outcome));
  assert.equal(outcome.failure.code, 'model-missing');
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});

test('the process survives a failed job and runs the next one', async () => {
  const pid = client.state().pid;
  const { dir, request } = job(32);
  const outcome = await client.generate(request, model, () => undefined, neverCancelled());
  assert.ok(outcome.ok);
  assert.ok(readdirSync(dir).includes('apple.glb'));
  assert.equal(client.state().pid, pid, 'the same process ran it');
});

test('a process killed with SIGKILL in the middle of a job is reported as a crash, and the next job starts a new one', async () => {
  const { dir, request } = job(256);
  const before = client.state();
  assert.ok(before.pid !== undefined);
  let killed = false;
  const outcome = await client.generate(
    request,
    model,
    (p) => {
      if (!killed && p.stage === 'surface' && p.fraction > 0) {
        killed = true;
        process.kill(before.pid!, 'SIGKILL');
      }
    },
    neverCancelled(),
  );
  assert.ok(killed);
  assert.ok(!outcome.ok && outcome.failure.kind === 'crashed', JSON.stringify(outcome));
  assert.equal(outcome.failure.signal, 'SIGKILL');
  assert.deepEqual(readdirSync(dir), ['apple.png'], 'nothing is left behind');
  assert.ok(logs.some((line) => /stopped unexpectedly \(killed by SIGKILL\)/.test(line)));
  assert.equal(client.state().crashes, before.crashes + 1);
  assert.equal(client.state().pid, undefined);

  const next = job(32);
  const again = await client.generate(next.request, model, () => undefined, neverCancelled());
  assert.ok(again.ok, JSON.stringify(!again.ok && again.failure));
  const after = client.state();
  assert.ok(after.pid !== undefined && after.pid !== before.pid);
  assert.equal(after.starts, before.starts + 1);
});

test('a process killed between jobs is noticed, and the next job starts a new one', async () => {
  const { request } = job(32);
  assert.ok((await client.generate(request, model, () => undefined, neverCancelled())).ok);
  const before = client.state();
  process.kill(before.pid!, 'SIGKILL');
  for (let i = 0; i < 100 && client.state().pid !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(client.state().pid, undefined, 'the exit was noticed');
  assert.equal(client.state().crashes, before.crashes + 1);
  const next = job(32);
  const outcome = await client.generate(next.request, model, () => undefined, neverCancelled());
  assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.failure));
  assert.ok(readdirSync(next.dir).includes('apple.step'));
  assert.equal(client.state().starts, before.starts + 1);
});

/** A pipeline process that has begun writing a job's temporary file and then hangs in native-like code. */
function stuckProcessScript(dir: string): string {
  const script = path.join(dir, 'stuck-worker.js');
  writeFileSync(
    script,
    `const fs = require('node:fs');
     const path = require('node:path');
     process.on('message', (m) => {
       if (m.type !== 'job') return;
       const out = path.join(path.dirname(m.input.request.imagePath), '.apple.glb.' + m.input.request.tag + '.i3d-tmp');
       fs.writeFileSync(out, 'partial');
       process.send({ type: 'progress', jobId: m.jobId, progress: { stage: 'write', fraction: 0.5, message: 'writing' } });
       const until = Date.now() + 60000;
       while (Date.now() < until) {}
     });`,
  );
  return script;
}

test('a process that does not stop on cancel is killed and its temporary files are swept', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-stuck-'));
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  const stuck = new PipelineClient(stuckProcessScript(dir), (line) => logs.push(line));
  let cancel: (() => void) | undefined;
  const started = Date.now();
  const outcome = await stuck.generate(
    { imagePath: image, formats: ['glb'], resolution: 32, threshold: 25, longestSideMm: 100, existing: 'fail' },
    model,
    () => cancel?.(),
    { onCancel: (listener) => (cancel = listener) },
  );
  assert.deepEqual(!outcome.ok && outcome.failure, { kind: 'cancelled' });
  assert.ok(Date.now() - started < 10_000, 'killed after the grace period, not after the stuck call');
  assert.deepEqual(readdirSync(dir).sort(), ['apple.png', 'stuck-worker.js']);
  assert.ok(logs.some((line) => /stopping the pipeline process/.test(line)));
  await stuck.dispose();
});

test('a process killed while it writes leaves no temporary file: the client sweeps once it is dead', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-killed-'));
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  const stuck = new PipelineClient(stuckProcessScript(dir), (line) => logs.push(line));
  const outcome = await stuck.generate(
    { imagePath: image, formats: ['glb'], resolution: 32, threshold: 25, longestSideMm: 100, existing: 'fail' },
    model,
    () => process.kill(stuck.state().pid!, 'SIGKILL'),
    neverCancelled(),
  );
  assert.ok(!outcome.ok && outcome.failure.kind === 'crashed', JSON.stringify(outcome));
  assert.deepEqual(readdirSync(dir).sort(), ['apple.png', 'stuck-worker.js']);
  await stuck.dispose();
});

/** An opaque 96² photo-like picture: a shaded blue disc (radius 26) on a plain, slightly graded backdrop. */
async function opaqueObjectPng(file: string): Promise<void> {
  const size = 96;
  const rgb = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2);
      const inside = Math.min(1, Math.max(0, 26.5 - d));
      const shade = 0.6 + 0.4 * (1 - d / 26);
      const backdrop = [212 - y / 24, 206 - y / 24, 196 - y / 24];
      const object = [40 * shade, 90 * shade, 210 * shade];
      for (let c = 0; c < 3; c++) rgb[(y * size + x) * 3 + c] = Math.round(inside * object[c]! + (1 - inside) * backdrop[c]!);
    }
  }
  await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE, 'not a PNG');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

test('the network input comes back as PNG bytes, and an image with transparency keeps its background', async () => {
  const { dir, request } = job(32);
  const segmenter = writeTestSegmenter(path.join(dir, 'net'), 'u2net.onnx', { width: 320, height: 320 });
  const outcome = await client.generate(
    { ...request, background: { mode: 'auto', model: { kind: 'file', file: segmenter, network: 'u2net' } } },
    model,
    () => undefined,
    neverCancelled(),
  );
  assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.failure));
  const input = outcome.result.input;
  assert.ok(input.png instanceof Uint8Array);
  assert.deepEqual(pngSize(input.png), { width: 512, height: 512 });
  const decoded = await sharp(input.png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(decoded.info.channels, 3);
  assert.equal(input.backgroundRemovedWith, undefined);
  assert.ok(input.objectShare > 0.05 && input.objectShare < 0.95, `objectShare ${input.objectShare}`);
});

test('an opaque image has its background removed in the pipeline process, and the segmenter stays open between jobs', async () => {
  const loads = (file: string): number =>
    logs.filter((line) => line.startsWith('Loaded the u2net background-removal network from ') && line.includes(file)).length;
  const { dir, request } = job(32);
  const photo = path.join(dir, 'photo.png');
  await opaqueObjectPng(photo);
  const first = writeTestSegmenter(path.join(dir, 'net'), 'first.onnx', { width: 320, height: 320 });
  const second = writeTestSegmenter(path.join(dir, 'net'), 'second.onnx', { width: 320, height: 320 });
  const run = async (file: string, outDir: string) => {
    const outcome = await client.generate(
      { ...request, imagePath: photo, outDir, background: { mode: 'auto', model: { kind: 'file', file, network: 'u2net' } } },
      model,
      () => undefined,
      neverCancelled(),
    );
    assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.failure));
    return outcome.result;
  };
  const out = (name: string) => mkdtempSync(path.join(dir, `${name}-`));

  const a = await run(first, out('a'));
  assert.equal(a.input.backgroundRemovedWith, 'u2net');
  // The disc of radius 26.5 covers π·26.5²/96² ≈ 24 % of the picture.
  assert.ok(Math.abs(a.input.objectShare - 0.239) < 0.03, `objectShare ${a.input.objectShare}`);
  assert.deepEqual(pngSize(a.input.png), { width: 512, height: 512 });
  // The network saw the disc on TripoSR's grey, not on the backdrop: the corner is 0.5 grey, truncated to 8 bits.
  const seen = await sharp(a.input.png).raw().toBuffer();
  assert.deepEqual([...seen.subarray(0, 3)], [127, 127, 127]);
  assert.equal(loads(first), 1);

  await run(first, out('b'));
  assert.equal(loads(first), 1, 'the second job with the same network file opened it again');

  await run(second, out('c'));
  assert.equal(loads(second), 1, 'another file must be opened');
  await run(first, out('d'));
  assert.equal(loads(first), 2, 'the first file was closed when the second was opened, so it is opened again');
});
