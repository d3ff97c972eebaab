/**
 * Fault injection on the writing stage, through the CLI as a user runs it: outputs in the way,
 * symlinked and hard-linked output folders that lead back to the source, Ctrl+C twice and SIGKILL at
 * seeded random points while the files are written, a full disk, and concurrent runs into one folder.
 * Every case checks the exit code, the first line of the error, that each file that was there before
 * has the same SHA-256, and that no file other than the expected outputs exists afterwards (hidden
 * files included).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { added, assertFolder, assertUnchanged, folderState } from '../fixtures/folderState.js';

const root = path.join(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'i3d-faults-write-'));
const STANDIN = ['--model', 'standin', '--providers', 'cpu'];

/** The user-facing line of a failure: the CLI writes "Error: <what happened>" then the hint. */
function errorLine(run: CliRun): string {
  return run.stderr.split('\n').find((line) => line.startsWith('Error: ')) ?? `(no error line in: ${run.stderr.slice(-400)})`;
}

/** A fresh folder holding the sample image under `name`. */
function folderWithImage(name = 'full.png'): { dir: string; image: string } {
  const dir = mkdtempSync(path.join(work, 'case-'));
  const image = path.join(dir, name);
  copyFileSync(path.join(root, 'samples', 'apple.png'), image);
  return { dir, image };
}

/** The new files grouped by name stem; each group must be one whole set of `formats`, and nothing hidden. */
function assertWholeSets(newFiles: readonly string[], formats: readonly string[]): Map<string, string[]> {
  const hidden = newFiles.filter((f) => path.basename(f).startsWith('.'));
  assert.deepEqual(hidden, [], 'hidden files were left');
  const sets = new Map<string, string[]>();
  for (const file of newFiles) {
    const ext = path.extname(file).slice(1);
    const stem = file.slice(0, -(ext.length + 1));
    sets.set(stem, [...(sets.get(stem) ?? []), ext]);
  }
  for (const [stem, exts] of sets) assert.deepEqual(exts.sort(), [...formats].sort(), `${stem}: a partial set of outputs`);
  return sets;
}

test('with --existing overwrite, an output that cannot be placed (a folder in its way) replaces nothing', async () => {
  const { dir, image } = folderWithImage();
  mkdirSync(path.join(dir, 'full.dxf'));
  writeFileSync(path.join(dir, 'full.glb'), 'OLD\n');
  const beforeRun = folderState(dir);
  const run = await runCli([image, ...STANDIN, '--formats', 'glb,dxf', '--existing', 'overwrite', '--resolution', '32']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /full\.dxf/);
  assert.match(errorLine(run), /folder|directory/i);
  assertFolder(beforeRun, folderState(dir), []);
});

test('with --existing fail and suffix, a folder in the way of an output is handled as an existing file', async () => {
  const { dir, image } = folderWithImage();
  mkdirSync(path.join(dir, 'full.dxf'));
  const beforeRun = folderState(dir);
  const failed = await runCli([image, ...STANDIN, '--formats', 'glb,dxf', '--existing', 'fail', '--resolution', '32']);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(errorLine(failed), /full\.dxf/);
  assertFolder(beforeRun, folderState(dir), []);
  const suffixed = await runCli([image, ...STANDIN, '--formats', 'glb,dxf', '--existing', 'suffix', '--resolution', '32']);
  assert.equal(suffixed.code, 0, suffixed.stderr);
  assertFolder(beforeRun, folderState(dir), ['full (2).dxf', 'full (2).glb']);
});

test('a conversion whose output folder is a symbolic link to the source folder never writes over the source', async () => {
  const { dir } = folderWithImage();
  const part = path.join(dir, 'part.stl');
  const made = await runCli([path.join(dir, 'full.png'), ...STANDIN, '--formats', 'stl', '--resolution', '32']);
  assert.equal(made.code, 0, made.stderr);
  copyFileSync(path.join(dir, 'full.stl'), part);
  const link = path.join(work, `link-${path.basename(dir)}`);
  symlinkSync(dir, link);
  const beforeRun = folderState(dir);
  const run = await runCli([part, '--formats', 'stl', '--existing', 'overwrite', '--out', link]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /part\.stl/);
  assertFolder(beforeRun, folderState(dir), []);
});

test('a conversion into a folder where the target is a hard link to the source never writes over the source', async () => {
  const { dir } = folderWithImage();
  const made = await runCli([path.join(dir, 'full.png'), ...STANDIN, '--formats', 'stl', '--resolution', '32']);
  assert.equal(made.code, 0, made.stderr);
  const out = path.join(dir, 'out');
  mkdirSync(out);
  linkSync(path.join(dir, 'full.stl'), path.join(out, 'full.stl'));
  const beforeRun = folderState(dir);
  const run = await runCli([path.join(dir, 'full.stl'), '--formats', 'stl', '--existing', 'overwrite', '--out', out]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(errorLine(run), /full\.stl/);
  assertFolder(beforeRun, folderState(dir), []);
});

/** A mesh heavy enough that writing GLB, DXF, STEP and OBJ takes a measurable while. */
const HEAVY = [...STANDIN, '--formats', 'glb,dxf,step,obj', '--resolution', '160', '--triangles', '0', '--smooth', '0'];
const HEAVY_FORMATS = ['glb', 'dxf', 'step', 'obj'];
let writeMs = 0;

before(async () => {
  // How long the writing stage takes here (from its first progress line to the exit): the kills below are spread over it.
  const run = await runCli([folderWithImage('timing.png').image, ...HEAVY]);
  assert.equal(run.code, 0, run.stderr);
  const writeStarted = run.timeline.find((chunk) => chunk.text.includes('[write]'))?.atMs;
  assert.ok(writeStarted !== undefined, run.stderr);
  writeMs = Math.max(50, Math.round(run.endedAtMs - writeStarted));
});

/** Seeded: the same points every run, so a failure can be replayed. */
function seededPoints(seed: number, count: number, span: number): number[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: count }, () => Math.round(next() * span));
}

