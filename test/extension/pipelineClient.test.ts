import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PipelineClient, workerScriptPath } from '../../src/extension/pipelineClient.js';
import type { GenerateRequest } from '../../src/pipeline/run.js';
import type { Progress } from '../../src/pipeline/progress.js';

// The client runs the bundled worker, as the extension does: build first.
const root = path.join(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const model = { dir: path.join(dist, 'models', 'standin'), executionProviders: ['cpu'] as const };
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

function neverCancelled(): { onCancel(listener: () => void): void } {
  return { onCancel: () => undefined };
}

test('a job runs in the worker and returns files, metrics and the preview buffers', async () => {
  const { dir, request } = job(40);
  const stages = new Set<string>();
  const outcome = await client.run(request, model, (p: Progress) => stages.add(p.stage), neverCancelled());
  assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.failure));
  assert.deepEqual(readdirSync(dir).sort(), ['apple.dxf', 'apple.glb', 'apple.png', 'apple.step']);
  assert.ok(outcome.result.preview.positions instanceof Float32Array && outcome.result.preview.positions.length > 0);
  assert.ok(outcome.result.preview.indices instanceof Uint32Array);
  assert.equal(outcome.result.provider, 'cpu');
  assert.ok(outcome.result.metrics.watertight);
  for (const stage of ['model', 'image', 'encode', 'surface', 'write']) assert.ok(stages.has(stage), stage);
});

test('cancelling mid-run resolves as cancelled and leaves no file', async () => {
  const { dir, request } = job(256);
  let cancel: (() => void) | undefined;
  const outcome = await client.run(
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

test('a user error crosses the thread boundary with its message and hint', async () => {
  const { dir, request } = job(40);
  const outcome = await client.run({ ...request, imagePath: path.join(dir, 'missing.png') }, model, () => undefined, neverCancelled());
  assert.equal(outcome.ok, false);
  if (outcome.ok) return;
  assert.equal(outcome.failure.kind, 'user');
  assert.ok(outcome.failure.kind === 'user' && outcome.failure.code === 'image-unreadable' && outcome.failure.hint.length > 0);
});

test('the worker survives a failed job and runs the next one', async () => {
  const { dir, request } = job(32);
  const outcome = await client.run(request, model, () => undefined, neverCancelled());
  assert.ok(outcome.ok);
  assert.ok(readdirSync(dir).includes('apple.glb'));
});

test('a worker that does not stop on cancel is terminated and its temporary files are swept', async () => {
  // A worker stuck in an uninterruptible call (as inference is): it has begun writing, then blocks.
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-stuck-'));
  const script = path.join(dir, 'stuck-worker.js');
  writeFileSync(
    script,
    `const { parentPort } = require('node:worker_threads');
     const fs = require('node:fs');
     const path = require('node:path');
     parentPort.on('message', (m) => {
       if (m.type !== 'run') return;
       const out = path.join(path.dirname(m.request.imagePath), '.apple.glb.' + m.request.tag + '.i3d-tmp');
       fs.writeFileSync(out, 'partial');
       parentPort.postMessage({ type: 'progress', jobId: m.jobId, progress: { stage: 'write', fraction: 0.5, message: 'writing' } });
       const until = Date.now() + 60000;
       while (Date.now() < until) {}
     });`,
  );
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  const stuck = new PipelineClient(script, (line) => logs.push(line));
  let cancel: (() => void) | undefined;
  const started = Date.now();
  const outcome = await stuck.run(
    { imagePath: image, formats: ['glb'], resolution: 32, threshold: 25, longestSideMm: 100, existing: 'fail' },
    model,
    () => cancel?.(),
    { onCancel: (listener) => (cancel = listener) },
  );
  assert.deepEqual(!outcome.ok && outcome.failure, { kind: 'cancelled' });
  assert.ok(Date.now() - started < 10_000, 'terminated after the grace period, not after the stuck call');
  assert.deepEqual(readdirSync(dir).sort(), ['apple.png', 'stuck-worker.js']);
  assert.ok(logs.some((line) => /terminating its worker/.test(line)));
  await stuck.dispose();
});
