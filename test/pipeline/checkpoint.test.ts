import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';
import { UserError } from '../../src/pipeline/errors.js';
import { plainHint } from '../fixtures/userErrors.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { openCheckpoint, sha256File, type TorchCheckpoint } from '../../src/pipeline/network/checkpoint/torchCheckpoint.js';
import { PickleDict, PickleList, unpickle } from '../../src/pipeline/network/checkpoint/unpickler.js';
import { crc32, ZipReader } from '../../src/pipeline/network/checkpoint/zip.js';

/** Debian's interpreter, where python3-torch is installed (the pyenv python3 on PATH has no torch). */
const PYTHON = '/usr/bin/python3';
const FIXTURES = join(__dirname, '..', 'checkpoint-fixtures', 'make_checkpoints.py');

function torchMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return probe.status === 0 ? false : `needs ${PYTHON} with torch: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`;
}
const NO_TORCH = torchMissing();

function python(...args: string[]): void {
  const run = spawnSync(PYTHON, [FIXTURES, ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`fixture script failed: ${run.stderr || run.error}`);
}

interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  stride: number[];
  offset: number;
  parameter: boolean;
  expected: string;
}

interface Manifest {
  torch: string;
  files: Record<string, ExpectedTensor[]>;
  layout: { size: number; storageCut: number; directoryCut: number; pickleByte: number; entries: string[] };
  marker: string;
  payloadRuns: boolean;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp, code = 'model-invalid'): Promise<UserError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(plainHint(e.hint).trim().length > 0);
    return e;
  }
  assert.fail(`expected a rejection matching ${pattern}`);
}

function refusedSync(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && e.code === 'model-invalid' && pattern.test(e.message));
}

