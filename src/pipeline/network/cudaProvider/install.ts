/**
 * Installs onnxruntime-node's CUDA execution provider at run time, for a packaged extension.
 *
 * onnxruntime-node's npm package carries only the CPU (and WebGPU) providers for linux-x64: its CUDA
 * provider is too large for npm, so the package's install script fetches it from NuGet when `npm install`
 * runs. A packaged VS Code extension never runs that script, so the files are missing for every user;
 * this module does the same job when the user asks for it. Facts taken from onnxruntime-node 1.30's
 * install metadata:
 * - the files come from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux of the same version as
 *   onnxruntime-node (a .nupkg is a zip), at runtimes/linux-x64/native/ inside it;
 * - three files: libonnxruntime_providers_shared.so (the bridge every shared provider loads through),
 *   libonnxruntime_providers_cuda.so (the CUDA provider) and libonnxruntime_providers_tensorrt.so (the
 *   TensorRT provider; not needed for CUDA alone, installed to match what `npm install` produces);
 * - they must sit in the same folder as libonnxruntime.so.1 (bin/napi-v6/linux/x64), where ONNX Runtime
 *   looks for provider libraries.
 * Only linux-x64 applies: Windows packages ship DirectML instead, macOS has CoreML and no CUDA, and
 * ONNX Runtime publishes no Linux arm64 CUDA provider for Node.
 *
 * What else CUDA needs on the user's machine, which no extension can install: an NVIDIA GPU and driver,
 * and NVIDIA's CUDA runtime libraries (cudart, cuBLAS, cuBLASLt, cuFFT, cuRAND) and cuDNN, where the
 * system's loader finds them (installed system-wide, or on LD_LIBRARY_PATH). ONNX Runtime documents
 * CUDA 12.x with cuDNN 9.x for its GPU packages since 1.19, and onnxruntime-node 1.30's README says CUDA
 * v12; but ONNX Runtime deprecated its CUDA 12 builds in favour of CUDA 13 from 1.27, so check. To avoid
 * guessing, the installed provider's own list of libraries (its ELF DT_NEEDED entries) is read and
 * `installCudaProvider` returns the exact requirement as text the UI can show (requirements.ts).
 *
 * Safety of the steps: the .nupkg (about 250 MB; NuGet caps packages at that) downloads into the cache
 * folder with resume (download.ts). Each file is unpacked by streaming inflate into the cache folder and
 * checked against the CRC-32 and size in the zip directory. The three files are then copied into the ORT
 * folder under temporary names, flushed, and only then renamed to their real names, so a cancelled or
 * failed install never leaves a partial file under a provider's name for ONNX Runtime to load.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { syncDirectory, syncFile } from '../../files/durable.js';
import { CancelledError, throwIfAborted } from '../../progress.js';
import { METHOD_DEFLATED, METHOD_STORED, ZipIntegrityError, ZipReader, type ZipEntry } from '../checkpoint/zip.js';
import { downloadFile, errorCode, partPathFor } from '../store/download.js';
import { hashFilePrefix } from '../store/fileHash.js';
import { downloadFraction, formatBytes, formatDownloadProgress } from '../store/progressFormat.js';
import { ProgressThrottle } from '../store/rateMeter.js';
import { readNeededLibraries } from './elf.js';
import { acquireInstallLock } from './lock.js';
import { makePrivateRuntime } from './privateRuntime.js';
import { bundledOnnxRuntimePackage, CUDA_PROVIDER_RECORD, ONNXRUNTIME_PACKAGE_ENV, privateRuntimeBinDir, privateRuntimePackage } from '../runtimeLocation.js';
import { describeRequirements, DRIVER_LIBRARY, findUnresolvedLibraries, type CudaRequirements } from './requirements.js';

export const NUGET_PACKAGE_ID = 'Microsoft.ML.OnnxRuntime.Gpu.Linux';
/** NuGet's flat container (PackageBaseAddress/3.0.0): fixed addresses, no index lookups needed. */
export const DEFAULT_FEED_URL = 'https://api.nuget.org/v3-flatcontainer';
export const PACKAGE_NATIVE_DIR = 'runtimes/linux-x64/native/';
export const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';
export const SHARED_PROVIDER_LIBRARY = 'libonnxruntime_providers_shared.so';
export const TENSORRT_PROVIDER_LIBRARY = 'libonnxruntime_providers_tensorrt.so';
export const CUDA_PROVIDER_FILES = [SHARED_PROVIDER_LIBRARY, CUDA_PROVIDER_LIBRARY, TENSORRT_PROVIDER_LIBRARY] as const;
export const RECORD_NAME = CUDA_PROVIDER_RECORD;
/** ONNX Runtime's own library; its presence tells that a folder really is onnxruntime-node's native folder. */
export const ORT_LIBRARY = 'libonnxruntime.so.1';

