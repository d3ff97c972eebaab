/**
 * The write protocol under faults: a folder in the way, a move that fails after others succeeded, a
 * target that is the source itself, and writers killed at each step of the commit, recovered by the
 * next run. Every case checks the error, that each file that was there before has the same SHA-256,
 * and that nothing else is left in the folder (hidden files included).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { sweepAbandonedWrites } from '../../src/pipeline/files/sweepAbandonedWrites.js';
import { isSameFile } from '../../src/pipeline/files/fileIdentity.js';
import { backupName, journalName, temporaryName } from '../../src/pipeline/files/writeNames.js';
import { holdWriteTag, isWriteAbandoned } from '../../src/pipeline/files/writeTag.js';
import { checkOutputsBeforeRun } from '../../src/pipeline/writers/outputCheck.js';
import { formatsOtherThanSource } from '../../src/pipeline/writers/outputs.js';
import { writeMeshOutputs } from '../../src/pipeline/writers/writeOutputs.js';
import { unitCube } from '../fixtures/meshes.js';
import {
  newWriteTag,
  sweepTemporaryFiles,
  writeFilesSafely,
  type ExistingFilePolicy,
  type PendingFile,
  type WriteStep,
} from '../../src/pipeline/writers/safeWrite.js';
import { added, assertFolder, assertUnchanged, folderState } from '../fixtures/folderState.js';
import { rejectsWith } from '../fixtures/userErrors.js';

const REPO_ROOT = path.resolve(__dirname, '../..');
const POLICIES: readonly ExistingFilePolicy[] = ['fail', 'suffix', 'overwrite'];

let root: string;
let caseNumber = 0;
/** The writer bundled on its own, for child processes that die in the middle of a write. */
let bundle: string;
const children: ChildProcess[] = [];

