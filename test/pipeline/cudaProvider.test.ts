import { buildSync } from 'esbuild';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';
import { CancelledError } from '../../src/pipeline/progress.js';
import { ZipIntegrityError, ZipReader } from '../../src/pipeline/network/checkpoint/zip.js';
import { readNeededLibraries } from '../../src/pipeline/network/cudaProvider/elf.js';
import {
  CUDA_PROVIDER_FILES,
  cudaProviderStatus,
  defaultOrtBinDir,
  describeCudaInstallProgress,
  installCudaProvider,
  packagePartPath,
  packageUrl,
  ProviderFolderNotWritableError,
  RECORD_NAME,
  removeCudaProvider,
  type CudaInstallProgress,
  type CudaProviderRecord,
  type InstallOptions,
} from '../../src/pipeline/network/cudaProvider/install.js';
import { describeRequirements, findUnresolvedLibraries } from '../../src/pipeline/network/cudaProvider/requirements.js';
import { probe } from '../../src/pipeline/network/providers.js';
import { privateRuntimeFor } from '../../src/pipeline/network/runtimeLocation.js';
import { TestFileServer } from '../fixtures/httpServer.js';
import { rejectsWith } from '../fixtures/userErrors.js';

/**
 * The installer against a NuGet flat container on 127.0.0.1 serving packages built here: real zips with
 * deflated entries where the real package has them, and a copy of onnxruntime-node's native folder in a
 * temporary directory. The real node_modules folder is only ever read.
 */

const VERSION = '1.30.0';
const NATIVE = 'runtimes/linux-x64/native/';
const REAL_BIN = defaultOrtBinDir({ platform: 'linux', arch: 'x64' });
const IS_LINUX_X64 = process.platform === 'linux' && process.arch === 'x64';

/** Deterministic bytes: a stretch of uniform noise (deflate stores it) then low-entropy noise (deflate really compresses it). */
function content(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  const noisy = Math.min(size, 256 * 1024);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i < noisy ? x & 0xff : (x & 0x0f) + ((i >> 10) & 0x30);
  }
  return out;
}

const providerFiles: Record<string, Buffer> = {
  'libonnxruntime_providers_cuda.so': content(1, 3 * 1024 * 1024 + 123),
  'libonnxruntime_providers_shared.so': content(2, 1024 * 1024 + 7),
  'libonnxruntime_providers_tensorrt.so': content(3, 2 * 1024 * 1024 + 4321),
};

interface ZipPart {
  readonly name: string;
  readonly data: Buffer;
  readonly store?: boolean;
  /** Sizes and CRC only in the central directory (general-purpose flag bit 3), as many zip writers do. */
  readonly descriptor?: boolean;
}

interface BuiltZip {
  readonly bytes: Buffer;
  /** Where each entry's (compressed) data starts, and its length. */
  readonly data: Record<string, { readonly offset: number; readonly length: number }>;
}