const RECORD_FORMAT = 1;
const TEMP_PREFIX = '.cuda-provider-';
const TEMP_SUFFIX = '.tmp';
/** NuGet versions as onnxruntime-node uses them; anything else is refused before it reaches a URL or a file name. */
const VERSION_PATTERN = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?$/;
const PROGRESS_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------------------
// Where onnxruntime-node lives

export interface Platform {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
}

const HOST: Platform = { platform: process.platform, arch: process.arch };

/** Why the CUDA provider download does not apply here, or undefined on linux-x64 where it does. */
export function notApplicableReason({ platform, arch }: Platform = HOST): string | undefined {
  if (platform === 'linux' && arch === 'x64') return undefined;
  if (platform === 'win32') {
    return 'On Windows, onnxruntime-node ships the DirectML provider (dml) in its package, which runs on any DirectX 12 GPU; it offers no CUDA provider for Windows, so there is nothing to install.';
  }
  if (platform === 'darwin') return 'macOS has no CUDA; onnxruntime-node ships the CoreML provider (coreml) in its package instead.';
  if (platform === 'linux') return `ONNX Runtime publishes its CUDA provider for Node only for Linux on x64, not ${arch}.`;
  return `ONNX Runtime publishes its CUDA provider for Node only for Linux on x64, not ${platform}-${arch}.`;
}

/**
 * onnxruntime-node's native folder for this platform: from its entry point (…/dist/index.js) to
 * …/bin/napi-v6/<platform>/<arch>, the layout its loader and its install script share.
 */
export function defaultOrtBinDir({ platform, arch }: Platform = HOST): string {
  // The package this process loads (network/ort.ts): a private copy when the host named one.
  const named = process.env[ONNXRUNTIME_PACKAGE_ENV];
  const packageDir = named ? path.resolve(named) : bundledOnnxRuntimePackage();
  return path.join(packageDir, 'bin', 'napi-v6', platform, arch);
}