/** Element-wise identity, so -0, NaN and every rounding are checked exactly. */
function assertSameValues(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}[${i}] = ${actual[i]}, torch has ${expected[i]}`);
  }
}

async function expectedValues(dir: string, path: string): Promise<Float32Array> {
  const bytes = await readFile(join(dir, path));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function checkAgainstTorch(dir: string, checkpoint: TorchCheckpoint, expected: readonly ExpectedTensor[]): Promise<void> {
  assert.deepEqual(
    checkpoint.tensors().map((t) => t.name),
    expected.map((t) => t.name),
  );
  for (const want of expected) {
    const info = checkpoint.get(want.name);
    assert.ok(info, want.name);
    assert.equal(info.dtype, want.dtype === 'bool' ? 'bool' : want.dtype, want.name);
    assert.deepEqual(info.shape, want.shape, want.name);
    assert.deepEqual(info.stride, want.stride, want.name);
    assert.equal(info.storageOffset, want.offset, want.name);
    assert.equal(info.parameter, want.parameter, want.name);
    const numel = want.shape.reduce((a, b) => a * b, 1);
    assert.equal(checkpoint.byteLength(want.name), numel * { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 }[info.dtype]);
    assertSameValues(await checkpoint.readFloat32(want.name), await expectedValues(dir, want.expected), want.name);
  }
}

describe('PyTorch checkpoints written by torch.save', { skip: NO_TORCH }, () => {
  let dir = '';
  let manifest: Manifest;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ckpt-test-'));
    python('small', dir);
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const file of ['basic.ckpt', 'basic_p4.ckpt', 'basic_p5.ckpt']) {
    it(`reads every tensor of ${file} exactly as torch holds it`, async () => {
      const checkpoint = await openCheckpoint(join(dir, file));
      try {
        assert.equal(checkpoint.archiveName, file.replace('.ckpt', ''));
        assert.equal(checkpoint.pickleProtocol, file === 'basic.ckpt' ? 2 : Number(file.slice(-6, -5)));
        assert.equal(checkpoint.selected, '');
        assert.equal(checkpoint.fileSize, (await stat(join(dir, file))).size);
        // The module's state dict carries _metadata as an attribute, not as an entry.
        assert.deepEqual(checkpoint.skipped, []);
        await checkAgainstTorch(dir, checkpoint, manifest.files[file]!);
      } finally {
        await checkpoint.close();
      }
    });
  }

  it('covers views sharing a storage: transposed, offset slices, strided columns, stride 0, permuted, float16 views', async () => {
    const checkpoint = await openCheckpoint(join(dir, 'basic.ckpt'));
    try {
      const key = (n: string): string => checkpoint.get(n)!.storageKey;
      for (const view of ['transposed', 'slice', 'column', 'expanded']) assert.equal(key(view), key('base'), view);
      assert.equal(key('half_view'), key('half'));
      assert.deepEqual(checkpoint.get('transposed')!.stride, [1, 5]);
      assert.equal(checkpoint.get('slice')!.storageOffset, 10);
      assert.deepEqual(checkpoint.get('expanded')!.stride, [0, 1]);
      assert.equal(checkpoint.get('param')!.parameter, true);
      assert.deepEqual(checkpoint.get('scalar')!.shape, []);
      assert.deepEqual(await checkpoint.readFloat32('scalar'), Float32Array.of(3.25));
      assert.equal((await checkpoint.readFloat32('empty')).length, 0);
      assert.deepEqual(await checkpoint.readFloat32('i64'), Float32Array.of(0, -5, 2 ** 40, 7, -(2 ** 50)));
    } finally {
      await checkpoint.close();
    }
  });

  it('reads a re-packed, deflated archive whose top folder is "archive"', async () => {
    const checkpoint = await openCheckpoint(join(dir, 'deflated.ckpt'));
    try {
      assert.equal(checkpoint.archiveName, 'archive');
      await checkAgainstTorch(dir, checkpoint, manifest.files['deflated.ckpt']!);
    } finally {
      await checkpoint.close();
    }
  });

  it('reads a plain dict of nn.Parameter values', async () => {
    const checkpoint = await openCheckpoint(join(dir, 'params.ckpt'));
    try {
      await checkAgainstTorch(dir, checkpoint, manifest.files['params.ckpt']!);
      assert.ok(checkpoint.tensors().every((t) => t.parameter));
    } finally {
      await checkpoint.close();
    }
  });

  it('reports the state dicts a wrapper holds and lets the caller choose', async () => {
    const path = join(dir, 'wrapped.ckpt');
    const checkpoint = await openCheckpoint(path);
    try {
      assert.deepEqual(
        checkpoint.stateDicts.map((s) => [s.key, s.tensorCount, s.byteLength]),
        [
          ['state_dict', 2, 32],
          ['ema', 1, 24],
        ],
      );
      assert.equal(checkpoint.selected, 'state_dict');
      await checkAgainstTorch(dir, checkpoint, manifest.files['wrapped.ckpt']!);
    } finally {
      await checkpoint.close();
    }
    const ema = await openCheckpoint(path, { stateDict: 'ema' });
    try {
      assert.equal(ema.selected, 'ema');
      await checkAgainstTorch(dir, ema, manifest.files['wrapped.ckpt#ema']!);
    } finally {
      await ema.close();
    }
    await rejectsWith(openCheckpoint(path, { stateDict: 'model' }), /no state dict at "model"; it holds "state_dict", "ema"/);
  });

  const hostile: [string, string][] = [
    ['evil_os.ckpt', 'os.system'],
    ['evil_eval.ckpt', 'builtins.eval'],
    ['evil_torchload.ckpt', 'torch.serialization.load'],
  ];
  for (const [file, global] of hostile) {
    it(`refuses ${file}, naming ${global}, and runs nothing`, async () => {
      assert.equal(manifest.payloadRuns, true, 'the payload must really run when Python unpickles it, or this test proves nothing');
      const error = await rejectsWith(openCheckpoint(join(dir, file)), /refusing to load it \(a checkpoint must contain only tensors\)/);
      assert.ok(
        error.message.startsWith(`${file}'s pickle names a global that a state dict never needs: ${global} — `),
        error.message,
      );
      assert.equal(existsSync(manifest.marker), false, 'the payload ran');
    });
  }

  it('says which dtype it cannot read instead of calling it hostile', async () => {
    await rejectsWith(openCheckpoint(join(dir, 'int8.ckpt')), /int8\.ckpt holds tensors stored as torch\.CharStorage \(int8\)/);
  });

  it('explains that the legacy (pre-zip) format is not supported', async () => {
    await rejectsWith(openCheckpoint(join(dir, 'legacy.ckpt')), /legacy\.ckpt is in PyTorch's legacy checkpoint format .*only the zip format is supported/);
  });

  it('refuses a zip without data.pkl, random bytes, an empty file, a missing file and a pickle without tensors', async () => {
    await rejectsWith(openCheckpoint(join(dir, 'nopickle.ckpt')), /nopickle\.ckpt is not a PyTorch checkpoint: the archive has no data\.pkl/);
    await rejectsWith(openCheckpoint(join(dir, 'random.ckpt')), /random\.ckpt is not a PyTorch checkpoint/);
    await rejectsWith(openCheckpoint(join(dir, 'empty.ckpt')), /empty\.ckpt is empty/);
    await rejectsWith(openCheckpoint(join(dir, 'absent.ckpt')), /not found/, 'model-missing');
    await rejectsWith(openCheckpoint(dir), /is a folder|not a file/);
    await rejectsWith(openCheckpoint(join(dir, 'list.ckpt')), /list\.ckpt holds no tensors by name: its data is a list/);
  });

  const cuts: [string, (m: Manifest) => number, RegExp][] = [
    ['at 10 bytes', () => 10, /model\.ckpt is truncated: the zip directory is missing \(expected at the end of the file\)/],
    ['inside a storage', (m) => m.layout.storageCut, /model\.ckpt is truncated: the zip directory is missing/],
    ['inside the central directory', (m) => m.layout.directoryCut, /model\.ckpt is truncated: the zip directory is missing/],
    ['inside the end record', (m) => m.layout.size - 3, /model\.ckpt is truncated/],
    ['at 3 bytes', () => 3, /model\.ckpt is truncated/],
  ];
  for (const [where, cut, pattern] of cuts) {
    it(`reports a checkpoint cut ${where} as truncated`, async () => {
      const sub = await mkdtemp(join(dir, 'cut-'));
      const path = join(sub, 'model.ckpt');
      await copyFile(join(dir, 'basic.ckpt'), path);
      const at = cut(manifest);
      assert.ok(at > 0 && at < manifest.layout.size);
      await truncate(path, at);
      await rejectsWith(openCheckpoint(path), pattern);
    });
  }

  it('notices a damaged data.pkl by its checksum', async () => {
    const path = join(dir, 'flipped.ckpt');
    await copyFile(join(dir, 'basic.ckpt'), path);
    const handle = await open(path, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, manifest.layout.pickleByte);
    byte[0] = byte[0]! ^ 0x20;
    await handle.write(byte, 0, 1, manifest.layout.pickleByte);
    await handle.close();
    await rejectsWith(openCheckpoint(path), /flipped\.ckpt is not a valid zip archive: the checksum of basic\/data\.pkl does not match/);
  });

  const broken: [string, RegExp][] = [
    ['bad_overrun.ckpt', /tensor weight \[5\] with stride \(1\) and offset 0 reaches element 4 of storage 0, which has only 4/],
    ['bad_offset.ckpt', /tensor weight \[2, 2\] with stride \(1, 1\) and offset 2 reaches element 4 of storage 0/],
    ['bad_negstride.ckpt', /tensor weight has a negative or invalid stride \(-1\)/],
    ['bad_shortstorage.ckpt', /tensor weight uses storage 0 of 100 float32 values \(400 bytes\), but the archive holds only 16 bytes of it/],
    ['bad_nostorage.ckpt', /tensor weight uses storage 7, which is missing from the archive/],
    ['bad_rank.ckpt', /tensor weight has 2 dimensions but 1 strides/],
  ];
  for (const [file, pattern] of broken) {
    it(`refuses ${file} at open, naming the tensor`, async () => {
      await rejectsWith(openCheckpoint(join(dir, file)), pattern);
    });
  }

  it('reads a hand-made view into a storage (control for the broken ones)', async () => {
    const checkpoint = await openCheckpoint(join(dir, 'good_fake.ckpt'));
    try {
      assert.deepEqual(await checkpoint.readFloat32('weight'), Float32Array.of(2, 3, 4));
      await rejectsWith(checkpoint.readFloat32('nope'), /has no tensor named nope/);
    } finally {
      await checkpoint.close();
    }
  });

  it('reads big-endian storages when the archive says so', async () => {
    const checkpoint = await openCheckpoint(join(dir, 'big_endian.ckpt'));
    try {
      assert.deepEqual(await checkpoint.readFloat32('f'), Float32Array.of(1, 3, 2, 4));
      assert.deepEqual(await checkpoint.readFloat32('h'), Float32Array.of(0.5, -2, 65504));
      assert.deepEqual(await checkpoint.readFloat32('q'), Float32Array.of(-3, 2 ** 40));
      assert.deepEqual(await checkpoint.readFloat32('d'), Float32Array.of(1.25));
    } finally {
      await checkpoint.close();
    }
  });

  it('hashes a file as sha256, with progress, and can be cancelled', async () => {
    const path = join(dir, 'basic.ckpt');
    const want = createHash('sha256').update(await readFile(path)).digest('hex');
    const seen: number[] = [];
    assert.equal(await sha256File(path, (done, total) => seen.push(done / total)), want);
    assert.equal(seen.at(-1), 1);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(sha256File(path, undefined, aborted.signal), CancelledError);
  });
});