function buildZip(parts: readonly ZipPart[]): BuiltZip {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  const data: Record<string, { offset: number; length: number }> = {};
  let offset = 0;
  for (const part of parts) {
    const name = Buffer.from(part.name, 'utf8');
    const stored = part.store ? part.data : deflateRawSync(part.data);
    const crc = zlibCrc32(part.data);
    const flags = 0x0800 | (part.descriptor ? 0x0008 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(part.store ? 0 : 8, 8);
    local.writeUInt32LE(part.descriptor ? 0 : crc, 14);
    local.writeUInt32LE(part.descriptor ? 0 : stored.length, 18);
    local.writeUInt32LE(part.descriptor ? 0 : part.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const descriptor = Buffer.alloc(part.descriptor ? 16 : 0);
    if (part.descriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(stored.length, 8);
      descriptor.writeUInt32LE(part.data.length, 12);
    }
    data[part.name] = { offset: offset + 30 + name.length, length: stored.length };
    chunks.push(local, name, stored, descriptor);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(flags, 8);
    header.writeUInt16LE(part.store ? 0 : 8, 10);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(stored.length, 20);
    header.writeUInt32LE(part.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(offset, 42);
    central.push(header, name);
    offset += local.length + name.length + stored.length + descriptor.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return { bytes: Buffer.concat([...chunks, directory, end]), data };
}

/** A package shaped like Microsoft.ML.OnnxRuntime.Gpu.Linux: the three providers among files that must not be installed. */
function buildNupkg(leaveOut?: string): BuiltZip {
  const parts: ZipPart[] = [
    { name: '_rels/.rels', data: Buffer.from('<?xml version="1.0"?><Relationships/>') },
    { name: 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec', data: Buffer.from('<?xml version="1.0"?><package><metadata><id>Microsoft.ML.OnnxRuntime.Gpu.Linux</id></metadata></package>') },
    { name: `${NATIVE}libonnxruntime.so`, data: content(9, 300 * 1024) },
  ];
  for (const [name, data] of Object.entries(providerFiles)) {
    if (name !== leaveOut) parts.push({ name: NATIVE + name, data, descriptor: name.includes('shared') });
  }
  parts.push({ name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types/>') }, { name: '.signature.p7s', data: content(11, 9000), store: true });
  return buildZip(parts);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}


const FEED_PATH = '/v3-flatcontainer';
let server: TestFileServer;
let root: string;
/** A copy of onnxruntime-node's native folder (real files when this machine has them), copied per case. */
let template: string;
let nupkg: BuiltZip;

let caseDir: string;
let binDir: string;
let cacheDir: string;
let originalBin: Map<string, Buffer>;

before(async () => {
  server = await TestFileServer.start();
  root = await mkdtemp(join(tmpdir(), 'i3d-cuda-'));
  template = join(root, 'template');
  await mkdir(template);
  for (const name of ['libonnxruntime.so.1', 'onnxruntime_binding.node']) {
    const source = join(REAL_BIN, name);
    if (await exists(source)) await copyFile(source, join(template, name));
    else await writeFile(join(template, name), `stand-in for ${name}\n`);
  }
  nupkg = buildNupkg();
});

after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
beforeEach(async () => {
  server.reset();
  server.serve(urlPath(VERSION), nupkg.bytes);
  caseDir = join(root, `case-${++counter}`);
  // The layout of the npm package, so the version can be read from its package.json as in production.
  const ortRoot = join(caseDir, 'node_modules', 'onnxruntime-node');
  binDir = join(ortRoot, 'bin', 'napi-v6', 'linux', 'x64');
  cacheDir = join(caseDir, 'cache');
  await mkdir(binDir, { recursive: true });
  await writeFile(join(ortRoot, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: VERSION }));
  originalBin = new Map();
  for (const name of await readdir(template)) {
    await copyFile(join(template, name), join(binDir, name));
    originalBin.set(name, await readFile(join(binDir, name)));
  }
});

function urlPath(version: string): string {
  return new URL(packageUrl(version, `http://x${FEED_PATH}`)).pathname;
}

function options(extra: Partial<InstallOptions> = {}): InstallOptions {
  return { cacheDir, ortBinDir: binDir, feedUrl: server.url(FEED_PATH), host: { platform: 'linux', arch: 'x64' }, ...extra };
}

/** The bin folder holds exactly what it held before: no provider file, no temporary file, no record. */
async function assertBinUntouched(): Promise<void> {
  assert.deepEqual((await readdir(binDir)).sort(), [...originalBin.keys()].sort());
  for (const [name, data] of originalBin) assert.ok((await readFile(join(binDir, name))).equals(data), `${name} unchanged`);
}

/**
 * Runs the installer as user nobody (setpriv), who may read the case's folders but write only
 * `writable`: onnxruntime-node's folder is then read-only to it, as in a system-wide install. Returns
 * the installer's outcome ({ ok, binDir, privateRuntime } or the error's name, code, message, dir), or
 * why it could not run as nobody here.
 */
async function installAsNobody(installOptions: InstallOptions, writable: readonly string[]): Promise<Record<string, unknown> | string> {
  const setpriv = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
  if (setpriv.status !== 0) return `setpriv cannot switch to nobody here: ${setpriv.stderr?.toString().trim() || String(setpriv.error)}`;
  // nobody must be able to reach the folders (mkdtemp makes them private) but not write the bin folder.
  for (let dir = binDir; dir.startsWith(root); dir = join(dir, '..')) await chmod(dir, 0o755);
  await chmod(root, 0o755);
  for (const dir of writable) {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o777);
  }
  // The installer is bundled into the test's own (now reachable) folder, so nobody needs no access to
  // the checkout, which may sit in a private folder (mktemp -d is 0700).
  const bundle = join(root, 'install.cjs');
  buildSync({
    entryPoints: [join(__dirname, '..', '..', 'src', 'pipeline', 'network', 'cudaProvider', 'install.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'silent',
  });
  await chmod(bundle, 0o644);
  const script = `
    const { installCudaProvider } = require(${JSON.stringify(bundle)});
    installCudaProvider(${JSON.stringify(installOptions)}).then(
      (r) => console.log(JSON.stringify({ ok: true, binDir: r.binDir, privateRuntime: r.privateRuntime })),
      (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, dir: e.dir })),
    );`;
  // Asynchronously: the package server runs in this process and must answer while the child downloads.
  const child = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { cwd: root, env: { ...process.env, HOME: writable[0] }, timeout: 60_000 }, (_err, stdout, stderr) =>
      resolve({ stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
  const line = child.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) return `could not run as nobody: ${child.stderr.trim().split('\n').slice(-3).join(' / ')}`;
  return JSON.parse(line) as Record<string, unknown>;
}

describe('CUDA provider installer', { timeout: 120_000 }, () => {
  it('downloads the package, installs byte-identical files with a record, and reports installed', async () => {
    const before = await cudaProviderStatus(binDir, { platform: 'linux', arch: 'x64' });
    assert.equal(before.state, 'missing');
    assert.deepEqual(before.state === 'missing' && before.missing, [...CUDA_PROVIDER_FILES]);

    const seen: CudaInstallProgress[] = [];
    // No version given: it is read from onnxruntime-node's package.json beside the bin folder.
    const result = await installCudaProvider(options({ onProgress: (p) => seen.push(p) }));
    assert.equal(result.alreadyInstalled, false);
    assert.equal(result.version, VERSION);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.path, `${FEED_PATH}/microsoft.ml.onnxruntime.gpu.linux/1.30.0/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg`);

    for (const [name, data] of Object.entries(providerFiles)) {
      const installed = await readFile(join(binDir, name));
      assert.ok(installed.equals(data), `${name} is byte-identical`);
      assert.equal((await stat(join(binDir, name))).mode & 0o777, 0o755);
    }
    // The package's own libonnxruntime.so and everything else in it stay out of the bin folder.
    assert.deepEqual((await readdir(binDir)).sort(), [...originalBin.keys(), ...CUDA_PROVIDER_FILES, RECORD_NAME].sort());
    for (const [name, data] of originalBin) assert.ok((await readFile(join(binDir, name))).equals(data));

    const record = JSON.parse(await readFile(join(binDir, RECORD_NAME), 'utf8')) as CudaProviderRecord;
    assert.equal(record.version, VERSION);
    assert.equal(record.package, 'Microsoft.ML.OnnxRuntime.Gpu.Linux');
    assert.equal(record.nupkgSha256, sha256(nupkg.bytes));
    assert.equal(record.url, server.url(server.requests[0]!.path));
    assert.deepEqual(
      record.files.map((f) => [f.name, f.size, f.sha256, f.crc32]),
      CUDA_PROVIDER_FILES.map((n) => [n, providerFiles[n]!.length, sha256(providerFiles[n]!), zlibCrc32(providerFiles[n]!)]),
    );
    assert.deepEqual(result.record, record);

    // The cache keeps nothing once installed: no package, no unpacked copies, no lock.
    assert.deepEqual(await readdir(cacheDir), []);

    const phases = [...new Set(seen.map((p) => p.phase))];
    assert.deepEqual(phases, ['download', 'extract', 'install']);
    const lastExtract = seen.filter((p) => p.phase === 'extract').pop()!;
    assert.equal(lastExtract.received, lastExtract.total);
    assert.match(describeCudaInstallProgress(lastExtract).message, /^Unpacking: 6\.\d+ MB of 6\.\d+ MB/);

    // The stand-in provider is no ELF file, so the documented requirement is what the user is told.
    assert.equal(result.requirements.cudaMajor, undefined);
    assert.match(result.requirements.text, /NVIDIA GPU/);
    assert.match(result.requirements.text, /CUDA 12\.x runtime libraries .* cuDNN 9\.x/);
    assert.match(result.requirements.text, /LD_LIBRARY_PATH/);
    // Without the provider's own list only the driver can be looked for; this machine has no NVIDIA driver.
    if (result.requirements.unresolved !== undefined && !(await exists('/proc/driver/nvidia'))) {
      assert.deepEqual(result.requirements.unresolved, ['libcuda.so.1']);
    }

    const status = await cudaProviderStatus(binDir, { platform: 'linux', arch: 'x64' });
    assert.equal(status.state, 'installed');
    assert.ok(status.state === 'installed' && status.ortVersion === VERSION && !status.versionMismatch && status.record?.nupkgSha256 === record.nupkgSha256);

    // Asked again: nothing is downloaded.
    const again = await installCudaProvider(options());
    assert.equal(again.alreadyInstalled, true);
    assert.equal(server.requests.length, 1);
  });

  it('resumes the package download after a dropped connection', async () => {
    server.behaveOnce({ dropAfter: 2_000_000 });
    const err = await rejectsWith(installCudaProvider(options()), 'download-failed', /stopped at .* Run the download again to resume/);
    assert.ok(err.message.includes('microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg'));
    const part = packagePartPath(cacheDir, VERSION);
    const partSize = (await stat(part)).size;
    assert.ok(partSize > 0 && partSize <= 2_000_000, `the .part holds the received prefix (${partSize})`);
    await assertBinUntouched();

    const result = await installCudaProvider(options());
    assert.equal(server.requests[1]!.range, `bytes=${partSize}-`);
    assert.equal(server.requests[1]!.bodyBytes, nupkg.bytes.length - partSize, 'only the remainder was fetched');
    assert.equal(result.record.nupkgSha256, sha256(nupkg.bytes), 'the hash covers the resumed prefix');
    for (const [name, data] of Object.entries(providerFiles)) assert.ok((await readFile(join(binDir, name))).equals(data));
  });

  it('cancelled mid-download, keeps the .part and puts nothing in the bin folder', async () => {
    server.behave({ chunkSize: 64 * 1024, delayMs: 5 });
    const controller = new AbortController();
    const progress = (p: CudaInstallProgress): void => {
      if (p.phase === 'download' && p.received > 1_000_000) controller.abort();
    };
    await assert.rejects(installCudaProvider(options({ signal: controller.signal, onProgress: progress })), CancelledError);
    assert.ok((await stat(packagePartPath(cacheDir, VERSION))).size > 1_000_000);
    await assertBinUntouched();

    server.behave({});
    await installCudaProvider(options());
    assert.match(server.requests[1]!.range ?? '', /^bytes=\d+-$/);
    for (const [name, data] of Object.entries(providerFiles)) assert.ok((await readFile(join(binDir, name))).equals(data));
  });

  it('cancelled mid-extract, leaves the bin folder untouched and reuses the downloaded package next time', async () => {
    const controller = new AbortController();
    const progress = (p: CudaInstallProgress): void => {
      if (p.phase === 'extract' && p.received > 500_000) controller.abort();
    };
    await assert.rejects(installCudaProvider(options({ signal: controller.signal, onProgress: progress })), CancelledError);
    await assertBinUntouched();
    assert.deepEqual(await readdir(cacheDir), ['microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg'], 'the package stays, the unpacked files and the lock go');

    const phases: string[] = [];
    const result = await installCudaProvider(options({ onProgress: (p) => phases.push(p.phase) }));
    assert.equal(server.requests.length, 1, 'no second download');
    assert.equal(phases[0], 'verify');
    assert.equal(result.record.nupkgSha256, sha256(nupkg.bytes));
    for (const [name, data] of Object.entries(providerFiles)) assert.ok((await readFile(join(binDir, name))).equals(data));
  });

  it('cancelled while copying into the bin folder, leaves no file under a provider name', async () => {
    const controller = new AbortController();
    let copies = 0;
    const progress = (p: CudaInstallProgress): void => {
      if (p.phase === 'install' && p.received > 0 && ++copies === 1) controller.abort();
    };
    await assert.rejects(installCudaProvider(options({ signal: controller.signal, onProgress: progress })), CancelledError);
    await assertBinUntouched();
  });

  for (const where of ['stored', 'compressed'] as const) {
    it(`refuses a package whose provider data is damaged (${where} part of the deflate stream) and installs nothing`, async () => {
      const damaged = Buffer.from(nupkg.bytes);
      const entry = nupkg.data[`${NATIVE}libonnxruntime_providers_cuda.so`]!;
      // The first 256 KiB of the file is noise that deflate stores verbatim, so a flip there changes the output
      // but not the stream's validity: only the CRC can tell. Near the end the stream is real Huffman code.
      const at = entry.offset + (where === 'stored' ? 100_000 : entry.length - 2000);
      damaged[at] ^= 0x55;
      damaged[at + 1] ^= 0xff;
      server.serve(urlPath(VERSION), damaged);
      const err = await rejectsWith(installCudaProvider(options()), 'checksum-mismatch', /is damaged: runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so failed its CRC-32 and size check/);
      if (where === 'stored') assert.match(err.message, /checksum of .* does not match its contents/);
      assert.match(err.message, /Nothing was installed\.$/);
      await assertBinUntouched();
      assert.deepEqual(await readdir(cacheDir), [], 'the damaged package is deleted, so the next attempt downloads it again');
    });
  }

  it('refuses a package that lacks one of the files', async () => {
    server.serve(urlPath(VERSION), buildNupkg('libonnxruntime_providers_tensorrt.so').bytes);
    await rejectsWith(installCudaProvider(options()), 'provider-install-failed', /does not contain runtimes\/linux-x64\/native\/libonnxruntime_providers_tensorrt\.so\. Nothing was installed\./);
    await assertBinUntouched();
  });

  it('refuses a file that is not a zip archive', async () => {
    server.serve(urlPath(VERSION), Buffer.from('<html>a captive portal</html>'));
    await rejectsWith(installCudaProvider(options()), 'provider-install-failed', /is not a readable zip archive/);
    await assertBinUntouched();
    assert.deepEqual(await readdir(cacheDir), []);
  });

  it('names a bin folder that cannot exist (a path under a regular file) before downloading anything', async () => {
    const file = join(caseDir, 'a-file');
    await writeFile(file, 'x');
    const bogus = join(file, 'bin');
    const err = await rejectsWith(installCudaProvider(options({ ortBinDir: bogus, version: VERSION })), 'provider-install-failed');
    assert.ok(err.message.includes(bogus), err.message);
    assert.equal(server.requests.length, 0);
  });

  it('names a bin folder this user may not write, before downloading anything', async (t) => {
    const run = await installAsNobody(options(), [cacheDir]);
    if (typeof run === 'string') return t.skip(run);
    const outcome = run as { name?: string; code?: string; message?: string; dir?: string };
    assert.equal(outcome.name, ProviderFolderNotWritableError.name, JSON.stringify(run));
    assert.equal(outcome.code, 'provider-install-failed');
    assert.equal(outcome.dir, binDir);
    assert.ok(outcome.message?.includes(binDir) && outcome.message.includes('EACCES'), outcome.message);
    assert.equal(server.requests.length, 0, 'refused before the download');
    await assertBinUntouched();
  });

  it('with a storage folder given, puts the provider into a private copy of onnxruntime-node when its own folder is read-only', async (t) => {
    // What the copy takes besides the native folder: onnxruntime-node's JavaScript and onnxruntime-common.
    const ortRoot = join(caseDir, 'node_modules', 'onnxruntime-node');
    await mkdir(join(ortRoot, 'dist'), { recursive: true });
    await writeFile(join(ortRoot, 'dist', 'index.js'), 'module.exports = {};\n');
    const common = join(caseDir, 'node_modules', 'onnxruntime-common');
    await mkdir(join(common, 'dist', 'cjs'), { recursive: true });
    await writeFile(join(common, 'package.json'), JSON.stringify({ name: 'onnxruntime-common', version: VERSION, main: 'dist/cjs/index.js' }));
    await writeFile(join(common, 'dist', 'cjs', 'index.js'), 'module.exports = {};\n');
    const storage = join(caseDir, 'storage');
    const run = await installAsNobody(options({ privateRuntimeStorage: storage }), [cacheDir, storage]);
    if (typeof run === 'string') return t.skip(run);
    const outcome = run as { ok?: boolean; binDir?: string; privateRuntime?: string };
    assert.equal(outcome.ok, true, JSON.stringify(run));
    const copy = join(storage, `onnxruntime-node-${VERSION}`, 'node_modules', 'onnxruntime-node');
    assert.equal(outcome.privateRuntime, copy);
    assert.equal(outcome.binDir, join(copy, 'bin', 'napi-v6', 'linux', 'x64'));
    // The copy: the runtime's own files byte for byte, the provider and its record; the original untouched.
    for (const [name, data] of originalBin) assert.ok((await readFile(join(outcome.binDir!, name))).equals(data), `${name} copied`);
    for (const [name, data] of Object.entries(providerFiles)) assert.ok((await readFile(join(outcome.binDir!, name))).equals(data), `${name} installed`);
    assert.ok(await exists(join(outcome.binDir!, RECORD_NAME)));
    assert.ok(await exists(join(copy, 'dist', 'index.js')));
    assert.ok(await exists(join(storage, `onnxruntime-node-${VERSION}`, 'node_modules', 'onnxruntime-common', 'dist', 'cjs', 'index.js')));
    await assertBinUntouched();
    // The host finds it, and names it to the pipeline process.
    assert.equal(privateRuntimeFor(storage, VERSION, { platform: 'linux', arch: 'x64' }), copy);
    assert.equal(privateRuntimeFor(storage, '1.29.0', { platform: 'linux', arch: 'x64' }), undefined);
  });

  it('removes the provider, the record and leftovers, and nothing else', async () => {
    await installCudaProvider(options());
    await writeFile(join(binDir, '.cuda-provider-libonnxruntime_providers_cuda.so.999.abc.tmp'), 'left by a crash');
    const { removed } = await removeCudaProvider(binDir, { platform: 'linux', arch: 'x64' });
    assert.equal(removed.length, 5);
    assert.equal(removed[removed.length - 1], join(binDir, RECORD_NAME), 'the record goes last');
    await assertBinUntouched();
    const status = await cudaProviderStatus(binDir, { platform: 'linux', arch: 'x64' });
    assert.equal(status.state, 'missing');
    assert.deepEqual((await removeCudaProvider(binDir, { platform: 'linux', arch: 'x64' })).removed, []);
  });

  it('reports a partial set as missing, files without a record as installed, and a version mismatch', async () => {
    const host = { platform: 'linux', arch: 'x64' } as const;
    await writeFile(join(binDir, 'libonnxruntime_providers_shared.so'), 'x');
    const partial = await cudaProviderStatus(binDir, host);
    assert.ok(partial.state === 'missing');
    assert.deepEqual(partial.present, ['libonnxruntime_providers_shared.so']);
    assert.deepEqual(partial.missing, ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_tensorrt.so']);

    // As onnxruntime-node's own install script leaves them: the files, no record.
    for (const name of CUDA_PROVIDER_FILES) await writeFile(join(binDir, name), 'x');
    const foreign = await cudaProviderStatus(binDir, host);
    assert.ok(foreign.state === 'installed' && foreign.record === undefined && !foreign.versionMismatch);

    await removeCudaProvider(binDir, host);
    server.serve(urlPath('1.29.0'), nupkg.bytes);
    await installCudaProvider(options({ version: '1.29.0' }));
    const mismatch = await cudaProviderStatus(binDir, host);
    assert.ok(mismatch.state === 'installed' && mismatch.versionMismatch && mismatch.record?.version === '1.29.0');
  });

  it('is not applicable anywhere but linux-x64, and says why', async () => {
    const win = await cudaProviderStatus(undefined, { platform: 'win32', arch: 'x64' });
    assert.ok(win.state === 'not-applicable' && /DirectML/.test(win.reason), JSON.stringify(win));
    const mac = await cudaProviderStatus(undefined, { platform: 'darwin', arch: 'arm64' });
    assert.ok(mac.state === 'not-applicable' && /CoreML/.test(mac.reason));
    const arm = await cudaProviderStatus(undefined, { platform: 'linux', arch: 'arm64' });
    assert.ok(arm.state === 'not-applicable' && /arm64/.test(arm.reason));
    await rejectsWith(installCudaProvider(options({ host: { platform: 'win32', arch: 'x64' } })), 'provider-install-failed', /DirectML/);
    assert.deepEqual((await removeCudaProvider(undefined, { platform: 'darwin', arch: 'arm64' })).removed, []);
  });

  it('lets one install run at a time per cache folder', async () => {
    server.behave({ chunkSize: 64 * 1024, delayMs: 5 });
    const first = installCudaProvider(options());
    await new Promise((resolve) => setTimeout(resolve, 50));
    await rejectsWith(installCudaProvider(options({ force: true })), 'provider-install-failed', /already being installed/);
    server.behave({});
    await first;
    for (const [name, data] of Object.entries(providerFiles)) assert.ok((await readFile(join(binDir, name))).equals(data));
  });

  it('refuses a version that is not a NuGet version before touching anything', async () => {
    await assert.rejects(installCudaProvider(options({ version: '../../etc' })), RangeError);
    assert.equal(server.requests.length, 0);
  });
});

describe('streaming zip extraction', () => {
  async function withZip<T>(zip: Buffer, use: (reader: ZipReader, dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(root, 'zip-'));
    const file = join(dir, 'test.zip');
    await writeFile(file, zip);
    const handle = await open(file, 'r');
    try {
      return await use(await ZipReader.open(handle, zip.length, 'test.zip'), dir);
    } finally {
      await handle.close();
    }
  }

  it('unpacks large deflated and stored entries, and never overwrites', async () => {
    const big = content(5, 70 * 1024 * 1024 + 3);
    const zip = buildZip([
      { name: 'big', data: big },
      { name: 'plain', data: providerFiles['libonnxruntime_providers_shared.so']!, store: true },
    ]);
    await withZip(zip.bytes, async (reader, dir) => {
      // Over the 64 MiB the in-memory path accepts: only streaming can unpack it.
      await assert.rejects(reader.readAll(reader.find('big')!, Number.MAX_SAFE_INTEGER), /are not unpacked/);
      let last = 0;
      await reader.extractToFile(reader.find('big')!, join(dir, 'big'), { onProgress: (n) => (last = n) });
      assert.equal(last, big.length);
      assert.ok((await readFile(join(dir, 'big'))).equals(big));
      await reader.extractToFile(reader.find('plain')!, join(dir, 'plain'));
      assert.ok((await readFile(join(dir, 'plain'))).equals(providerFiles['libonnxruntime_providers_shared.so']!));
      await assert.rejects(reader.extractToFile(reader.find('plain')!, join(dir, 'plain')), /EEXIST/);
    });
  });

  it('stops a bomb at its declared size and leaves no file', async () => {
    const zip = buildZip([{ name: 'bomb', data: Buffer.alloc(8 * 1024 * 1024) }]);
    // Claim 1000 bytes in the central directory.
    const dirStart = zip.bytes.readUInt32LE(zip.bytes.length - 6);
    zip.bytes.writeUInt32LE(1000, dirStart + 24);
    await withZip(zip.bytes, async (reader, dir) => {
      await assert.rejects(reader.extractToFile(reader.find('bomb')!, join(dir, 'bomb')), (e: unknown) => e instanceof ZipIntegrityError && /more than the 1000 bytes/.test(e.message));
      assert.equal(await exists(join(dir, 'bomb')), false);
    });
  });

  it('reports a cut-off deflate stream as damage, and a cancellation as a cancellation', async () => {
    const data = content(6, 2 * 1024 * 1024);
    const zip = buildZip([{ name: 'x', data }]);
    const dirStart = zip.bytes.readUInt32LE(zip.bytes.length - 6);
    const compressed = zip.bytes.readUInt32LE(dirStart + 20);
    zip.bytes.writeUInt32LE(compressed - 5000, dirStart + 20);
    await withZip(zip.bytes, async (reader, dir) => {
      await assert.rejects(reader.extractToFile(reader.find('x')!, join(dir, 'x')), (e: unknown) => e instanceof ZipIntegrityError);
      assert.equal(await exists(join(dir, 'x')), false);
    });
    const whole = buildZip([{ name: 'x', data }]);
    await withZip(whole.bytes, async (reader, dir) => {
      const controller = new AbortController();
      await assert.rejects(
        reader.extractToFile(reader.find('x')!, join(dir, 'x'), { signal: controller.signal, onProgress: (n) => n > 100_000 && controller.abort() }),
        CancelledError,
      );
      assert.equal(await exists(join(dir, 'x')), false);
    });
  });
});

describe('what CUDA needs besides the provider', () => {
  it('reads the libraries an ELF shared object needs, as readelf does', async (t) => {
    const lib = join(template, 'libonnxruntime.so.1');
    const needed = await readNeededLibraries(lib);
    if (!(await exists(join(REAL_BIN, 'libonnxruntime.so.1')))) {
      assert.equal(needed, undefined, 'a stand-in text file is no ELF');
      return t.skip('onnxruntime-node has no linux-x64 library on this machine');
    }
    assert.ok(needed?.includes('libc.so.6'), String(needed));
    const readelf = spawnSync('readelf', ['-d', lib], { encoding: 'utf8' });
    if (readelf.status === 0) {
      const expected = [...readelf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      assert.deepEqual(needed, expected);
    }
    assert.equal(await readNeededLibraries(join(template, 'missing')), undefined);
  });

  it('names the CUDA and cuDNN versions the provider was built against', () => {
    const req = describeRequirements(['libcublasLt.so.13', 'libcublas.so.13', 'libcudnn.so.9', 'libcurand.so.10', 'libcufft.so.12', 'libcudart.so.13', 'libstdc++.so.6', 'libc.so.6', 'ld-linux-x86-64.so.2']);
    assert.equal(req.cudaMajor, 13);
    assert.equal(req.cudnnMajor, 9);
    assert.deepEqual(req.libraries, ['libcublasLt.so.13', 'libcublas.so.13', 'libcudnn.so.9', 'libcurand.so.10', 'libcufft.so.12', 'libcudart.so.13']);
    assert.match(req.text, /driver recent enough for CUDA 13/);
    assert.match(req.text, /CUDA 13\.x runtime libraries and cuDNN 9\.x\. The provider loads: libcublasLt\.so\.13, .*libcudart\.so\.13\./);
    assert.doesNotMatch(req.text, /libstdc/);
    assert.doesNotMatch(req.text, /Not found/);
    assert.match(describeRequirements(['libcudnn.so.9'], ['libcudnn.so.9', 'libcuda.so.1']).text, /Not found on this machine right now: libcudnn\.so\.9, libcuda\.so\.1\./);
  });

  it('tells which libraries the loader would not find', async (t) => {
    const dir = await mkdtemp(join(root, 'libs-'));
    await writeFile(join(dir, 'libonly-in-extra-dir.so.3'), 'x');
    const unresolved = await findUnresolvedLibraries(['libc.so.6', 'libonly-in-extra-dir.so.3', 'libcertainly-absent-i3d.so.77'], [dir]);
    if (unresolved === undefined) return t.skip('no readable ldconfig cache here');
    assert.deepEqual(unresolved, ['libcertainly-absent-i3d.so.77']);
  });
});

describe('with the real onnxruntime-node', { skip: !IS_LINUX_X64 && 'its CUDA provider exists only for linux-x64' }, () => {
  it('finds its bin folder and version, and sees no CUDA provider in it here', async () => {
    const status = await cudaProviderStatus();
    assert.notEqual(status.state, 'not-applicable');
    assert.ok(status.state !== 'not-applicable');
    assert.ok(status.binDir.endsWith(join('onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64')), status.binDir);
    assert.equal(status.ortVersion, JSON.parse(await readFile(join(status.binDir, '..', '..', '..', '..', 'package.json'), 'utf8')).version);
    assert.ok(await exists(join(status.binDir, 'libonnxruntime.so.1')));
  });

  it('the provider probe falls back cleanly: cuda gives a reason, cpu works', async () => {
    const status = await cudaProviderStatus();
    if (status.state === 'installed') return; // a machine with the provider set up; nothing to prove here
    const cuda = await probe('cuda');
    assert.equal(typeof cuda, 'string');
    assert.notEqual(cuda, '', 'a missing CUDA provider is reported, not thrown');
    assert.equal(await probe('cpu'), '');
  });
});
