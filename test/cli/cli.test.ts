import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../fixtures/cli.js';

const root = path.join(__dirname, '..', '..');
const sample = path.join(root, 'samples', 'apple.png');



function freshCopy(name = 'apple.png'): { dir: string; image: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-'));
  const image = path.join(dir, name);
  copyFileSync(sample, image);
  return { dir, image };
}

test('writes the three files next to the image and prints them', async () => {
  const { dir, image } = freshCopy();
  const run = await runCli([image, '--model', 'standin', '--resolution', '48']);
  assert.equal(run.code, 0, run.stderr);
  const files = run.stdout.trim().split('\n');
  assert.deepEqual(files, ['apple.glb', 'apple.dxf', 'apple.step'].map((f) => path.join(dir, f)));
  for (const file of files) assert.ok(existsSync(file));
  assert.match(run.stderr, /\[encoder\]/);
  assert.match(run.stderr, /\[surface\]/);
  assert.match(run.stderr, /watertight/);
  assert.match(run.stderr, /stand-in/);
});

test('--out and --formats choose the folder and the files', async () => {
  const { image } = freshCopy('photo.JPG.png');
  const out = mkdtempSync(path.join(tmpdir(), 'i3d-cli-out-'));
  const run = await runCli([image, '--model', 'standin', '--resolution', '40', '--out', out, '--formats', 'step']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readdirSync(out), ['photo.JPG.step']);
  assert.match(readFileSync(path.join(out, 'photo.JPG.step'), 'utf8'), /^ISO-10303-21;/);
});

test('never overwrites: an existing output fails with a hint, and the file is unchanged', async () => {
  const { dir, image } = freshCopy();
  writeFileSync(path.join(dir, 'apple.glb'), 'mine');
  const run = await runCli([image, '--model', 'standin', '--resolution', '40']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /apple\.glb already exists/);
  assert.match(run.stderr, /existing/i);
  assert.equal(readFileSync(path.join(dir, 'apple.glb'), 'utf8'), 'mine');
  assert.deepEqual(readdirSync(dir).sort(), ['apple.glb', 'apple.png']);
  const again = await runCli([image, '--model', 'standin', '--resolution', '40', '--existing', 'suffix', '--formats', 'glb']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), path.join(dir, 'apple (2).glb'));
});

test("hints name the CLI's flags, never the extension's settings", async () => {
  const { dir, image } = freshCopy();
  writeFileSync(path.join(dir, 'apple.glb'), 'mine');
  writeFileSync(path.join(dir, 'apple.step'), 'mine');
  const exists = await runCli([image, '--model', 'standin', '--resolution', '40']);
  assert.equal(exists.code, 1, exists.stderr);
  assert.match(exists.stderr, /apple\.glb, .*apple\.step already exist/);
  assert.match(exists.stderr, /choose suffix or overwrite for existing files with --existing\./);
  // A hint from deep in the run: the surface stage, after the network ran.
  const empty = await runCli([image, '--model', 'standin', '--resolution', '40', '--threshold', '1e30', '--out', path.join(dir, 'out')]);
  assert.equal(empty.code, 1, empty.stderr);
  assert.match(empty.stderr, /Lower the threshold \(--threshold\) below \d/);
  for (const run of [exists, empty]) assert.doesNotMatch(run.stderr, /imageTo3d\.|the setting|VS Code/);
});

test('a corrupt image exits 1 with a message and writes nothing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-bad-'));
  const image = path.join(dir, 'bad.png');
  writeFileSync(image, 'garbage');
  const run = await runCli([image, '--model', 'standin']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /Error: .*bad\.png.*could not be decoded/);
  assert.deepEqual(readdirSync(dir), ['bad.png']);
});

test('a missing model folder exits 1 naming it', async () => {
  const { dir, image } = freshCopy();
  const missing = path.join(dir, 'no-model-here');
  const run = await runCli([image, '--model', missing]);
  assert.equal(run.code, 1);
  assert.ok(run.stderr.includes(missing), run.stderr);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});

test('bad usage exits 2 with the usage text; --help exits 0', async () => {
  for (const args of [[], ['a.png', 'b.png'], ['a.png', '--formats', 'obj2'], ['a.png', '--resolution', 'lots'], ['a.png', '--bogus']]) {
    const run = await runCli(args);
    assert.equal(run.code, 2, `args ${args.join(' ')}`);
    assert.ok(run.stderr.length > 0);
  }
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: image-to-3d/);
});

test('Ctrl+C during the surface stage cancels and leaves nothing behind', async () => {
  const { dir, image } = freshCopy();
  const run = await runCli([image, '--model', 'standin', '--resolution', '200'], { interruptOn: /\[surface\]/ });
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /Cancelled\. Nothing was written\./);
  assert.deepEqual(readdirSync(dir), ['apple.png']);
});

test('writes OBJ, STL and PLY on request, and converts its own OBJ back to STEP and a polyface DXF', async () => {
  const { dir, image } = freshCopy();
  const made = await runCli([image, '--model', 'standin', '--resolution', '40', '--formats', 'obj,stl,ply']);
  assert.equal(made.code, 0, made.stderr);
  assert.deepEqual(made.stdout.trim().split('\n'), ['apple.obj', 'apple.stl', 'apple.ply'].map((f) => path.join(dir, f)));
  const generatedFaces = Number(/(\d+) faces/.exec(made.stderr)?.[1]);
  assert.ok(generatedFaces > 0, made.stderr);

  const out = mkdtempSync(path.join(tmpdir(), 'i3d-cli-convert-'));
  const converted = await runCli([path.join(dir, 'apple.obj'), '--formats', 'step,dxf', '--dxf', 'polyface', '--out', out]);
  assert.equal(converted.code, 0, converted.stderr);
  assert.deepEqual(converted.stdout.trim().split('\n'), ['apple.step', 'apple.dxf'].map((f) => path.join(out, f)));
  // Same mesh, same size: the conversion keeps faces and millimetres.
  assert.equal(Number(/(\d+) faces/.exec(converted.stderr)?.[1]), generatedFaces, converted.stderr);
  assert.match(converted.stderr, /Read as OBJ, Z up, in mm/);
  assert.match(readFileSync(path.join(out, 'apple.dxf'), 'utf8'), /POLYLINE\r\n/);
  assert.match(readFileSync(path.join(out, 'apple.step'), 'utf8'), /^ISO-10303-21;/);
});

test('a mesh file with bad conversion options exits 2; one that is not a mesh exits 1 and writes nothing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-cli-mesh-'));
  const broken = path.join(dir, 'broken.stl');
  writeFileSync(broken, Buffer.alloc(100, 7));
  const badUp = await runCli([broken, '--up', 'x']);
  assert.equal(badUp.code, 2);
  assert.match(badUp.stderr, /--up takes y or z/);
  const run = await runCli([broken, '--formats', 'step']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /broken\.stl could not be read as STL/);
  assert.deepEqual(readdirSync(dir), ['broken.stl']);
});
