/**
 * Fault injection on what users hand the CLI: .gltf files with external buffers (ordinary ones, and
 * ones whose buffer reaches outside their folder), a GLB accessor that claims more than its buffer
 * holds, a decompression-bomb image, paths that are folders, an output folder the system refuses, and
 * the first run without a network. Each checks the exit code, the first line of the error, that each
 * file that was there before has the same SHA-256, and that nothing but the expected outputs appeared.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { assertFolder, folderState } from '../fixtures/folderState.js';
import { gltfText, handLaidTriangle, packGlb, texturedCube, writeFiles, type TexturedCube } from '../fixtures/gltfAssets.js';

const root = path.join(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'i3d-faults-input-'));
let cube: TexturedCube;

before(async () => {
  cube = await texturedCube();
});

function errorLine(run: CliRun): string {
  return run.stderr.split('\n').find((line) => line.startsWith('Error: ')) ?? `(no error line in: ${run.stderr.slice(-400)})`;
}

test('a .gltf with its .bin beside it converts', async () => {
  const dir = mkdtempSync(path.join(work, 'gltf-'));
  await writeFiles(dir, { 'cube.gltf': gltfText(cube.json, 'model.bin'), 'model.bin': cube.bin });
  const beforeRun = folderState(dir);
  const run = await runCli([path.join(dir, 'cube.gltf'), '--formats', 'stl,step']);
  assert.equal(run.code, 0, run.stderr);
  assertFolder(beforeRun, folderState(dir), ['cube.step', 'cube.stl']);
});

for (const [uri, what] of [
  ['../outside.bin', 'a parent folder'],
  ['/etc/passwd', 'an absolute path'],
  ['http://127.0.0.1:9/model.bin', 'a URL'],
  ['file:///etc/passwd', 'a file: URL'],
] as const) {
  test(`a .gltf whose buffer is ${what} (${uri}) is refused and nothing is written`, async () => {
    const parent = mkdtempSync(path.join(work, 'escape-'));
    const dir = path.join(parent, 'model');
    mkdirSync(dir);
    writeFileSync(path.join(parent, 'outside.bin'), cube.bin);
    await writeFiles(dir, { 'cube.gltf': gltfText(cube.json, uri) });
    const beforeRun = folderState(parent);
    const run = await runCli([path.join(dir, 'cube.gltf'), '--formats', 'stl']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(errorLine(run), /cube\.gltf/);
    assertFolder(beforeRun, folderState(parent), []);
  });
}

test('a GLB accessor that claims more vertices than its buffer view holds is refused', async () => {
  const dir = mkdtempSync(path.join(work, 'glb-'));
  const { json, bin } = handLaidTriangle();
  const lying = structuredClone(json);
  (lying.accessors![0] as { count: number }).count = 1000;
  writeFileSync(path.join(dir, 'tri.glb'), packGlb(lying, bin));
  const beforeRun = folderState(dir);
  const run = await runCli([path.join(dir, 'tri.glb'), '--formats', 'stl']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /tri\.glb/);
  assertFolder(beforeRun, folderState(dir), []);
});

/** A PNG whose header claims `width` × `height` and whose data is one empty row: what a decompression bomb's header says. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1 + 3 * Math.min(width, 1024)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('an image whose header claims far more pixels than allowed is refused before it is decoded', async () => {
  const dir = mkdtempSync(path.join(work, 'bomb-'));
  writeFileSync(path.join(dir, 'bomb.png'), pngClaiming(60_000, 60_000));
  const beforeRun = folderState(dir);
  const run = await runCli([path.join(dir, 'bomb.png'), '--model', 'standin']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /bomb\.png/);
  assertFolder(beforeRun, folderState(dir), []);
});

test('an output folder under /proc (which no one may write) is refused in words, and the run does not hang', async () => {
  const dir = mkdtempSync(path.join(work, 'proc-'));
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  const beforeRun = folderState(dir);
  const run = await runCli([image, '--model', 'standin', '--resolution', '32', '--out', '/proc/i3d-no-such-folder/out']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /Cannot create files in the folder \/proc\/i3d-no-such-folder\/out/);
  assert.doesNotMatch(run.stderr, /ENOENT|EACCES|errno/);
  assertFolder(beforeRun, folderState(dir), []);
});

test('offline, the first run names the demonstration model and a mirror, and leaves nothing', async () => {
  const dir = mkdtempSync(path.join(work, 'offline-'));
  const image = path.join(dir, 'apple.png');
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  const beforeRun = folderState(dir);
  const run = await runCli([image, '--cache', path.join(work, 'offline-cache'), '--model-url', 'config.yaml=http://nonexistent.invalid/config.yaml']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /Could not download config\.yaml/);
  assert.match(run.stderr, /--model standin/);
  assert.match(run.stderr, /--model-url/);
  assertFolder(beforeRun, folderState(dir), []);
});