/** RSS after a full collection, so garbage from earlier steps does not count as growth. */
function settledRss(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().rss;
}

describe('a 300 MB checkpoint', { skip: NO_TORCH }, () => {
  let dir = '';
  const MiB = 1024 * 1024;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ckpt-big-'));
    python('big', dir, '300');
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens without reading storages, and reading one tensor costs about its size', async (t) => {
    const path = join(dir, 'big.ckpt');
    const size = (await stat(path)).size;
    assert.ok(size > 300 * MiB, `fixture is ${size} bytes`);

    const rss0 = settledRss();
    let start = performance.now();
    const checkpoint = await openCheckpoint(path);
    const openMs = performance.now() - start;
    const rss1 = settledRss();
    try {
      t.diagnostic(`open: ${openMs.toFixed(1)} ms, rss +${((rss1 - rss0) / MiB).toFixed(1)} MiB for a ${(size / MiB).toFixed(0)} MiB file`);
      assert.ok(rss1 - rss0 < 24 * MiB, `opening grew rss by ${(rss1 - rss0) / MiB} MiB`);

      const tensorBytes = checkpoint.byteLength('big');
      assert.equal(tensorBytes, 64 * MiB);
      start = performance.now();
      const big = await checkpoint.readFloat32('big');
      const readMs = performance.now() - start;
      const rss2 = settledRss();
      t.diagnostic(`read 64 MiB float32: ${readMs.toFixed(1)} ms, rss +${((rss2 - rss1) / MiB).toFixed(1)} MiB`);
      assert.ok(rss2 - rss1 < 1.4 * tensorBytes, `reading grew rss by ${(rss2 - rss1) / MiB} MiB`);
      assert.ok(rss2 - rss1 > 0.6 * tensorBytes, `reading grew rss by only ${(rss2 - rss1) / MiB} MiB: is the result really there?`);
      for (let i = 0; i < big.length; i++) if (big[i] !== i * 0.25) assert.fail(`big[${i}] = ${big[i]}`);

      // A transposed float16 view big enough to be read in several chunks.
      start = performance.now();
      const halfT = await checkpoint.readFloat32('big_half_t');
      t.diagnostic(`read 20 MiB transposed float16 (10M values): ${(performance.now() - start).toFixed(1)} ms`);
      assert.deepEqual(checkpoint.get('big_half_t')!.shape, [2560, 4096]);
      for (let r = 0; r < 2560; r++) {
        for (let c = 0; c < 4096; c++) {
          const want = (c * 2560 + r) % 2048;
          if (halfT[r * 4096 + c] !== want) assert.fail(`big_half_t[${r}, ${c}] = ${halfT[r * 4096 + c]}, want ${want}`);
        }
      }
    } finally {
      await checkpoint.close();
    }
  });
});