/** The version of the onnxruntime-node whose bin folder this is, when the folder sits in its package. */
export async function ortVersionFor(binDir: string): Promise<string | undefined> {
  const manifest = path.join(binDir, '..', '..', '..', '..', 'package.json');
  try {
    const value: unknown = JSON.parse(await fsp.readFile(manifest, 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { name, version } = value as Record<string, unknown>;
    return name === 'onnxruntime-node' && typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

export function packageUrl(version: string, feedUrl: string = DEFAULT_FEED_URL): string {
  const id = NUGET_PACKAGE_ID.toLowerCase();
  const v = version.toLowerCase();
  return `${feedUrl.replace(/\/+$/, '')}/${id}/${v}/${id}.${v}.nupkg`;
}

export function packageFileName(version: string): string {
  return `${NUGET_PACKAGE_ID.toLowerCase()}.${version.toLowerCase()}.nupkg`;
}

// ---------------------------------------------------------------------------------------------------
// Record and status

export interface InstalledFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly crc32: number;
}

/** `cuda-provider.json` beside the files: what this module installed, from where. */
export interface CudaProviderRecord {
  readonly format: typeof RECORD_FORMAT;
  readonly package: string;
  readonly version: string;
  readonly url: string;
  readonly nupkgSha256: string;
  readonly installedAt: string;
  readonly files: readonly InstalledFile[];
}

export type CudaProviderStatus =
  | { readonly state: 'not-applicable'; readonly reason: string }
  | {
      readonly state: 'missing';
      readonly binDir: string;
      readonly ortVersion: string | undefined;
      /** Provider files that are there (an interrupted manual copy, or a folder with only some of them). */
      readonly present: readonly string[];
      readonly missing: readonly string[];
    }
  | {
      readonly state: 'installed';
      readonly binDir: string;
      readonly ortVersion: string | undefined;
      /** Undefined when the files were put there by other means, e.g. onnxruntime-node's own install script. */
      readonly record: CudaProviderRecord | undefined;
      /** The record names another version than the onnxruntime-node beside it: the provider will not load. */
      readonly versionMismatch: boolean;
    };

export async function cudaProviderStatus(ortBinDir?: string, host: Platform = HOST): Promise<CudaProviderStatus> {
  const reason = notApplicableReason(host);
  if (reason !== undefined) return { state: 'not-applicable', reason };
  const binDir = path.resolve(ortBinDir ?? defaultOrtBinDir(host));
  const ortVersion = await ortVersionFor(binDir);
  const present: string[] = [];
  const missing: string[] = [];
  for (const name of CUDA_PROVIDER_FILES) ((await isFile(path.join(binDir, name))) ? present : missing).push(name);
  if (missing.length > 0) return { state: 'missing', binDir, ortVersion, present, missing };
  const record = await readRecord(binDir);
  const versionMismatch = record !== undefined && ortVersion !== undefined && record.version !== ortVersion;
  return { state: 'installed', binDir, ortVersion, record, versionMismatch };
}

async function readRecord(binDir: string): Promise<CudaProviderRecord | undefined> {
  try {
    const value: unknown = JSON.parse(await fsp.readFile(path.join(binDir, RECORD_NAME), 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const r = value as Partial<Record<keyof CudaProviderRecord, unknown>>;
    if (r.format !== RECORD_FORMAT || typeof r.version !== 'string' || typeof r.nupkgSha256 !== 'string' || !Array.isArray(r.files)) return undefined;
    const files: InstalledFile[] = [];
    for (const f of r.files as unknown[]) {
      if (typeof f !== 'object' || f === null) return undefined;
      const { name, size, sha256, crc32 } = f as Record<string, unknown>;
      if (typeof name !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string' || typeof crc32 !== 'number') return undefined;
      files.push({ name, size, sha256, crc32 });
    }
    return {
      format: RECORD_FORMAT,
      package: typeof r.package === 'string' ? r.package : NUGET_PACKAGE_ID,
      version: r.version,
      url: typeof r.url === 'string' ? r.url : '',
      nupkgSha256: r.nupkgSha256,
      installedAt: typeof r.installedAt === 'string' ? r.installedAt : '',
      files,
    };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Errors

/** The ORT folder cannot be written by this user. `dir` is the folder, for a UI that offers to open it. */
export class ProviderFolderNotWritableError extends UserError {
  constructor(
    readonly dir: string,
    systemCode: string,
  ) {
    super(
      `Cannot write the CUDA provider into ${dir} (${systemCode}): that is onnxruntime-node's folder, where ONNX Runtime looks for it, and this user may not change it.`,
      [`Make the folder writable for this user (for example: sudo chown -R "$USER" "${dir}"), or `, { action: 'install-per-user' }, ', then run the installation again.'],
      'provider-install-failed',
    );
    this.name = 'ProviderFolderNotWritableError';
  }
}

function folderMissing(dir: string, what: string): UserError {
  return new UserError(
    `Cannot install the CUDA provider: onnxruntime-node's native folder ${dir} ${what}.`,
    ['The installation looks incomplete. ', { action: 'reinstall' }, ', then try again.'],
    'provider-install-failed',
  );
}

function diskFull(dir: string, free: number, needed: number): UserError {
  return new UserError(
    `Not enough disk space to install the CUDA provider: ${dir} has ${formatBytes(free)} free and the installation needs ${formatBytes(needed)}.`,
    `Free at least ${formatBytes(needed - free)} on that drive, then run the installation again; the download is kept.`,
    'disk-full',
  );
}

/** A write into `dir` failed: the cases a user can act on become UserErrors, anything else stays as it is. */
function writeFailure(err: unknown, dir: string): unknown {
  const code = errorCode(err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new ProviderFolderNotWritableError(dir, code);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UserError(
      `The disk holding ${dir} filled up while installing the CUDA provider.`,
      'Free up space on that drive, then run the installation again; the download is kept.',
      'disk-full',
    );
  }
  return err;
}

/** A message as a clause inside another sentence: without its closing full stop. */
function clause(message: string): string {
  return message.replace(/\.\s*$/, '');
}

function packageProblem(nupkg: string, what: string): UserError {
  return new UserError(
    `The CUDA provider package ${path.basename(nupkg)} ${what}. Nothing was installed.`,
    'The package has been deleted. Run the installation again to download it afresh; if this keeps happening, the package on the server is not the one this version of Image to 3D expects.',
    'provider-install-failed',
  );
}

// ---------------------------------------------------------------------------------------------------
// Install

export type CudaInstallPhase = 'download' | 'verify' | 'extract' | 'install';

export interface CudaInstallProgress {
  /** download: the .nupkg; verify: hashing a .nupkg already downloaded; extract: unpacking; install: copying into place. */
  readonly phase: CudaInstallPhase;
  readonly received: number;
  readonly total: number | undefined;
  readonly bytesPerSecond: number;
}

export interface InstallOptions {
  /** Where the .nupkg and the unpacked files are kept while installing. */
  readonly cacheDir: string;
  /** onnxruntime-node's native folder; found from the installed package when left out. */
  readonly ortBinDir?: string;
  /** A NuGet flat container (a mirror, or a local server in tests). */
  readonly feedUrl?: string;
  /** Package version; the onnxruntime-node version beside ortBinDir when left out (they must match). */
  readonly version?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: CudaInstallProgress) => void;
  /** Install even when the record says this version is already in place. */
  readonly force?: boolean;
  /** Keep the .nupkg in cacheDir after a successful install (by default it is deleted: about 250 MB). */
  readonly keepPackage?: boolean;
  /** For tests: the platform to act as. */
  readonly host?: Platform;
  /** Passed to the download. */
  readonly fetchTimeoutMs?: number;
  /**
   * A folder this user owns (the extension's global storage): when onnxruntime-node's own folder is
   * read-only, a private copy of it is made here and the provider installed into the copy
   * (privateRuntime.ts). Without it, a read-only folder is refused with ProviderFolderNotWritableError.
   */
  readonly privateRuntimeStorage?: string;
}

export interface CudaInstallResult {
  readonly binDir: string;
  readonly version: string;
  /** True when the record showed this version already installed and nothing was done. */
  readonly alreadyInstalled: boolean;
  readonly record: CudaProviderRecord;
  /** What else the machine needs (driver, CUDA, cuDNN), from the installed provider when readable. */
  readonly requirements: CudaRequirements;
  /** The private copy of onnxruntime-node the provider went into, when onnxruntime-node's own folder was read-only. */
  readonly privateRuntime?: string;
}

interface Unpacked {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly crc32: number;
}

export async function installCudaProvider(options: InstallOptions): Promise<CudaInstallResult> {
  const { signal } = options;
  const host = options.host ?? HOST;
  const reason = notApplicableReason(host);
  if (reason !== undefined) {
    throw new UserError(
      `The CUDA provider cannot be installed here. ${reason}`,
      ['Choose another execution provider (', { option: 'executionProviders' }, ').'],
      'provider-install-failed',
    );
  }
  let binDir = path.resolve(options.ortBinDir ?? defaultOrtBinDir(host));
  const version = options.version ?? (await ortVersionFor(binDir));
  if (version === undefined) {
    throw new UserError(
      `Cannot tell which onnxruntime-node version ${binDir} belongs to, so not which CUDA provider to install.`,
      [{ action: 'reinstall' }, ', then try again.'],
      'provider-install-failed',
    );
  }
  if (!VERSION_PATTERN.test(version)) throw new RangeError(`Not a NuGet package version: ${JSON.stringify(version)}.`);
  throwIfAborted(signal);

  // Before anything is downloaded: a 250 MB download that cannot be installed is only a waste.
  // Set when onnxruntime-node's folder is read-only and the provider goes into a private copy instead.
  let privateStorage: string | undefined;
  try {
    await checkBinDir(binDir);
  } catch (err) {
    if (!(err instanceof ProviderFolderNotWritableError) || options.privateRuntimeStorage === undefined) throw err;
    privateStorage = path.resolve(options.privateRuntimeStorage);
  }
  const privateRuntime = privateStorage === undefined ? undefined : privateRuntimePackage(privateStorage, version);
  const sourceBinDir = binDir;
  if (privateStorage !== undefined) binDir = privateRuntimeBinDir(privateStorage, version, host);
  if (!options.force) {
    const existing = await installedRecord(binDir, version);
    if (existing) return { binDir, version, alreadyInstalled: true, record: existing, requirements: await requirementsIn(binDir), privateRuntime };
  }

  const cacheDir = path.resolve(options.cacheDir);
  await fsp.mkdir(cacheDir, { recursive: true });
  const release = await acquireInstallLock(cacheDir);
  try {
    if (privateStorage !== undefined) {
      await makePrivateRuntime(path.resolve(sourceBinDir, '..', '..', '..', '..'), privateStorage, isProviderFile, host);
      await checkBinDir(binDir);
    }
    const url = packageUrl(version, options.feedUrl);
    const nupkg = path.join(cacheDir, packageFileName(version));
    const nupkgSha256 = await obtainPackage(url, nupkg, options);
    const workDir = path.join(cacheDir, `unpacked-${version}`);
    await fsp.rm(workDir, { recursive: true, force: true });
    await fsp.mkdir(workDir, { recursive: true });
    let record: CudaProviderRecord;
    try {
      const unpacked = await unpackProviderFiles(nupkg, workDir, binDir, options);
      record = {
        format: RECORD_FORMAT,
        package: NUGET_PACKAGE_ID,
        version,
        url,
        nupkgSha256,
        installedAt: new Date().toISOString(),
        files: unpacked.map(({ name, size, sha256, crc32 }) => ({ name, size, sha256, crc32 })),
      };
      await placeFiles(binDir, unpacked, record, options);
    } finally {
      await fsp.rm(workDir, { recursive: true, force: true });
    }
    if (!options.keepPackage) await fsp.rm(nupkg, { force: true });
    return { binDir, version, alreadyInstalled: false, record, requirements: await requirementsIn(binDir), privateRuntime };
  } finally {
    await release();
  }
}

/** Removes the provider files (whoever installed them), the record and any leftovers of an interrupted install. */
export async function removeCudaProvider(ortBinDir?: string, host: Platform = HOST): Promise<{ readonly removed: readonly string[] }> {
  if (notApplicableReason(host) !== undefined) return { removed: [] };
  const binDir = path.resolve(ortBinDir ?? defaultOrtBinDir(host));
  let names: string[];
  try {
    names = await fsp.readdir(binDir);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { removed: [] };
    throw err;
  }
  const removed: string[] = [];
  // The record goes last: while any file is left, it still says where they came from.
  const targets = names.filter(isProviderFile).sort((a, b) => Number(a === RECORD_NAME) - Number(b === RECORD_NAME));
  for (const name of targets) {
    const file = path.join(binDir, name);
    try {
      await fsp.rm(file, { force: true });
    } catch (err) {
      throw writeFailure(err, binDir);
    }
    removed.push(file);
  }
  return { removed };
}

/** Formats a progress report for a notification: a fraction for the bar (when known) and a line of text. */
export function describeCudaInstallProgress(p: CudaInstallProgress): { readonly fraction: number | undefined; readonly message: string } {
  const detail = formatDownloadProgress(p.received, p.total, p.bytesPerSecond);
  const what = { download: 'Downloading the CUDA provider', verify: 'Checking the downloaded package', extract: 'Unpacking', install: 'Installing' }[p.phase];
  return { fraction: downloadFraction(p.received, p.total), message: `${what}: ${detail}` };
}

// ---------------------------------------------------------------------------------------------------

async function checkBinDir(binDir: string): Promise<void> {
  let stats;
  try {
    stats = await fsp.stat(binDir);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw folderMissing(binDir, 'does not exist');
    throw writeFailure(err, binDir);
  }
  if (!stats.isDirectory()) throw folderMissing(binDir, 'is not a folder');
  if (!(await isFile(path.join(binDir, ORT_LIBRARY)))) throw folderMissing(binDir, `has no ${ORT_LIBRARY}`);
  // Mode bits say nothing reliable (root, ACLs, read-only mounts): trying is the only honest test.
  const probe = path.join(binDir, `${TEMP_PREFIX}write-test-${process.pid}${TEMP_SUFFIX}`);
  try {
    const handle = await fsp.open(probe, 'w');
    await handle.close();
  } catch (err) {
    throw writeFailure(err, binDir);
  }
  await fsp.rm(probe, { force: true });
}

async function installedRecord(binDir: string, version: string): Promise<CudaProviderRecord | undefined> {
  const record = await readRecord(binDir);
  if (!record || record.version !== version) return undefined;
  for (const name of CUDA_PROVIDER_FILES) {
    const expected = record.files.find((f) => f.name === name);
    const stats = await fsp.stat(path.join(binDir, name)).catch(() => undefined);
    if (!expected || !stats?.isFile() || stats.size !== expected.size) return undefined;
  }
  return record;
}

/**
 * What the installed provider still needs from the machine, checked now: for a UI that lets the user
 * look again after installing CUDA or cuDNN, without reinstalling anything.
 */
export async function checkCudaRequirements(ortBinDir?: string, host: Platform = HOST): Promise<CudaRequirements> {
  return requirementsIn(path.resolve(ortBinDir ?? defaultOrtBinDir(host)));
}

async function requirementsIn(binDir: string): Promise<CudaRequirements> {
  const needed = await readNeededLibraries(path.join(binDir, CUDA_PROVIDER_LIBRARY));
  const { libraries } = describeRequirements(needed);
  const unresolved = await findUnresolvedLibraries([...libraries, DRIVER_LIBRARY], [binDir]);
  return describeRequirements(needed, unresolved);
}

/** The .nupkg in the cache, downloaded (or resumed) when not already complete there; returns its SHA-256. */
async function obtainPackage(url: string, nupkg: string, options: InstallOptions): Promise<string> {
  const report = progressReporter(options);
  const stats = await fsp.stat(nupkg).catch(() => undefined);
  if (stats?.isFile()) {
    const size = stats.size;
    // A complete download from an earlier, interrupted install: hashing it costs a second, downloading it again minutes.
    const hash = createHash('sha256');
    const throttle = new ProgressThrottle(report('verify'), size, PROGRESS_INTERVAL_MS);
    throttle.start(0);
    await hashFilePrefix(nupkg, size, hash, { signal: options.signal, onChunk: (n) => throttle.update(n) });
    throttle.finish(size);
    return hash.digest('hex');
  }
  const result = await downloadFile(url, nupkg, {
    signal: options.signal,
    onProgress: report('download'),
    progressIntervalMs: PROGRESS_INTERVAL_MS,
    label: path.basename(nupkg),
    ...(options.fetchTimeoutMs !== undefined ? { fetchTimeoutMs: options.fetchTimeoutMs } : {}),
  });
  return result.sha256;
}

function progressReporter(options: InstallOptions): (phase: CudaInstallPhase) => (received: number, total: number | undefined, bytesPerSecond: number) => void {
  return (phase) => (received, total, bytesPerSecond) => options.onProgress?.({ phase, received, total, bytesPerSecond });
}

/** Unpacks the three files from the package into workDir, each checked against the zip directory. */
async function unpackProviderFiles(nupkg: string, workDir: string, binDir: string, options: InstallOptions): Promise<Unpacked[]> {
  const { signal } = options;
  let handle: FileHandle | undefined;
  // Set when the package itself is at fault, so the next attempt downloads it again rather than reusing it.
  let discard = false;
  try {
    handle = await fsp.open(nupkg, 'r');
    const size = (await handle.stat()).size;
    let zip: ZipReader;
    try {
      zip = await ZipReader.open(handle, size, path.basename(nupkg));
    } catch (err) {
      if (err instanceof UserError) {
        discard = true;
        throw packageProblem(nupkg, `is not a readable zip archive (${clause(err.message)})`);
      }
      throw err;
    }
    const entries: ZipEntry[] = [];
    const absent: string[] = [];
    for (const name of CUDA_PROVIDER_FILES) {
      const entry = zip.find(PACKAGE_NATIVE_DIR + name);
      if (entry) entries.push(entry);
      else absent.push(PACKAGE_NATIVE_DIR + name);
    }
    if (absent.length > 0) {
      discard = true;
      throw packageProblem(nupkg, `does not contain ${absent.join(', ')}`);
    }
    const unsupported = entries.find((e) => e.method !== METHOD_DEFLATED && e.method !== METHOD_STORED);
    if (unsupported) {
      discard = true;
      throw packageProblem(nupkg, `stores ${unsupported.name} with zip compression method ${unsupported.method}, which Image to 3D cannot unpack`);
    }

    const total = entries.reduce((sum, e) => sum + e.size, 0);
    await ensureSpace(workDir, binDir, total);

    const throttle = new ProgressThrottle(progressReporter(options)('extract'), total, PROGRESS_INTERVAL_MS);
    throttle.start(0);
    const unpacked: Unpacked[] = [];
    let before = 0;
    for (const entry of entries) {
      const name = path.posix.basename(entry.name);
      const dest = path.join(workDir, name);
      const hash = createHash('sha256');
      try {
        await zip.extractToFile(entry, dest, {
          signal,
          onData: (chunk) => hash.update(chunk),
          onProgress: (written) => throttle.update(before + written),
        });
      } catch (err) {
        if (err instanceof ZipIntegrityError) {
          discard = true;
          throw new UserError(
            `The CUDA provider package ${path.basename(nupkg)} is damaged: ${entry.name} failed its CRC-32 and size check against the zip directory (${clause(err.message)}). Nothing was installed.`,
            'The damaged package has been deleted. Run the installation again to download it afresh; if this keeps happening, a proxy may be altering the download.',
            'checksum-mismatch',
          );
        }
        if (err instanceof UserError) {
          // The reader's own complaints (truncated data, a local header that disagrees) also mean a bad package.
          discard = true;
          throw packageProblem(nupkg, `could not be unpacked (${clause(err.message)})`);
        }
        throw writeFailure(err, workDir);
      }
      before += entry.size;
      unpacked.push({ name, path: dest, size: entry.size, sha256: hash.digest('hex'), crc32: entry.crc32 });
    }
    throttle.finish(total);
    return unpacked;
  } finally {
    await handle?.close().catch(() => undefined);
    if (discard) await fsp.rm(nupkg, { force: true });
  }
}

/** The files exist twice at one point, unpacked in the cache and copied into the ORT folder: a drive holding both needs room for both. */
async function ensureSpace(workDir: string, binDir: string, bytes: number): Promise<void> {
  const [work, bin] = await Promise.all([spaceOn(workDir), spaceOn(binDir)]);
  if (work && bin && work.device === bin.device) {
    if (work.free < 2 * bytes) throw diskFull(workDir, work.free, 2 * bytes);
    return;
  }
  if (work && work.free < bytes) throw diskFull(workDir, work.free, bytes);
  if (bin && bin.free < bytes) throw diskFull(binDir, bin.free, bytes);
}

async function spaceOn(dir: string): Promise<{ free: number; device: number } | undefined> {
  try {
    const [fs, stats] = await Promise.all([fsp.statfs(dir), fsp.stat(dir)]);
    return { free: fs.bavail * fs.bsize, device: stats.dev };
  } catch {
    // Some file systems cannot say; running out is still caught when a write fails.
    return undefined;
  }
}

/**
 * Copies the unpacked files into the ORT folder under temporary names, flushes them, then renames them
 * into place and writes the record the same way. Cancellation is honoured up to the first rename; from
 * there the renames run to the end, as stopping between them would leave a mixed set.
 */
async function placeFiles(binDir: string, unpacked: readonly Unpacked[], record: CudaProviderRecord, options: InstallOptions): Promise<void> {
  const { signal } = options;
  const staged = new Map<string, string>();
  const total = unpacked.reduce((sum, f) => sum + f.size, 0);
  const throttle = new ProgressThrottle(progressReporter(options)('install'), total, PROGRESS_INTERVAL_MS);
  throttle.start(0);
  let copied = 0;
  try {
    for (const file of unpacked) {
      throwIfAborted(signal);
      const temp = tempName(binDir, file.name);
      staged.set(file.name, temp);
      try {
        await fsp.copyFile(file.path, temp, fsConstants.COPYFILE_EXCL);
        // Shared libraries are conventionally executable; dlopen does not need it, some tools look for it.
        await fsp.chmod(temp, 0o755);
        await syncFile(temp);
      } catch (err) {
        throw writeFailure(err, binDir);
      }
      copied += file.size;
      // One report per file, never throttled away: a copy has no progress of its own, and there are three.
      throttle.finish(copied);
    }
    const recordTemp = tempName(binDir, RECORD_NAME);
    staged.set(RECORD_NAME, recordTemp);
    try {
      await fsp.writeFile(recordTemp, JSON.stringify(record, null, 2) + '\n', { flag: 'wx' });
      await syncFile(recordTemp);
    } catch (err) {
      throw writeFailure(err, binDir);
    }
    if (signal?.aborted) throw new CancelledError();

    for (const name of [...CUDA_PROVIDER_FILES, RECORD_NAME]) {
      const temp = staged.get(name);
      if (temp === undefined) continue;
      try {
        await fsp.rename(temp, path.join(binDir, name));
      } catch (err) {
        throw writeFailure(err, binDir);
      }
      staged.delete(name);
    }
    await syncDirectory(binDir);
    throttle.finish(total);
  } finally {
    for (const temp of staged.values()) await fsp.rm(temp, { force: true }).catch(() => undefined);
  }
}

function tempName(dir: string, name: string): string {
  const nonce = Math.random().toString(36).slice(2, 10);
  return path.join(dir, `${TEMP_PREFIX}${name}.${process.pid}.${nonce}${TEMP_SUFFIX}`);
}

/** A provider file, its record, or a leftover of an interrupted install: what this module puts in a bin folder. */
export function isProviderFile(name: string): boolean {
  return (CUDA_PROVIDER_FILES as readonly string[]).includes(name) || name === RECORD_NAME || isOurTemp(name);
}

function isOurTemp(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);
}

async function isFile(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Exposed for tests and for a UI that wants to show how far an interrupted download got. */
export function packagePartPath(cacheDir: string, version: string): string {
  return partPathFor(path.join(path.resolve(cacheDir), packageFileName(version)));
}
