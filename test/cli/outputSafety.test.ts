/**
 * The CLI never loses or half-replaces a file: a folder in the way of an output, an output folder that
 * leads back to the source, and what killed runs left behind. Each case checks the exit code, the
 * message, that every file that was there before has the same SHA-256, and that nothing but the
 * expected outputs is left (hidden files included).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { temporaryName } from '../../src/pipeline/files/writeNames.js';
import { newWriteTag } from '../../src/pipeline/files/writeTag.js';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { assertFolder, folderState } from '../fixtures/folderState.js';

const root = path.join(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'i3d-cli-safety-'));
const STANDIN = ['--model', 'standin', '--providers', 'cpu', '--resolution', '32'];
const children: ChildProcess[] = [];
let bundle = '';

before(() => {
  bundle = path.join(work, 'safeWrite.cjs');
  buildSync({ entryPoints: [path.join(root, 'src/pipeline/writers/safeWrite.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function folderWithImage(name = 'full.png'): { dir: string; image: string } {
  const dir = mkdtempSync(path.join(work, 'case-'));
  const image = path.join(dir, name);
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  return { dir, image };
}

function errorLine(run: CliRun): string {
  return run.stderr.split('\n').find((line) => line.startsWith('Error: ')) ?? `(no error line in: ${run.stderr.slice(-400)})`;
}

/** A mesh file to convert: the stand-in's STL of the sample. */
async function folderWithMesh(): Promise<{ dir: string; mesh: string }> {
  const { dir, image } = folderWithImage('part.png');
  const made = await runCli([image, ...STANDIN, '--formats', 'stl']);
  assert.equal(made.code, 0, made.stderr);
  rmSync(image);
  return { dir, mesh: path.join(dir, 'part.stl') };
}

test('a folder where an output should go: overwrite and fail stop before the work with exit 1 and replace nothing; suffix writes beside it', async () => {
  const { dir, image } = folderWithImage();
  mkdirSync(path.join(dir, 'full.dxf'));
  writeFileSync(path.join(dir, 'full.glb'), 'OLD\n');
  const beforeRun = folderState(dir);
  for (const existing of ['overwrite', 'fail']) {
    const run = await runCli([image, ...STANDIN, '--formats', 'glb,dxf', '--existing', existing]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(errorLine(run), /full\.dxf" is a folder/);
    assert.doesNotMatch(run.stderr, /\[encoder\]/, 'refused before any work');
    assertFolder(beforeRun, folderState(dir), []);
  }
  const suffixed = await runCli([image, ...STANDIN, '--formats', 'glb,dxf', '--existing', 'suffix']);
  assert.equal(suffixed.code, 0, suffixed.stderr);
  assert.deepEqual(suffixed.stdout.trim().split('\n'), ['full (2).glb', 'full (2).dxf'].map((f) => path.join(dir, f)));
  assertFolder(beforeRun, folderState(dir), ['full (2).dxf', 'full (2).glb']);
});

test('converting into a symlink to the source folder writes the other formats and leaves the source alone', async () => {
  const { dir, mesh } = await folderWithMesh();
  const link = path.join(work, `link-${path.basename(dir)}`);
  symlinkSync(dir, link);
  const inode = statSync(mesh).ino;
  const beforeRun = folderState(dir);
  const run = await runCli([mesh, '--formats', 'stl,glb', '--existing', 'overwrite', '--out', link]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /STL not written: it would have replaced the source file/);
  assert.deepEqual(run.stdout.trim().split('\n'), [path.join(link, 'part.glb')]);
  assertFolder(beforeRun, folderState(dir), ['part.glb']);
  assert.equal(statSync(mesh).ino, inode, 'the source is the same file, not a rewritten one');
});

test('converting into a folder holding a hard link to the source leaves both names on the one file', async () => {
  const { dir, mesh } = await folderWithMesh();
  const out = path.join(dir, 'out');
  mkdirSync(out);
  linkSync(mesh, path.join(out, 'part.stl'));
  const beforeRun = folderState(dir);
  const run = await runCli([mesh, '--formats', 'stl,glb', '--existing', 'overwrite', '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /STL not written/);
  assertFolder(beforeRun, folderState(dir), [path.join('out', 'part.glb')]);
  assert.equal(statSync(path.join(out, 'part.stl')).ino, statSync(mesh).ino);
  assert.equal(statSync(mesh).nlink, 2);
});

test("the next run puts back what a killed overwrite moved aside and sweeps its files, but leaves a live run's", async () => {
  const { dir, image } = folderWithImage();
  writeFileSync(path.join(dir, 'full.glb'), 'EARLIER GLB\n');
  const original = folderState(dir);
  // A writer killed after both new files were named, before its commit: full.glb new, the earlier one
  // aside, full.dxf new, a journal and the temporaries.
  const script = `
    const { writeFilesSafely } = require(${JSON.stringify(bundle)});
    const files = JSON.parse(process.argv[1]);
    writeFilesSafely(files, { existing: 'overwrite', onStep: (s) => { if (s.step === 'placed' && s.file.endsWith('.dxf')) process.kill(process.pid, 'SIGKILL'); } });`;
  const files = ['glb', 'dxf'].map((ext) => ({ path: path.join(dir, `full.${ext}`), data: `KILLED RUN ${ext}` }));
  const killed = spawnSync(process.execPath, ['-e', script, JSON.stringify(files)]);
  assert.equal(killed.signal, 'SIGKILL', String(killed.stderr));
  // Files of a run still going (another process, alive), which no one else may touch.
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
  children.push(live);
  const liveFiles = [temporaryName('full.step', newWriteTag(live.pid!)), temporaryName('probe', newWriteTag(live.pid!))];
  for (const name of liveFiles) writeFileSync(path.join(dir, name), 'still being written');

  const run = await runCli([image, ...STANDIN, '--formats', 'glb,dxf', '--existing', 'fail']);
  assert.equal(run.code, 1, run.stderr);
  // Only the earlier full.glb is in the way: the killed run's full.dxf is gone, its full.glb undone.
  assert.match(errorLine(run), /full\.glb already exists/);
  assert.doesNotMatch(errorLine(run), /full\.dxf/);
  assertFolder(original, folderState(dir), liveFiles);
});
