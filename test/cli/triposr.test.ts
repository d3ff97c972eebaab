/**
 * The CLI with the real TripoSR path: a tiny random-weight checkpoint in TripoSR's exact layout, served
 * from 127.0.0.1, downloaded into the cache, verified, converted to ONNX and run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TestFileServer } from '../fixtures/httpServer.js';
import { runCli } from '../fixtures/cli.js';

const root = path.join(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'i3d-cli-triposr-'));
const checkpointDir = path.join(work, 'tiny');
let server: TestFileServer;

before(async () => {
  const seed = String(Math.floor(Math.random() * 1e6));
  const made = spawnSync('/usr/bin/python3', [path.join(root, 'test/reference/make_checkpoint.py'), '--config', 'tiny', '--out', checkpointDir, '--seed', seed], {
    encoding: 'utf8',
  });
  assert.equal(made.status, 0, made.stderr);
  server = await TestFileServer.start();
  server.serve('/mirror/config.yaml', readFileSync(path.join(checkpointDir, 'config.yaml')));
  server.serve('/mirror/model.ckpt', readFileSync(path.join(checkpointDir, 'model.ckpt')));
});
after(() => server?.close());



function image(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(work, 'img-'));
  const file = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), file);
  return { dir, file };
}

const mirror = (): string[] => ['--model-url', `config.yaml=${server.url('/mirror/config.yaml')}`, '--model-url', `model.ckpt=${server.url('/mirror/model.ckpt')}`];
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('first run: downloads from the mirror, records the hash, converts, runs TripoSR and writes the files', async () => {
  const cache = mkdtempSync(path.join(work, 'cache-'));
  const { dir, file } = image();
  const run = await runCli([file, '--cache', cache, ...mirror(), '--resolution', '48']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /\[download\] Downloading model\.ckpt/);
  assert.match(run.stderr, /\[convert\] Converting TripoSR to ONNX/);
  assert.match(run.stderr, /Loaded triposr model/);
  assert.deepEqual(readdirSync(dir).sort(), ['apple.dxf', 'apple.glb', 'apple.png', 'apple.step']);
  const record = JSON.parse(readFileSync(path.join(cache, 'triposr', 'files.json'), 'utf8')) as { files: { name: string; sha256: string }[] };
  assert.equal(record.files.find((f) => f.name === 'model.ckpt')?.sha256, sha256(path.join(checkpointDir, 'model.ckpt')));
  const converted = readdirSync(path.join(cache, 'triposr', 'converted'));
  assert.equal(converted.length, 1);
  assert.match(converted[0], /^[0-9a-f]{16}-b\d+-fp32$/);

  // Second run: nothing downloaded or converted again, the cached graphs are used.
  const requests = server.requests.length;
  const again = image();
  const second = await runCli([again.file, '--cache', cache, ...mirror(), '--resolution', '48']);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /\[download\]|\[convert\]/);
  assert.equal(server.requests.length, requests, 'no request to the mirror');
  assert.ok(existsSync(path.join(again.dir, 'apple.step')));
});

test('--no-download with an empty cache says how to get the model and writes nothing', async () => {
  const cache = mkdtempSync(path.join(work, 'cache-'));
  const { dir, file } = image();
  const requests = server.requests.length;
  const run = await runCli([file, '--cache', cache, '--no-download']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /not downloaded yet/);
  assert.equal(server.requests.length, requests);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});

test('a bad image is refused before any download starts', async () => {
  const cache = mkdtempSync(path.join(work, 'cache-'));
  const dir = mkdtempSync(path.join(work, 'bad-'));
  const file = path.join(dir, 'bad.png');
  writeFileSync(file, 'not an image');
  const requests = server.requests.length;
  const run = await runCli([file, '--cache', cache, ...mirror()]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /could not be decoded/);
  assert.equal(server.requests.length, requests, 'nothing downloaded for a bad image');
});

test('a local checkpoint is converted once, cached beside it', async () => {
  const local = mkdtempSync(path.join(work, 'local-'));
  copyFileSync(path.join(checkpointDir, 'model.ckpt'), path.join(local, 'model.ckpt'));
  copyFileSync(path.join(checkpointDir, 'config.yaml'), path.join(local, 'config.yaml'));
  const { dir, file } = image();
  const run = await runCli([file, '--model', path.join(local, 'model.ckpt'), '--resolution', '40', '--formats', 'glb']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(path.join(dir, 'apple.glb')));
  const cached = readdirSync(path.join(local, '.image-to-3d')).filter((n) => !n.endsWith('.json'));
  assert.equal(cached.length, 1);
});

test('a checkpoint whose pickle names a foreign global is refused and nothing runs or is written', async () => {
  const evil = mkdtempSync(path.join(work, 'evil-'));
  const made = spawnSync(
    '/usr/bin/python3',
    [path.join(root, 'test/reference/make_checkpoint.py'), '--config', 'tiny', '--out', evil, '--foreign-global', 'system'],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const { dir, file } = image();
  const run = await runCli([file, '--model', path.join(evil, 'model.ckpt')]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /names a global that a state dict never needs: posix\.system/);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});

test('a mesh too large for STEP is refused with a way out, after telling how large, and nothing is written', async () => {
  // Random weights make a noisy field: at 200³ the surface has well over STEP's 500 k triangles.
  const local = mkdtempSync(path.join(work, 'large-'));
  copyFileSync(path.join(checkpointDir, 'model.ckpt'), path.join(local, 'model.ckpt'));
  copyFileSync(path.join(checkpointDir, 'config.yaml'), path.join(local, 'config.yaml'));
  const { dir, file } = image();
  const run = await runCli([file, '--model', path.join(local, 'model.ckpt'), '--resolution', '200', '--triangles', '0', '--formats', 'glb,step']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /The mesh has [\d,]+ triangles, more than STEP files are useful with \(500,000\)/);
  assert.match(run.stderr, /Lower the target triangle count .*--triangles.* or the resolution .*now 200/);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});
