/**
 * Getting TripoSR ready from a checkpoint: the conversion cache keyed on everything that shapes the
 * graphs, the check of a cached conversion before use (and its rebuild when damaged), what a refused
 * checkpoint leaves behind, and the managed download held to its pins.
 *
 *   node --import tsx --test test/pipeline/modelSource.test.ts
 *
 * Needs Debian's /usr/bin/python3 with python3-torch (test/reference/make_checkpoint.py).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { prepareModel, type PrepareOptions } from '../../src/pipeline/network/modelSource.js';
import { decodeModel } from '../../src/pipeline/network/onnx/proto.js';
import { checkFiles, recordFiles } from '../../src/pipeline/network/triposr/convertedFiles.js';
import { TestFileServer } from '../fixtures/httpServer.js';
import { rejectsWith } from '../fixtures/userErrors.js';

const run = promisify(execFile);
const MAKE_CHECKPOINT = join(__dirname, '..', 'reference', 'make_checkpoint.py');

let work: string;
/** A tiny random-weight checkpoint in TripoSR's layout: model.ckpt + config.yaml. */
let tiny: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'i3d-model-source-'));
  tiny = join(work, 'tiny');
  await run('/usr/bin/python3', [MAKE_CHECKPOINT, '--config', 'tiny', '--out', tiny, '--seed', '7', '--no-calibrate']);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

let counter = 0;
/** A fresh folder holding a copy of the tiny checkpoint, as a user's own. */
async function userCheckpoint(): Promise<{ dir: string; checkpointPath: string; configPath: string }> {
  const dir = join(work, `user-${++counter}`);
  await mkdir(dir);
  await copyFile(join(tiny, 'model.ckpt'), join(dir, 'model.ckpt'));
  await copyFile(join(tiny, 'config.yaml'), join(dir, 'config.yaml'));
  return { dir, checkpointPath: join(dir, 'model.ckpt'), configPath: join(dir, 'config.yaml') };
}

function recorder(): { options: PrepareOptions; lines: string[]; messages: string[] } {
  const lines: string[] = [];
  const messages: string[] = [];
  return {
    lines,
    messages,
    options: { precision: 'fp32', executionProviders: ['cpu'], log: (l) => lines.push(l), onProgress: (p) => messages.push(p.message) },
  };
}

async function prepareLocal(user: { checkpointPath: string; configPath: string }, options = recorder().options): Promise<string> {
  return prepareModel({ kind: 'checkpoint', ...user, cacheDir: join(work, 'unused-cache') }, options);
}