describe('restricted unpickler', () => {
  const P2 = [0x80, 0x02];
  const STOP = 0x2e;
  const bytes = (...parts: (number | string)[]): Uint8Array =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));

  it('refuses instructions a state dict never needs, naming them', () => {
    refusedSync(() => unpickle(bytes(...P2, 'I12\n', STOP), 'm.ckpt'), /m\.ckpt's pickle uses the instruction INT \(at byte 2\)/);
    refusedSync(() => unpickle(bytes(...P2, 0x81, STOP), 'm.ckpt'), /instruction NEWOBJ/);
    refusedSync(() => unpickle(bytes(...P2, 'i', 'os\nsystem\n', STOP), 'm.ckpt'), /instruction INST/);
    refusedSync(() => unpickle(bytes(...P2, 0xff, STOP), 'm.ckpt'), /0xff is not a pickle instruction/);
  });

  it('refuses globals outside the allow-list, however they are named', () => {
    const stackGlobal = bytes(0x80, 0x04, 0x8c, 10, 'subprocess', 0x8c, 5, 'Popen', 0x93, STOP);
    refusedSync(() => unpickle(stackGlobal, 'm.ckpt'), /names a global that a state dict never needs: subprocess\.Popen — refusing/);
    refusedSync(() => unpickle(bytes(...P2, 'c', 'torch\n_load_global_deps\n', STOP), 'm.ckpt'), /torch\._load_global_deps/);
    refusedSync(() => unpickle(bytes(...P2, 'c', 'torch._utils\n_rebuild_tensor\n', STOP), 'm.ckpt'), /torch\._utils\._rebuild_tensor —/);
    // Control characters in a name cannot forge extra lines in the message.
    refusedSync(() => unpickle(bytes(...P2, 'c', 'x\r\nsystem\n', STOP), 'm.ckpt'), /x\\u000d\.system/);
  });

  it('refuses calling a storage type and building state on anything but a dict', () => {
    refusedSync(() => unpickle(bytes(...P2, 'c', 'torch\nFloatStorage\n', ')', 'R', STOP), 'm.ckpt'), /calls torch\.FloatStorage as a function/);
    refusedSync(() => unpickle(bytes(...P2, ']', '}', 'b', STOP), 'm.ckpt'), /sets the state of a list/);
    refusedSync(() => unpickle(bytes(...P2, '}', ')', ')', 's', STOP), 'm.ckpt'), /uses a 0-tuple as a dict key/);
  });

  it('reports damaged pickles', () => {
    refusedSync(() => unpickle(bytes(...P2, '}'), 'm.ckpt'), /damaged: it ends in the middle of an instruction/);
    refusedSync(() => unpickle(bytes(...P2, 'h', 3, STOP), 'm.ckpt'), /recalls memo entry 3, which was never stored/);
    refusedSync(() => unpickle(bytes(...P2, 's', STOP), 'm.ckpt'), /empty stack/);
    refusedSync(() => unpickle(bytes(...P2, 'X', 2, 0, 0, 0, 0xc3, 0x28, STOP), 'm.ckpt'), /not valid UTF-8/);
    refusedSync(() => unpickle(bytes(0x80, 9, STOP), 'm.ckpt'), /protocol 9/);
  });

  it('decodes numbers and strings, and survives self-referencing containers', () => {
    const long = unpickle(bytes(...P2, 0x8a, 2, 0xd4, 0xfe, STOP), 'm.ckpt').value;
    assert.equal(long, -300);
    const huge = unpickle(bytes(...P2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, STOP), 'm.ckpt').value;
    assert.equal(huge, 2n ** 64n);
    assert.equal(unpickle(bytes(...P2, 'G', 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, STOP), 'm.ckpt').value, Math.PI);
    assert.equal(unpickle(bytes(...P2, 'J', 0xff, 0xff, 0xff, 0xff, STOP), 'm.ckpt').value, -1);
    assert.equal(unpickle(bytes(...P2, 0x8c, 3, 0xc3, 0xa9, 'x', STOP), 'm.ckpt').value, 'éx');
    const loop = unpickle(bytes(...P2, ']', 'q', 0, 'h', 0, 'a', STOP), 'm.ckpt').value;
    assert.ok(loop instanceof PickleList && loop.items[0] === loop);
    const dict = unpickle(bytes(...P2, '}', '(', 0x8c, 1, 'a', 'K', 1, 0x8c, 1, 'b', 'N', 'u', STOP), 'm.ckpt').value;
    assert.ok(dict instanceof PickleDict);
    assert.deepEqual([...dict.entries], [['a', 1], ['b', null]]);
  });
});

