/**
 * Where the network comes from, and getting it ready: a folder with an ONNX pair is used as it is; a
 * TripoSR checkpoint (the user's own file, or the one the model store downloads) is verified and
 * converted once into an ONNX pair, cached by everything that shapes the graphs (checkpoint, config,
 * builder, precision: triposr/conversionCache.ts) and checked before each use. Returns the folder
 * loadModel() opens.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import manifestJson from '../../../models/manifest.json';
import { UserError } from '../errors.js';
import { throwIfAborted, type ProgressSink } from '../progress.js';
import { openCheckpoint, sha256File } from './checkpoint/torchCheckpoint.js';
import { downloadableModel, loadManifest, parseManifest, type DownloadableManifestModel } from './store/manifest.js';
import { downloadForRun, storeFor, storeProgress } from './store/modelStore.js';
import { formatBytes } from './store/progressFormat.js';
import { conversionKey, inspectConversion, removeSuperseded } from './triposr/conversionCache.js';
import { convertCheckpoint, type Precision } from './triposr/convert.js';
import { probe, providerList } from './providers.js';

export type ModelSpec =
  /** A ready encoder.onnx + decoder.onnx pair (a third-party export, or the built-in stand-in). */
  | { readonly kind: 'onnx'; readonly dir: string }
  /** The user's own TripoSR checkpoint; converted graphs are cached beside it, else under cacheDir. */
  | { readonly kind: 'checkpoint'; readonly checkpointPath: string; readonly configPath: string; readonly cacheDir: string }
  /** TripoSR's official files, downloaded into storeDir on first use. */
  | {
      readonly kind: 'managed';
      readonly storeDir: string;
      readonly urlOverrides?: Readonly<Record<string, string>>;
      /** False: a missing download is an error that says how to get it, not a 1.7 GB surprise. */
      readonly allowDownload: boolean;
      /**
       * A models manifest of the user's own (models/manifest.json's format) naming TripoSR's files and
       * their pins: other weights they vouch for, or test weights. Without it, the published files.
       */
      readonly manifestFile?: string;
    };

export type PrecisionSetting = 'auto' | Precision;

export interface PrepareOptions {
  readonly precision: PrecisionSetting;
  readonly executionProviders: readonly string[] | 'auto';
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressSink;
  readonly log?: (line: string) => void;
}

const CONVERTED_FOLDER = 'converted';
const TRIPOSR_ID = 'triposr';

export function triposrManifest(): DownloadableManifestModel {
  return downloadableModel(parseManifest(manifestJson), TRIPOSR_ID);
}

/** TripoSR's entry in the user's manifest file; its faults are the user's to fix, so UserErrors. */
async function userTriposrManifest(file: string): Promise<DownloadableManifestModel> {
  try {
    const entry = downloadableModel(await loadManifest(file), TRIPOSR_ID);
    if (entry.kind !== 'triposr') throw new Error(`its "${TRIPOSR_ID}" model is of kind "${entry.kind}"`);
    return entry;
  } catch (e) {
    throw new UserError(
      `The model manifest ${file} cannot be used: ${e instanceof Error ? e.message : String(e)}`,
      `Correct it (it takes the format of Image to 3D's models/manifest.json, with a "${TRIPOSR_ID}" model), or leave it out to use the published TripoSR files.`,
      'model-invalid',
    );
  }
}

/** The ONNX folder to load for `spec`, downloading and converting first when needed. */
export async function prepareModel(spec: ModelSpec, options: PrepareOptions): Promise<string> {
  switch (spec.kind) {
    case 'onnx':
      return spec.dir;
    case 'checkpoint':
      return prepareCheckpoint(spec, options);
    case 'managed':
      return prepareManaged(spec, options);
  }
}

/** fp16 weights only pay off on a GPU provider; the CPU runs fp32 faster and more exactly. */
export async function resolvePrecision(setting: PrecisionSetting, executionProviders: readonly string[] | 'auto'): Promise<Precision> {
  if (setting !== 'auto') return setting;
  for (const provider of providerList(executionProviders)) {
    if ((await probe(provider)) === '') return provider === 'cpu' ? 'fp32' : 'fp16';
  }
  return 'fp32';
}


