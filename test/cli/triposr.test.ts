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

const mirrorUrls = (): string[] => ['--model-url', `config.yaml=${server.url('/mirror/config.yaml')}`, '--model-url', `model.ckpt=${server.url('/mirror/model.ckpt')}`];
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The tiny checkpoint is not TripoSR's published one, which the built-in list pins: a manifest of the
 * user's own pins it instead, as someone hosting weights they vouch for would.
 */
function tinyManifest(): string {
  const file = path.join(work, 'tiny-manifest.json');
  const pin = (name: string) => {
    const local = path.join(checkpointDir, name);
    return { name, url: `https://huggingface.co/stabilityai/TripoSR/resolve/main/${name}`, size: readFileSync(local).length, sha256: sha256(local) };
  };
  writeFileSync(file, JSON.stringify({ models: [{ id: 'triposr', kind: 'triposr', description: 'tiny test weights', files: [pin('config.yaml'), pin('model.ckpt')] }] }));
  return file;
}
const mirror = (): string[] => [...mirrorUrls(), '--model-manifest', tinyManifest()];

test('first run: downloads from the mirror, records the hash, converts, runs TripoSR and writes the files', async () => {
  const cache = mkdtempSync(path.join(work, 'cache-'));
  const { dir, file } = image();
  const run = await runCli([file, '--cache', cache, ...mirror(), '--resolution', '48']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /\[download\] Downloading model\.ckpt/);
  assert.match(run.stderr, /\[convert\] Converting TripoSR to ONNX/);
  assert.match(run.stderr, /^Running on \w+/m);
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

test('a mirror serving other bytes than the published files is refused, naming both hashes, and nothing is recorded', async () => {
  const cache = mkdtempSync(path.join(work, 'cache-'));
  const { dir, file } = image();
  // 987 bytes like the published config.yaml, one value changed.
  const forged = Buffer.alloc(987, ' ');
  forged.write('cond_image_size: 256\n');
  server.serve('/forged/config.yaml', forged);
  const run = await runCli([file, '--cache', cache, '--model-url', `config.yaml=${server.url('/forged/config.yaml')}`, '--resolution', '48']);
  assert.equal(run.code, 1, run.stderr);
  const forgedSha = createHash('sha256').update(forged).digest('hex');
  assert.ok(run.stderr.includes(`its SHA-256 is ${forgedSha}`), run.stderr);
  assert.ok(run.stderr.includes('74ca708ce086bf68e97709ea6b3d91f14717921c04691e84043f0eb8fcc68e62'), run.stderr);
  assert.match(run.stderr, /A mirror must serve exactly the published bytes of config\.yaml/);
  const record = JSON.parse(readFileSync(path.join(cache, 'triposr', 'files.json'), 'utf8')) as { files: unknown[] };
  assert.deepEqual(record.files, [], 'nothing recorded as trusted');
  assert.deepEqual(readdirSync(path.join(cache, 'triposr')).sort(), ['files.json']);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
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

test('a CAD mesh too large for STEP is refused with a way out, after telling how large, and nothing is written', async () => {
  // Random weights make a noisy field: its surface has about a million triangles, and at a
  // micrometre's tolerance nearly none of them can merge, so STEP's mesh stays over 500 k.
  const local = mkdtempSync(path.join(work, 'large-'));
  copyFileSync(path.join(checkpointDir, 'model.ckpt'), path.join(local, 'model.ckpt'));
  copyFileSync(path.join(checkpointDir, 'config.yaml'), path.join(local, 'config.yaml'));
  const { dir, file } = image();
  const run = await runCli([file, '--model', path.join(local, 'model.ckpt'), '--resolution', '160', '--cad-tolerance', '0.001', '--formats', 'glb,step']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /The mesh has [\d,]+ triangles, more than STEP files are useful with \(500,000\)/);
  assert.match(run.stderr, /Raise the CAD tolerance \(--cad-tolerance\), or leave STEP out of the output formats/);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});