test('SIGKILL at 20 seeded points of the writing stage: the next run leaves whole sets only and every earlier file intact', async (t) => {
  const points = seededPoints(20261203, 20, writeMs);
  t.diagnostic(`writing takes about ${writeMs} ms here; killing after ${points.join(', ')} ms`);
  const { dir, image } = folderWithImage();
  // Earlier outputs of the same name, which a killed overwrite must not lose.
  writeFileSync(path.join(dir, 'full.glb'), 'EARLIER GLB\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'the user\'s own file\n');
  const original = folderState(dir);
  for (const afterMs of points) {
    const killed = await runCli([image, ...HEAVY, '--existing', 'overwrite'], { signals: [{ when: /\[write\]/, afterMs, signal: 'SIGKILL' }] });
    assert.ok(killed.signal === 'SIGKILL' || killed.code === 0, `killed after ${afterMs} ms: ${killed.code} ${killed.signal}`);
    // The next run into the folder clears what the killed one left (a different name, so it writes beside).
    const next = await runCli([image, ...STANDIN, '--formats', 'stl', '--resolution', '32', '--existing', 'overwrite']);
    assert.equal(next.code, 0, next.stderr);
    const now = folderState(dir);
    const fresh = added(original, now).filter((f) => f !== 'full.stl');
    // full.glb is either the earlier file or one of a whole new set; never anything else.
    const replaced = now.get('full.glb') !== original.get('full.glb');
    assertWholeSets(replaced ? [...fresh, 'full.glb'] : fresh, HEAVY_FORMATS);
    if (!replaced) assert.deepEqual(fresh, [], `after ${afterMs} ms: new files without the set's GLB`);
    assertUnchanged(new Map([...original].filter(([rel]) => rel !== 'full.glb')), now);
  }
});

test('Ctrl+C twice while writing quits at once; the next run sweeps what was left', async () => {
  const { dir, image } = folderWithImage();
  const beforeRun = folderState(dir);
  const run = await runCli([image, ...HEAVY], {
    signals: [
      { when: /\[write\]/, signal: 'SIGINT', afterMs: Math.round(writeMs / 3) },
      { when: /Cancelling/, signal: 'SIGINT' },
    ],
  });
  // 130 from the CLI; or killed by the second SIGINT itself when it lands after the CLI let go of it.
  assert.ok(run.code === 130 || run.code === 0 || run.signal === 'SIGINT', `${run.code} ${run.signal}: ${run.stderr}`);
  const next = await runCli([image, ...STANDIN, '--formats', 'stl', '--resolution', '32']);
  assert.equal(next.code, 0, next.stderr);
  const fresh = added(beforeRun, folderState(dir)).filter((f) => f !== 'full.stl');
  assertWholeSets(fresh, HEAVY_FORMATS);
});

test('four runs at once into one folder with --existing suffix give four whole sets and nothing else', async () => {
  const { dir, image } = folderWithImage();
  const beforeRun = folderState(dir);
  const runs = await Promise.all([0, 1, 2, 3].map(() => runCli([image, ...STANDIN, '--formats', 'glb,dxf,step', '--resolution', '40', '--existing', 'suffix'])));
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const sets = assertWholeSets(added(beforeRun, folderState(dir)), ['glb', 'dxf', 'step']);
  assert.equal(sets.size, 4, [...sets.keys()].join(', '));
  assertUnchanged(beforeRun, folderState(dir));
});

test('a full disk (ENOSPC on a small tmpfs) fails with a plain message and leaves the folder as it was', async (t) => {
  const mount = path.join(work, 'small-disk');
  mkdirSync(mount);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=384k', 'tmpfs', mount], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    t.skip(`cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim() || `exit ${mounted.status}`}); ENOSPC not exercised`);
    return;
  }
  try {
    const { image } = folderWithImage();
    writeFileSync(path.join(mount, 'keep.txt'), 'already here\n');
    const beforeRun = folderState(mount);
    const run = await runCli([image, ...STANDIN, '--formats', 'glb,dxf,step,obj', '--resolution', '96', '--out', mount]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(errorLine(run), /disk|space|full/i);
    assertFolder(beforeRun, folderState(mount), []);
    assert.deepEqual(readdirSync(mount), ['keep.txt']);
  } finally {
    spawnSync('umount', [mount]);
  }
});