/** The box half-size the decoder normalises points by: the constant TripoSR's radius becomes. */
async function decoderRadius(dir: string): Promise<number> {
  const model = decodeModel(await readFile(join(dir, 'decoder.onnx')));
  const boxMin = model.graph!.initializer.find((t) => t.name?.startsWith('box_min'))!;
  const raw = boxMin.rawData!;
  return -new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getFloat32(0, true);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe('the conversion cache key', { timeout: 180_000 }, () => {
  it('converts again when config.yaml changes what the graphs compute, and not for a comment', async () => {
    const user = await userCheckpoint();
    const first = await prepareLocal(user);
    assert.ok(Math.abs((await decoderRadius(first)) - 0.87) < 1e-6);

    const config = await readFile(user.configPath, 'utf8');
    await writeFile(user.configPath, config.replace('radius: 0.87', 'radius: 0.6'));
    const edited = recorder();
    const second = await prepareLocal(user, edited.options);
    assert.notEqual(second, first, 'another cache folder');
    assert.ok(edited.lines.some((l) => l.startsWith(`Converting ${user.checkpointPath} to ONNX`)), edited.lines.join('\n'));
    assert.ok(Math.abs((await decoderRadius(second)) - 0.6) < 1e-6, 'the new decoder really uses the new radius');
    assert.equal(await exists(first), false, 'the conversion it replaces is removed');
    assert.ok(edited.lines.some((l) => l === `Removed ${first}: a conversion of the same checkpoint from another config.yaml or builder version.`));

    // A comment or a re-indentation shapes nothing: the cached graphs are used as they are.
    await writeFile(user.configPath, `# my notes\n${config.replace('radius: 0.87', 'radius:    0.6   # smaller box')}`);
    const commented = recorder();
    assert.equal(await prepareLocal(user, commented.options), second);
    assert.deepEqual(commented.lines, []);
  });

  it('keys on the precision too, keeping both conversions', async () => {
    const user = await userCheckpoint();
    const fp32 = await prepareLocal(user);
    const fp16 = await prepareLocal(user, { ...recorder().options, precision: 'fp16' });
    assert.notEqual(fp16, fp32);
    assert.ok((await exists(fp32)) && (await exists(fp16)));
    assert.match(fp16, /-b\d+-fp16$/);
  });

  it('refuses a config that no longer fits the weights, naming both files, where it used to run the old conversion', async () => {
    const user = await userCheckpoint();
    const converted = await prepareLocal(user);
    const config = await readFile(user.configPath, 'utf8');
    await writeFile(user.configPath, config.replace('num_layers: 3', 'num_layers: 4'));
    const err = await rejectsWith(prepareLocal(user), 'model-invalid');
    assert.match(err.message, /config\.yaml does not match the weights: backbone\.num_layers is 4 in config\.yaml, the weights have 3/);
    assert.ok(err.message.endsWith(`(checkpoint ${user.checkpointPath}, config ${user.configPath})`), err.message);
    assert.ok(await exists(converted), 'the conversion of the config that fits is kept');
  });

  it('refuses a config the builder cannot read before looking at any cache', async () => {
    const user = await userCheckpoint();
    await prepareLocal(user);
    await writeFile(user.configPath, (await readFile(user.configPath, 'utf8')).replace('density_activation: exp', 'density_activation: trunc_exp'));
    const err = await rejectsWith(prepareLocal(user), 'model-invalid');
    assert.match(err.message, /trunc_exp/);
  });
});

describe('a damaged conversion', { timeout: 180_000 }, () => {
  async function damagedThenRebuilt(damage: (dir: string) => Promise<void>, reason: RegExp): Promise<void> {
    const user = await userCheckpoint();
    const dir = await prepareLocal(user);
    const model = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { files: { name: string; size: number; sha256: string }[] };
    await damage(dir);
    const again = recorder();
    assert.equal(await prepareLocal(user, again.options), dir, 'rebuilt in the same place');
    const said = again.lines.find((l) => l.startsWith('The converted model in'));
    assert.ok(said, again.lines.join('\n'));
    assert.match(said, new RegExp(`^The converted model in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was damaged \\(${reason.source}\\); converting again\\.$`));
    assert.ok(again.messages.includes(said), 'the progress line says it too');
    for (const file of model.files) {
      const bytes = await readFile(join(dir, file.name));
      assert.equal(bytes.length, file.size, file.name);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, file.name);
    }
    const third = recorder();
    assert.equal(await prepareLocal(user, third.options), dir);
    assert.deepEqual(third.lines, [], 'the rebuilt folder is used as it is');
  }

  it('is rebuilt when encoder.onnx.data was truncated', async () => {
    await damagedThenRebuilt(async (dir) => {
      const { size } = await stat(join(dir, 'encoder.onnx.data'));
      await truncate(join(dir, 'encoder.onnx.data'), Math.floor(size * 0.75));
    }, /encoder\.onnx\.data is [\d.]+ MB, expected [\d.]+ MB/);
  });

  it('is rebuilt when decoder.onnx was deleted', async () => {
    await damagedThenRebuilt((dir) => rm(join(dir, 'decoder.onnx')), /decoder\.onnx is missing/);
  });

  it('is rebuilt when a byte of encoder.onnx.data flipped', async () => {
    await damagedThenRebuilt(async (dir) => {
      const file = join(dir, 'encoder.onnx.data');
      const bytes = await readFile(file);
      bytes[bytes.length >> 1] ^= 0x40;
      await writeFile(file, bytes);
    }, /encoder\.onnx\.data's SHA-256 differs from the one recorded when it was converted/);
  });

  it('is rebuilt when model.json is gone', async () => {
    await damagedThenRebuilt((dir) => rm(join(dir, 'model.json')), /model\.json is missing/);
  });
});

describe('the check of converted files', () => {
  it('sizes every file each time, hashes small ones each time and large ones when their size or mtime changed', async () => {
    const dir = await mkdtemp(join(work, 'files-'));
    await writeFile(join(dir, 'large.bin'), Buffer.alloc(200_000, 7));
    await writeFile(join(dir, 'small.onnx'), Buffer.from('graph'));
    // Whole seconds, so a test can put a modification time back exactly.
    const mtime = 1_700_000_000;
    for (const name of ['large.bin', 'small.onnx']) await utimes(join(dir, name), mtime, mtime);
    const files = await recordFiles(dir, ['large.bin', 'small.onnx']);
    const options = { hashEveryTimeBelow: 1000 };
    assert.deepEqual(await checkFiles(dir, files, options), { ok: true });

    const flip = async (name: string, keepMtime: boolean): Promise<void> => {
      const file = join(dir, name);
      const bytes = await readFile(file);
      bytes[1] ^= 1;
      await writeFile(file, bytes);
      if (keepMtime) await utimes(file, mtime, mtime);
    };
    // A large file whose size and mtime are as last verified is not read again: by design, see convertedFiles.ts.
    await flip('large.bin', true);
    assert.deepEqual(await checkFiles(dir, files, options), { ok: true });
    // Once its mtime moves, it is read again and the flipped byte found.
    await utimes(join(dir, 'large.bin'), mtime + 1, mtime + 1);
    assert.deepEqual(await checkFiles(dir, files, options), { ok: false, reason: "large.bin's SHA-256 differs from the one recorded when it was converted" });
    await flip('large.bin', false);
    assert.deepEqual(await checkFiles(dir, files, options), { ok: true }, 'flipped back: the same bytes again');

    await flip('small.onnx', true);
    assert.deepEqual(await checkFiles(dir, files, options), { ok: false, reason: "small.onnx's SHA-256 differs from the one recorded when it was converted" });
    await flip('small.onnx', false);

    await truncate(join(dir, 'large.bin'), 199_999);
    assert.deepEqual(await checkFiles(dir, files, options), { ok: false, reason: 'large.bin is 199,999 bytes, expected 200,000 bytes' });
    await truncate(join(dir, 'large.bin'), 100_000);
    assert.deepEqual(await checkFiles(dir, files, options), { ok: false, reason: 'large.bin is 100 kB, expected 200 kB' });
    await rm(join(dir, 'small.onnx'));
    assert.deepEqual(await checkFiles(dir, files, options), { ok: false, reason: 'large.bin is 100 kB, expected 200 kB' }, 'the first problem found');
    await writeFile(join(dir, 'large.bin'), Buffer.alloc(200_000, 7));
    assert.deepEqual(await checkFiles(dir, files, options), { ok: false, reason: 'small.onnx is missing' });
  });
});

describe('a refused checkpoint', { timeout: 120_000 }, () => {
  it('leaves no .image-to-3d folder or hash memo beside it', async () => {
    const dir = join(work, 'evil');
    await run('/usr/bin/python3', [MAKE_CHECKPOINT, '--config', 'tiny', '--out', dir, '--foreign-global', 'system']);
    const err = await rejectsWith(prepareLocal({ checkpointPath: join(dir, 'model.ckpt'), configPath: join(dir, 'config.yaml') }), 'model-invalid');
    assert.match(err.message, /posix\.system/);
    assert.deepEqual((await readdir(dir)).sort(), ['config.yaml', 'model.ckpt']);
  });

  it('leaves nothing behind when its config does not fit it on first sight', async () => {
    const user = await userCheckpoint();
    await writeFile(user.configPath, (await readFile(user.configPath, 'utf8')).replace('n_neurons: 64', 'n_neurons: 32'));
    await rejectsWith(prepareLocal(user), 'model-invalid');
    assert.deepEqual((await readdir(user.dir)).sort(), ['config.yaml', 'model.ckpt']);
  });

  it('is remembered (its hash) only once accepted', async () => {
    const user = await userCheckpoint();
    await prepareLocal(user);
    const memo = join(user.dir, '.image-to-3d', 'model.ckpt.sha256.json');
    const saved = JSON.parse(await readFile(memo, 'utf8')) as { sha256: string };
    assert.equal(saved.sha256, createHash('sha256').update(await readFile(user.checkpointPath)).digest('hex'));
  });
});

describe('the downloaded model', { timeout: 180_000 }, () => {
  let server: TestFileServer;
  let checkpoint: Buffer;
  let config: Buffer;
  let manifestFile: string;

  before(async () => {
    server = await TestFileServer.start();
    checkpoint = await readFile(join(tiny, 'model.ckpt'));
    config = await readFile(join(tiny, 'config.yaml'));
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    manifestFile = join(work, 'manifest.json');
    // The tiny checkpoint stands for the published files: a manifest of the user's own pins them.
    await writeFile(
      manifestFile,
      JSON.stringify({
        models: [
          {
            id: 'triposr',
            kind: 'triposr',
            description: 'test weights',
            files: [
              { name: 'config.yaml', url: server.url('/hub/config.yaml'), size: config.length, sha256: sha(config) },
              { name: 'model.ckpt', url: server.url('/hub/model.ckpt'), size: checkpoint.length, sha256: sha(checkpoint) },
            ],
          },
        ],
      }),
    );
    server.serve('/hub/config.yaml', config);
    server.serve('/hub/model.ckpt', checkpoint);
  });
  after(() => server.close());

  it('replaces a copy recorded earlier that is not the pinned file, rather than trusting the record', async () => {
    const storeDir = await mkdtemp(join(work, 'store-'));
    const folder = join(storeDir, 'triposr');
    await mkdir(folder);
    // What an earlier version left after a mirror served other weights: files and a record that agree.
    const other = Buffer.from(checkpoint);
    other[other.length - 100] ^= 1;
    await writeFile(join(folder, 'model.ckpt'), other);
    await writeFile(join(folder, 'config.yaml'), config);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    const recordedAt = new Date().toISOString();
    await writeFile(
      join(folder, 'files.json'),
      JSON.stringify({
        version: 1,
        model: 'triposr',
        expected: ['config.yaml', 'model.ckpt'],
        files: [
          { name: 'config.yaml', size: config.length, sha256: sha(config), url: 'http://mirror/config.yaml', recordedAt },
          { name: 'model.ckpt', size: other.length, sha256: sha(other), url: 'http://mirror/model.ckpt', recordedAt },
        ],
      }),
    );
    const spec = { kind: 'managed' as const, storeDir, allowDownload: false, manifestFile };
    const refused = await rejectsWith(prepareModel(spec, recorder().options), 'model-missing');
    assert.match(refused.message, /The TripoSR files in .* are not the published ones \(model\.ckpt\); they must be downloaded again/);

    const events = recorder();
    const dir = await prepareModel({ ...spec, allowDownload: true }, events.options);
    assert.ok(events.lines.some((l) => /are not the published ones \(model\.ckpt\); downloading them again/.test(l)), events.lines.join('\n'));
    assert.deepEqual(await readFile(join(folder, 'model.ckpt')), checkpoint);
    assert.ok(await exists(join(dir, 'decoder.onnx')));
  });

  it('names the problem with a manifest file of the user', async () => {
    const bad = join(work, 'bad-manifest.json');
    await writeFile(bad, '{"models": [{"id": "triposr"}]}');
    const err = await rejectsWith(
      prepareModel({ kind: 'managed', storeDir: await mkdtemp(join(work, 'store-')), allowDownload: true, manifestFile: bad }, recorder().options),
      'model-invalid',
    );
    assert.ok(err.message.startsWith(`The model manifest ${bad} cannot be used: `), err.message);
  });
});