interface ZipPart {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Declared uncompressed size, when lying about it. */
  claimSize?: number;
}

/** A zip writer for tests, written from APPNOTE; zip64 forces every size and offset through the zip64 extra field. */
function buildZip(parts: ZipPart[], options: { zip64?: boolean; comment?: string } = {}): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const stored = part.deflate ? deflateRawSync(part.data) : Buffer.from(part.data);
    const name = Buffer.from(part.name, 'utf8');
    const size = part.claimSize ?? part.data.length;
    const crc = zlibCrc32(part.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(part.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    chunks.push(local, name, stored);
    const extra = Buffer.alloc(options.zip64 ? 28 : 0);
    if (options.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(stored.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(45, 4);
    header.writeUInt16LE(45, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(part.deflate ? 8 : 0, 10);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : stored.length, 20);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    central.push(header, name, extra);
    offset += local.length + name.length + stored.length;
  }
  const directory = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (options.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(BigInt(parts.length), 24);
    record.writeBigUInt64LE(BigInt(parts.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const comment = Buffer.from(options.comment ?? '', 'latin1');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.zip64 ? 0xffff : parts.length, 8);
  end.writeUInt16LE(options.zip64 ? 0xffff : parts.length, 10);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...chunks, directory, ...tail, end, comment]);
}

describe('zip reader', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zip-test-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function withZip<T>(name: string, zip: Buffer, use: (reader: ZipReader) => Promise<T>): Promise<T> {
    const path = join(dir, name);
    await writeFile(path, zip);
    const handle = await open(path, 'r');
    try {
      return await use(await ZipReader.open(handle, zip.length, name));
    } finally {
      await handle.close();
    }
  }

  const payload = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 256);
  const text = new TextEncoder().encode('hello, zip\n'.repeat(50));

  for (const zip64 of [false, true]) {
    it(`reads stored and deflated entries by range (${zip64 ? 'zip64 sizes and offsets' : 'classic records'}, with a comment)`, async () => {
      const zip = buildZip(
        [
          { name: 'a/data/0', data: payload },
          { name: 'a/text', data: text, deflate: true },
        ],
        { zip64, comment: 'PK\u0005\u0006 in a comment' },
      );
      await withZip(`plain${zip64}.zip`, zip, async (reader) => {
        assert.deepEqual(
          reader.entries.map((e) => [e.name, e.size, e.method]),
          [
            ['a/data/0', 5000, 0],
            ['a/text', text.length, 8],
          ],
        );
        assert.deepEqual(await reader.read(reader.find('a/data/0')!, 1234, 100), payload.slice(1234, 1334));
        assert.deepEqual(await reader.read(reader.find('a/text')!, 11, 11), text.slice(11, 22));
        assert.deepEqual(await reader.readAll(reader.find('a/text')!, 1 << 20), text);
        await assert.rejects(reader.read(reader.find('a/data/0')!, 4990, 20), RangeError);
      });
    });
  }

  it('refuses a deflated entry that unpacks to more than it declares', async () => {
    const zip = buildZip([{ name: 'a/bomb', data: new Uint8Array(1 << 20), deflate: true, claimSize: 1000 }]);
    await withZip('bomb.zip', zip, async (reader) => {
      await assert.rejects(reader.readAll(reader.find('a/bomb')!, 1 << 20), /damaged or larger than declared/);
    });
  });

  it('refuses duplicate names and checks CRCs of whole reads', async () => {
    await assert.rejects(
      withZip('dup.zip', buildZip([{ name: 'a/x', data: text }, { name: 'a/x', data: payload }]), async () => undefined),
      /holds a\/x twice/,
    );
    const zip = buildZip([{ name: 'a/x', data: text }]);
    zip[30 + 3 + 5] ^= 1;
    await withZip('crc.zip', zip, async (reader) => {
      await assert.rejects(reader.readAll(reader.find('a/x')!, 1 << 20), /checksum of a\/x does not match/);
    });
  });

  it('computes the zip CRC-32 as zlib does', () => {
    for (const data of [new Uint8Array(0), text, payload]) assert.equal(crc32(data), zlibCrc32(data));
  });

  it('sha256File matches crypto on a file it writes, and cancels mid-stream', async () => {
    const path = join(dir, 'hash.bin');
    const data = Buffer.alloc(24 * 1024 * 1024, 7);
    await writeFile(path, data);
    assert.equal(await sha256File(path), createHash('sha256').update(data).digest('hex'));
    const controller = new AbortController();
    await assert.rejects(
      sha256File(path, () => controller.abort(), controller.signal),
      CancelledError,
    );
  });
});