before(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'i3d-safe-write-'));
  bundle = path.join(root, 'safeWrite.cjs');
  buildSync({ entryPoints: [path.join(REPO_ROOT, 'src/pipeline/writers/safeWrite.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  spawnSync('chattr', ['-R', '-i', root]);
  await fsp.rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = path.join(root, `case${++caseNumber}`);
  await fsp.mkdir(dir);
  return dir;
}

/** The id of a process that has exited: its tags are abandoned. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid && child.pid > 0);
  return child.pid;
}

/** A process that stays alive until the tests end: its tags must be left alone. */
function livePid(): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
  children.push(child);
  assert.ok(child.pid && child.pid > 0);
  return child.pid;
}

/** a.glb and a.step from an earlier run, and a file of the user's; the write below brings a.dxf too. */
async function folderWithEarlierOutputs(): Promise<string> {
  const dir = await freshDir();
  await fsp.writeFile(path.join(dir, 'a.glb'), 'EARLIER GLB');
  await fsp.writeFile(path.join(dir, 'a.step'), 'EARLIER STEP');
  await fsp.writeFile(path.join(dir, 'notes.txt'), "the user's own file");
  return dir;
}

function newSet(dir: string, stem = 'a'): PendingFile[] {
  return ['glb', 'dxf', 'step'].map((ext) => ({ path: path.join(dir, `${stem}.${ext}`), data: `NEW ${ext.toUpperCase()} `.repeat(1000) }));
}

/** The next run's first step: what it does before any work, whatever it goes on to write. */
async function nextRunChecks(dir: string): Promise<void> {
  await checkOutputsBeforeRun({ sourcePath: path.join(dir, 'other.png'), formats: ['glb'], existing: 'suffix' });
}

/**
 * Runs the write in a child process that kills itself (SIGKILL: no cleanup of any kind) when the write
 * reaches `crashAt`; returns once it is dead.
 */
function crashWriting(files: readonly PendingFile[], existing: ExistingFilePolicy, crashAt: { step: WriteStep['step']; file?: string }): void {
  const script = `
    const { writeFilesSafely } = require(${JSON.stringify(bundle)});
    const job = JSON.parse(process.argv[1]);
    writeFilesSafely(job.files, {
      existing: job.existing,
      onStep: (s) => {
        if (s.step === job.crashAt.step && (job.crashAt.file === undefined || s.file === job.crashAt.file)) process.kill(process.pid, 'SIGKILL');
      },
    }).then(() => process.exit(3), (e) => { console.error(e); process.exit(4); });`;
  const child = spawnSync(process.execPath, ['-e', script, JSON.stringify({ files, existing, crashAt })], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', `the writer did not reach ${JSON.stringify(crashAt)}: exit ${child.status} ${child.stderr}`);
}

function hiddenIn(names: readonly string[]): string[] {
  return names.filter((n) => path.basename(n).startsWith('.'));
}

describe('a folder where an output should go', () => {
  for (const existing of ['overwrite', 'fail'] as const) {
    it(`stops a write under '${existing}' before anything is replaced, naming the folder`, async () => {
      const dir = await folderWithEarlierOutputs();
      await fsp.mkdir(path.join(dir, 'a.dxf'));
      await fsp.writeFile(path.join(dir, 'a.dxf', 'inside'), 'x');
      const beforeRun = folderState(dir);
      const err = await rejectsWith(writeFilesSafely(newSet(dir), { existing }), 'output-not-writable', /is a folder/);
      assert.ok(err.message.includes(path.join(dir, 'a.dxf')), err.message);
      assertFolder(beforeRun, folderState(dir), []);
      // The check before a run says the same, before minutes of work.
      const early = await rejectsWith(
        checkOutputsBeforeRun({ sourcePath: path.join(dir, 'a.png'), formats: ['glb', 'dxf', 'step'], existing }),
        'output-not-writable',
        /is a folder/,
      );
      assert.ok(early.message.includes(path.join(dir, 'a.dxf')), early.message);
      assertFolder(beforeRun, folderState(dir), []);
    });
  }

  it("is passed by under 'suffix', like any taken name", async () => {
    const dir = await folderWithEarlierOutputs();
    await fsp.mkdir(path.join(dir, 'a.dxf'));
    const beforeRun = folderState(dir);
    await checkOutputsBeforeRun({ sourcePath: path.join(dir, 'a.png'), formats: ['glb', 'dxf', 'step'], existing: 'suffix' });
    const written = await writeFilesSafely(newSet(dir), { existing: 'suffix' });
    assert.deepEqual(written, ['a (2).glb', 'a (2).dxf', 'a (2).step'].map((f) => path.join(dir, f)));
    assertFolder(beforeRun, folderState(dir), ['a (2).dxf', 'a (2).glb', 'a (2).step']);
  });
});

describe('a move that fails after others succeeded', () => {
  it('a folder put at a later name after the first file was moved aside: every earlier file is put back', async () => {
    const dir = await folderWithEarlierOutputs();
    const beforeRun = folderState(dir);
    const seen: string[] = [];
    const err = await rejectsWith(
      writeFilesSafely(newSet(dir), {
        existing: 'overwrite',
        onStep: async (s) => {
          seen.push(s.step);
          if (s.step === 'moved-aside' && s.file.endsWith('a.glb')) {
            await fsp.mkdir(path.join(dir, 'a.dxf'));
            await fsp.writeFile(path.join(dir, 'a.dxf', 'inside'), 'x');
          }
        },
      }),
      'output-not-writable',
      /a\.dxf" is a folder/,
    );
    assert.ok(seen.includes('moved-aside'), 'the failure came after a file was moved aside');
    assert.ok(err.message.includes(path.join(dir, 'a.dxf')));
    assertFolder(beforeRun, folderState(dir), ['a.dxf', path.join('a.dxf', 'inside')]);
  });

  it('a name taken by another program after the first new file was placed: the new file goes, the earlier ones come back', async () => {
    const dir = await folderWithEarlierOutputs();
    const beforeRun = folderState(dir);
    await rejectsWith(
      writeFilesSafely(newSet(dir), {
        existing: 'overwrite',
        onStep: async (s) => {
          if (s.step === 'placed' && s.file.endsWith('a.glb')) await fsp.writeFile(path.join(dir, 'a.dxf'), 'ANOTHER PROGRAM');
        },
      }),
      'output-not-writable',
      /a\.dxf" was created by another program/,
    );
    assertFolder(beforeRun, folderState(dir), ['a.dxf']);
    assert.equal(await fsp.readFile(path.join(dir, 'a.dxf'), 'utf8'), 'ANOTHER PROGRAM');
  });

  it('a name another program writes while its earlier file is aside: both are kept, the earlier one beside it under a visible name', async () => {
    const dir = await folderWithEarlierOutputs();
    const beforeRun = folderState(dir);
    const err = await rejectsWith(
      writeFilesSafely(newSet(dir), {
        existing: 'overwrite',
        onStep: async (s) => {
          if (s.step === 'moved-aside' && s.file.endsWith('a.step')) await fsp.writeFile(path.join(dir, 'a.glb'), 'ANOTHER PROGRAM');
        },
      }),
      'output-not-writable',
    );
    const keptAs = path.join(dir, 'a (earlier).glb');
    assert.ok(err.message.includes(`kept beside it as "${keptAs}"`), err.message);
    const now = folderState(dir);
    assert.equal(now.get('a (earlier).glb'), beforeRun.get('a.glb'), 'the earlier a.glb, whole');
    assert.equal(await fsp.readFile(path.join(dir, 'a.glb'), 'utf8'), 'ANOTHER PROGRAM');
    assertUnchanged(new Map([...beforeRun].filter(([rel]) => rel !== 'a.glb')), now);
    assert.deepEqual(added(beforeRun, now), ['a (earlier).glb']);
  });

  it('an earlier file that cannot be moved (immutable) after another was: nothing is replaced', async (t: TestContext) => {
    const dir = await folderWithEarlierOutputs();
    const locked = path.join(dir, 'a.step');
    const chattr = spawnSync('chattr', ['+i', locked], { encoding: 'utf8' });
    if (chattr.status !== 0) {
      t.skip(`cannot make a file immutable here (${(chattr.stderr || chattr.error?.message || '').trim()})`);
      return;
    }
    try {
      const beforeRun = folderState(dir);
      const seen: string[] = [];
      const err = await rejectsWith(
        writeFilesSafely(newSet(dir), { existing: 'overwrite', onStep: (s) => void seen.push('file' in s ? `${s.step} ${path.basename(s.file)}` : s.step) }),
        'output-not-writable',
      );
      assert.ok(seen.includes('moved-aside a.glb'), `a.glb was moved aside before a.step failed: ${seen.join(', ')}`);
      assert.ok(err.message.includes(locked), err.message);
      assertFolder(beforeRun, folderState(dir), []);
    } finally {
      spawnSync('chattr', ['-i', locked]);
    }
  });
});

describe('a target that is the source itself', () => {
  async function folderWithSource(): Promise<{ dir: string; source: string }> {
    const dir = await freshDir();
    const source = path.join(dir, 'part.stl');
    await fsp.writeFile(source, 'solid part\nendsolid part\n');
    return { dir, source };
  }

  for (const existing of POLICIES) {
    it(`is refused under '${existing}', through a symlinked folder or a hard link`, async () => {
      const { dir, source } = await folderWithSource();
      const link = path.join(root, `link-${caseNumber}`);
      await fsp.symlink(dir, link);
      const out = path.join(dir, 'out');
      await fsp.mkdir(out);
      await fsp.link(source, path.join(out, 'part.stl'));
      const beforeRun = folderState(dir);
      for (const target of [path.join(link, 'part.stl'), path.join(out, 'part.stl'), path.join(out, '..', 'part.stl')]) {
        const err = await rejectsWith(
          writeFilesSafely([{ path: target, data: 'NEW' }], { existing, sourceFiles: [source] }),
          'invalid-option',
          /would replace the source file/,
        );
        assert.ok(err.message.includes(target), err.message);
        assertFolder(beforeRun, folderState(dir), []);
      }
    });
  }

  it('is recognised by its real place even before either file exists', async () => {
    const dir = await freshDir();
    const link = path.join(root, `link-${caseNumber}`);
    await fsp.symlink(dir, link);
    assert.equal(await isSameFile(path.join(link, 'x.stl'), path.join(dir, 'x.stl')), true);
    assert.equal(await isSameFile(path.join(link, 'x.stl'), path.join(dir, 'y.stl')), false);
  });

  it('is left out of a conversion by formatsOtherThanSource, whichever way the folder reaches it', async () => {
    const { dir, source } = await folderWithSource();
    const link = path.join(root, `link-${caseNumber}`);
    await fsp.symlink(dir, link);
    const hardLinked = path.join(dir, 'hard');
    await fsp.mkdir(hardLinked);
    await fsp.link(source, path.join(hardLinked, 'part.stl'));
    const unrelated = path.join(dir, 'unrelated');
    await fsp.mkdir(unrelated);
    await fsp.writeFile(path.join(unrelated, 'part.stl'), 'another file of that name');
    for (const outDir of [undefined, link, hardLinked, path.join(unrelated, '..')]) {
      assert.deepEqual(await formatsOtherThanSource(source, ['stl', 'glb'], outDir), { formats: ['glb'], skipped: ['stl'] }, String(outDir));
    }
    assert.deepEqual(await formatsOtherThanSource(source, ['stl', 'glb'], unrelated), { formats: ['stl', 'glb'], skipped: [] });
  });

  it("is refused before a generation whose saved input image would land on the image itself", async () => {
    const dir = await freshDir();
    // The stem is cut to 120 bytes, so "<120 a>.input.png" plans its input image at its own name.
    const image = path.join(dir, `${'a'.repeat(120)}.input.png`);
    await fsp.writeFile(image, 'PNG');
    const beforeRun = folderState(dir);
    for (const existing of POLICIES) {
      const err = await rejectsWith(
        checkOutputsBeforeRun({ sourcePath: image, formats: ['glb'], saveInput: true, existing }),
        'invalid-option',
        /would replace the source file/,
      );
      assert.ok(err.message.includes(image), err.message);
      // The write refuses it too, for a caller that skipped the check.
      await rejectsWith(writeFilesSafely([{ path: image, data: 'NEW' }], { existing, sourceFiles: [image] }), 'invalid-option');
    }
    await checkOutputsBeforeRun({ sourcePath: image, formats: ['glb'], existing: 'fail' });
    assertFolder(beforeRun, folderState(dir), []);
  });
});

describe('tags and who owns them', () => {
  it('carry the pid; only a gone process of this machine, or our own pid that nothing here holds, is abandoned', () => {
    const dead = deadPid();
    const live = livePid();
    assert.match(newWriteTag(), new RegExp(`^${process.pid}-[0-9a-f]{8}-[0-9a-f]{12}$`));
    assert.equal(isWriteAbandoned(newWriteTag(dead)), true);
    assert.equal(isWriteAbandoned(newWriteTag(live)), false);
    const ours = newWriteTag();
    assert.equal(isWriteAbandoned(ours), true, 'an earlier process with our pid (containers reuse them)');
    const release = holdWriteTag(ours);
    assert.equal(isWriteAbandoned(ours), false);
    release();
    const otherHost = newWriteTag(dead).replace(/-[0-9a-f]{8}-/, (m) => (m === '-00000000-' ? '-11111111-' : '-00000000-'));
    assert.equal(isWriteAbandoned(otherHost), false, 'a pid of another machine means nothing here');
    for (const tag of [`job${dead}x1`, `${dead}`, `${dead}-abc`]) assert.equal(isWriteAbandoned(tag), false, tag);
    assert.throws(() => newWriteTag(0), RangeError);
  });
});

describe('leftovers of killed writes', () => {
  it("the next run removes a dead writer's temporaries and probe, and leaves a live writer's and anything not exactly ours", async () => {
    const dir = await folderWithEarlierOutputs();
    const dead = newWriteTag(deadPid());
    const live = newWriteTag(livePid());
    const beforeRun = folderState(dir);
    const deadFiles = [temporaryName('a.glb', dead), temporaryName('a (2).step', dead), temporaryName('probe', dead)];
    const kept = [
      temporaryName('a.glb', live),
      temporaryName('probe', live),
      temporaryName('a.glb', 'job1x1'),
      `${temporaryName('a.glb', dead)}.bak`,
      temporaryName('a.glb', dead).slice(1),
      `.${dead}.i3d-tmp`,
    ];
    for (const name of [...deadFiles, ...kept]) await fsp.writeFile(path.join(dir, name), 'x'.repeat(1000));
    // A folder named like a temporary was not made by us.
    await fsp.mkdir(path.join(dir, temporaryName('folder', dead)));
    kept.push(temporaryName('folder', dead));
    const withLeftovers = folderState(dir);
    await nextRunChecks(dir);
    assertFolder(beforeRun, folderState(dir), kept);
    assertUnchanged(new Map([...withLeftovers].filter(([rel]) => !deadFiles.includes(rel))), folderState(dir));
    // The writing stage sweeps again, for a run killed while this one worked.
    await fsp.writeFile(path.join(dir, deadFiles[0]!), 'again');
    const frames = { cad: unitCube(10), gltf: unitCube(10) };
    await writeMeshOutputs({ sourcePath: path.join(dir, 'b.png'), formats: ['stl'], frames, dxfEntity: '3dface', existing: 'fail' });
    assertFolder(beforeRun, folderState(dir), [...kept, 'b.stl']);
  });

  const crashPoints: { step: WriteStep['step']; file?: string; committed: boolean }[] = [
    { step: 'temporaries-written', committed: false },
    { step: 'moved-aside', file: 'a.glb', committed: false },
    { step: 'moved-aside', file: 'a.step', committed: false },
    { step: 'placed', file: 'a.glb', committed: false },
    { step: 'placed', file: 'a.step', committed: false },
    { step: 'committed', committed: true },
  ];
  for (const point of crashPoints) {
    const where = point.file ? `${point.step} ${point.file}` : point.step;
    it(`'overwrite' killed at "${where}" is ${point.committed ? 'finished' : 'undone'} by the next run`, async () => {
      const dir = await folderWithEarlierOutputs();
      const original = folderState(dir);
      const files = newSet(dir);
      crashWriting(files, 'overwrite', { step: point.step, file: point.file && path.join(dir, point.file) });
      assert.ok(hiddenIn(added(original, folderState(dir))).length > 0, 'the killed writer left hidden files behind');
      await nextRunChecks(dir);
      const now = folderState(dir);
      if (point.committed) {
        assertUnchanged(new Map([...original].filter(([rel]) => rel === 'notes.txt')), now);
        assert.deepEqual(added(original, now), ['a.dxf']);
        for (const f of files) assert.equal(await fsp.readFile(f.path, 'utf8'), f.data, f.path);
      } else {
        assertFolder(original, now, []);
      }
    });
  }

  for (const existing of ['fail', 'suffix'] as const) {
    it(`'${existing}' killed after its first new name, or after its commit, is undone or finished by the next run`, async () => {
      for (const committed of [false, true]) {
        const dir = await folderWithEarlierOutputs();
        await fsp.rm(path.join(dir, 'a.step'));
        if (existing === 'fail') await fsp.rm(path.join(dir, 'a.glb'));
        const original = folderState(dir);
        const stem = existing === 'suffix' ? 'a (2)' : 'a';
        crashWriting(newSet(dir), existing, committed ? { step: 'committed' } : { step: 'placed', file: path.join(dir, `${stem}.glb`) });
        await nextRunChecks(dir);
        assertFolder(original, folderState(dir), committed ? ['glb', 'dxf', 'step'].map((ext) => `${stem}.${ext}`) : []);
      }
    });
  }

  it('a name written by someone else after the writer died: the earlier file is kept beside it, nothing hidden is left', async () => {
    const dir = await folderWithEarlierOutputs();
    const original = folderState(dir);
    crashWriting(newSet(dir), 'overwrite', { step: 'moved-aside', file: path.join(dir, 'a.step') });
    await fsp.writeFile(path.join(dir, 'a.glb'), 'NEWER');
    await nextRunChecks(dir);
    const now = folderState(dir);
    assert.equal(now.get('a (earlier).glb'), original.get('a.glb'));
    assert.equal(await fsp.readFile(path.join(dir, 'a.glb'), 'utf8'), 'NEWER');
    assertUnchanged(new Map([...original].filter(([rel]) => rel !== 'a.glb')), now);
    assert.deepEqual(added(original, now), ['a (earlier).glb']);
  });

  it('a recovery that was itself cut short is taken up again and still puts every earlier file back', async () => {
    const dir = await folderWithEarlierOutputs();
    const original = folderState(dir);
    crashWriting(newSet(dir), 'overwrite', { step: 'placed', file: path.join(dir, 'a.step') });
    // The undo runs newest first; one killed after two steps has taken away the new a.step and a.dxf.
    await fsp.rm(path.join(dir, 'a.step'));
    await fsp.rm(path.join(dir, 'a.dxf'));
    assert.ok((await fsp.readdir(dir)).some((n) => n.endsWith('.i3d-journal')));
    await nextRunChecks(dir);
    assertFolder(original, folderState(dir), []);
  });

  it("a committed write's backup whose final name is empty is renamed back, never deleted", async () => {
    const dir = await folderWithEarlierOutputs();
    const original = folderState(dir);
    crashWriting(newSet(dir), 'overwrite', { step: 'committed' });
    await fsp.rm(path.join(dir, 'a.glb'));
    await nextRunChecks(dir);
    const now = folderState(dir);
    assert.equal(now.get('a.glb'), original.get('a.glb'), 'the earlier a.glb is back');
    assert.deepEqual(added(original, now), ['a.dxf']);
  });

  it('copies cut short where the file system has no hard links are taken away, and the earlier file put back', async () => {
    const dir = await freshDir();
    await fsp.writeFile(path.join(dir, 'a.glb'), 'EARLIER GLB');
    const original = folderState(dir);
    const tag = newWriteTag(deadPid());
    const backup = backupName('a.glb', tag);
    // What a writer killed while copying leaves: journal, backup, complete temporaries, copies cut short
    // (a.glb over a moved-aside file, a.dxf new), and a journal line cut short.
    await fsp.rename(path.join(dir, 'a.glb'), path.join(dir, backup));
    const lines: object[] = [{ op: 'aside', name: 'a.glb', backup }];
    for (const name of ['a.glb', 'a.dxf']) {
      const temp = temporaryName(name, tag);
      await fsp.writeFile(path.join(dir, temp), `NEW CONTENT OF ${name}`);
      await fsp.writeFile(path.join(dir, name), `NEW CONTENT`);
      lines.push({ op: 'link', name, temp }, { op: 'copy', name, temp });
    }
    // a.step: the copy found the name taken by another program (EEXIST); that file is not ours to remove.
    const stepTemp = temporaryName('a.step', tag);
    await fsp.writeFile(path.join(dir, stepTemp), 'NEW CONTENT OF a.step');
    await fsp.writeFile(path.join(dir, 'a.step'), 'FOREIGN');
    lines.push({ op: 'link', name: 'a.step', temp: stepTemp }, { op: 'copy', name: 'a.step', temp: stepTemp });
    await fsp.writeFile(path.join(dir, journalName(tag)), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"op":"li`);
    await sweepAbandonedWrites(dir);
    assertFolder(original, folderState(dir), ['a.step']);
    assert.equal(await fsp.readFile(path.join(dir, 'a.step'), 'utf8'), 'FOREIGN');
  });

  it('a backup the journal does not account for is kept, with the journal, rather than guessed about', async () => {
    const dir = await freshDir();
    const tag = newWriteTag(deadPid());
    await fsp.writeFile(path.join(dir, 'a.glb'), 'SOMETHING');
    await fsp.writeFile(path.join(dir, backupName('a.glb', tag)), 'EARLIER GLB');
    await fsp.writeFile(path.join(dir, journalName(tag)), '');
    const withLeftovers = folderState(dir);
    await sweepAbandonedWrites(dir);
    assertFolder(withLeftovers, folderState(dir), []);
  });

  it("sweepTemporaryFiles undoes a given tag's uncommitted write at once (a host whose worker it killed)", async () => {
    const dir = await folderWithEarlierOutputs();
    const original = folderState(dir);
    const tag = newWriteTag(livePid());
    // The host's tag carries the host's pid, alive: only the host itself may clear it, by name.
    const script = `
      const { writeFilesSafely } = require(${JSON.stringify(bundle)});
      const [files, tag] = JSON.parse(process.argv[1]);
      writeFilesSafely(files, { existing: 'overwrite', tag, onStep: (s) => { if (s.step === 'placed') process.kill(process.pid, 'SIGKILL'); } });`;
    const child = spawnSync(process.execPath, ['-e', script, JSON.stringify([newSet(dir), tag])]);
    assert.equal(child.signal, 'SIGKILL');
    await nextRunChecks(dir);
    assert.ok(hiddenIn(added(original, folderState(dir))).length > 0, 'a live owner’s files are not swept by others');
    assert.equal(await sweepTemporaryFiles(dir, tag), 3);
    assertFolder(original, folderState(dir), []);
  });
});