async function prepareManaged(spec: Extract<ModelSpec, { kind: 'managed' }>, options: PrepareOptions): Promise<string> {
  const store = storeFor(spec.storeDir, TRIPOSR_ID);
  const entry = spec.manifestFile === undefined ? triposrManifest() : await userTriposrManifest(spec.manifestFile);
  const report = options.onProgress ?? (() => undefined);
  const status = await store.status(entry);
  if (status.state === 'missing' || status.state === 'partial' || status.state === 'outdated') {
    if (!spec.allowDownload) {
      throw new UserError(
        status.state === 'partial'
          ? `TripoSR's weights are only partly downloaded (${formatBytes(status.bytes)} in ${store.dir}).`
          : status.state === 'outdated'
            ? `The TripoSR files in ${store.dir} are not the published ones (${status.files.join(' and ')}); they must be downloaded again (about 1.7 GB).`
            : `TripoSR's weights are not downloaded yet (about 1.7 GB, into ${store.dir}).`,
        [{ action: 'download-model' }, ' to fetch them; an interrupted download resumes.'],
        'model-missing',
      );
    }
    options.log?.(
      status.state === 'outdated'
        ? `The TripoSR files in ${store.dir} are not the published ones (${status.files.join(' and ')}); downloading them again.`
        : `Downloading TripoSR into ${store.dir}.`,
    );
    await downloadForRun(store, entry, { urlOverrides: spec.urlOverrides, signal: options.signal, report }, [
      'Without a network, the built-in demonstration model (',
      { option: 'model', value: 'standin' },
      ') runs with no download.',
    ]);
  }
  const record = await store.verify({ entry, signal: options.signal, onProgress: (p) => report(storeProgress(p)) });
  const checkpoint = record.files.find((f) => f.name === 'model.ckpt');
  if (!checkpoint) throw new Error('The model record lists no model.ckpt.');
  return convertOnce(
    store.filePath('model.ckpt'),
    store.filePath('config.yaml'),
    checkpoint.sha256,
    path.join(store.dir, CONVERTED_FOLDER),
    options,
  );
}

async function prepareCheckpoint(spec: Extract<ModelSpec, { kind: 'checkpoint' }>, options: PrepareOptions): Promise<string> {
  for (const [file, what] of [
    [spec.checkpointPath, 'checkpoint'],
    [spec.configPath, 'config.yaml'],
  ] as const) {
    const stats = await fs.stat(file).catch(() => undefined);
    if (!stats?.isFile()) {
      throw new UserError(
        `The TripoSR ${what} ${file} does not exist.`,
        what === 'config.yaml'
          ? 'Put the config.yaml that came with the checkpoint beside it.'
          : ['Check ', { option: 'checkpointPath' }, ', or remove it to use the downloaded model.'],
        'model-missing',
      );
    }
  }
  const memo = new HashMemo(spec.checkpointPath);
  const remembered = await memo.read();
  const sha256 = remembered ?? (await hashCheckpoint(spec.checkpointPath, options));
  // Beside the checkpoint when that folder is writable, as users expect a cache next to its source.
  const beside = memo.folder;
  const besideExisted = await fs.stat(beside).then(
    () => true,
    () => false,
  );
  const cacheRoot = (await writable(beside)) ? beside : path.join(spec.cacheDir, CONVERTED_FOLDER);
  try {
    const dir = await convertOnce(spec.checkpointPath, spec.configPath, sha256, cacheRoot, options);
    // Remembered only once the checkpoint has been accepted: a refused file leaves nothing behind.
    if (remembered === undefined) await memo.write(sha256);
    return dir;
  } catch (e) {
    if (remembered === undefined) await memo.forget();
    // The folder goes with the refusal when this call created it or it held only a stale memo; one
    // holding conversions stays, as rmdir removes empty folders only.
    if (!besideExisted || remembered === undefined) await fs.rmdir(beside).catch(() => undefined);
    throw e;
  }
}

/**
 * The checkpoint's SHA-256, remembered beside it per size and modification time so 1.7 GB is hashed
 * once: `.image-to-3d/<name>.sha256.json`.
 */
class HashMemo {
  readonly folder: string;
  private readonly file: string;
  private stampAtRead: string | undefined;

  constructor(private readonly checkpoint: string) {
    this.folder = path.join(path.dirname(checkpoint), '.image-to-3d');
    this.file = path.join(this.folder, `${path.basename(checkpoint)}.sha256.json`);
  }

  /** The remembered hash when the checkpoint is unchanged since, else undefined. */
  async read(): Promise<string | undefined> {
    const stats = await fs.stat(this.checkpoint);
    this.stampAtRead = `${stats.size}:${stats.mtimeMs}`;
    try {
      const saved = JSON.parse(await fs.readFile(this.file, 'utf8')) as { stamp?: unknown; sha256?: unknown };
      if (saved.stamp === this.stampAtRead && typeof saved.sha256 === 'string' && /^[0-9a-f]{64}$/.test(saved.sha256)) return saved.sha256;
    } catch {
      // No memo yet, or an unreadable one: hash again.
    }
    return undefined;
  }

  /** Remembers `sha256` for the checkpoint as read() found it (a file changed since is hashed again next time). */
  async write(sha256: string): Promise<void> {
    await fs
      .mkdir(this.folder, { recursive: true })
      .then(() => fs.writeFile(this.file, JSON.stringify({ stamp: this.stampAtRead, sha256 })))
      .catch(() => undefined);
  }

  async forget(): Promise<void> {
    await fs.rm(this.file, { force: true }).catch(() => undefined);
  }
}

async function hashCheckpoint(file: string, options: PrepareOptions): Promise<string> {
  const { size } = await fs.stat(file);
  const report = options.onProgress ?? (() => undefined);
  return sha256File(
    file,
    (done: number) =>
      report({ stage: 'model', fraction: size > 0 ? done / size : 1, message: `Checking ${path.basename(file)} (${formatBytes(done)} of ${formatBytes(size)})` }),
    options.signal,
  );
}

async function convertOnce(
  checkpointPath: string,
  configPath: string,
  checkpointSha256: string,
  cacheRoot: string,
  options: PrepareOptions,
): Promise<string> {
  const precision = await resolvePrecision(options.precision, options.executionProviders);
  const configText = await fs.readFile(configPath, 'utf8');
  const report = options.onProgress ?? (() => undefined);
  const key = await namingFiles(async () => conversionKey(checkpointSha256, configText, precision), checkpointPath, configPath);
  const outDir = path.join(cacheRoot, key.folderName);
  const cached = await inspectConversion(outDir, key.source, {
    signal: options.signal,
    onHashProgress: (done, total) =>
      report({ stage: 'model', fraction: total > 0 ? done / total : 1, message: `Checking the converted model (${formatBytes(done)} of ${formatBytes(total)})` }),
  });
  if (cached.state === 'ready') return outDir;
  throwIfAborted(options.signal);
  if (cached.state === 'damaged') {
    const line = `The converted model in ${outDir} was damaged (${cached.reason}); converting again.`;
    options.log?.(line);
    report({ stage: 'convert', fraction: 0, message: line });
  }
  options.log?.(`Converting ${checkpointPath} to ONNX (${precision}) in ${outDir}.`);
  report({ stage: 'convert', fraction: 0, message: 'Converting TripoSR to ONNX (once)' });
  const source = await namingFiles(() => openCheckpoint(checkpointPath), checkpointPath, configPath);
  try {
    await namingFiles(
      () =>
        convertCheckpoint({
          source,
          configText,
          outDir,
          precision,
          convertedFrom: key.source,
          signal: options.signal,
          onProgress: (p) =>
            report({
              stage: 'convert',
              fraction: p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1,
              message: `Converting TripoSR to ONNX (once): ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
            }),
        }),
      checkpointPath,
      configPath,
    );
  } finally {
    await source.close();
  }
  for (const dir of await removeSuperseded(cacheRoot, outDir, key.source)) {
    options.log?.(`Removed ${dir}: a conversion of the same checkpoint from another config.yaml or builder version.`);
  }
  return outDir;
}

/**
 * Runs `fn`; a 'model-invalid' refusal from it names the files it is about, as a user may have several
 * checkpoints (and config.yaml's own messages cannot know where it lives).
 */
async function namingFiles<T>(fn: () => Promise<T>, checkpointPath: string, configPath: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof UserError) || e.code !== 'model-invalid') throw e;
    throw new UserError(`${e.message} (checkpoint ${checkpointPath}, config ${configPath})`, e.hint, e.code, e.details);
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const probeFile = path.join(dir, `.probe-${process.pid}`);
    await fs.writeFile(probeFile, '');
    await fs.unlink(probeFile);
    return true;
  } catch {
    return false;
  }
}
