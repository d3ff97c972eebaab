/**
 * Where the network comes from, and getting it ready: a folder with an ONNX pair is used as it is; a
 * TripoSR checkpoint (the user's own file, or the one the model store downloads) is verified and
 * converted once into an ONNX pair, cached by the checkpoint's hash, the builder's version and the
 * precision. Returns the folder loadModel() opens.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import manifestJson from '../../../models/manifest.json';
import { UserError } from '../errors.js';
import { throwIfAborted, type ProgressSink } from '../progress.js';
import { openCheckpoint, sha256File } from './checkpoint/torchCheckpoint.js';
import { parseManifest, downloadableModel } from './store/manifest.js';
import { storeFor, storeProgress } from './store/modelStore.js';
import { formatBytes } from './store/progressFormat.js';
import { BUILDER_VERSION, MANIFEST_FILE, convertCheckpoint, type Precision } from './triposr/convert.js';
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

export function triposrManifest(): ReturnType<typeof downloadableModel> {
  return downloadableModel(parseManifest(manifestJson), TRIPOSR_ID);
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
  const entry = triposrManifest();
  const report = options.onProgress ?? (() => undefined);
  const status = await store.status();
  if (status.state === 'missing' || status.state === 'partial') {
    if (!spec.allowDownload) {
      throw new UserError(
        status.state === 'partial'
          ? `TripoSR's weights are only partly downloaded (${formatBytes(status.bytes)} in ${store.dir}).`
          : `TripoSR's weights are not downloaded yet (about 1.7 GB, into ${store.dir}).`,
        [{ action: 'download-model' }, ' to fetch them; an interrupted download resumes.'],
        'model-missing',
      );
    }
    options.log?.(`Downloading TripoSR into ${store.dir}.`);
    await store.ensureDownloaded(entry, {
      urlOverrides: spec.urlOverrides,
      signal: options.signal,
      whenBusy: 'wait',
      onProgress: (p) => report(storeProgress(p)),
    });
  }
  const record = await store.verify({ signal: options.signal, onProgress: (p) => report(storeProgress(p)) });
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
  const sha256 = await checkpointHash(spec.checkpointPath, options);
  // Beside the checkpoint when that folder is writable, as users expect a cache next to its source.
  const beside = path.join(path.dirname(spec.checkpointPath), '.image-to-3d');
  const cacheRoot = (await writable(beside)) ? beside : path.join(spec.cacheDir, CONVERTED_FOLDER);
  return convertOnce(spec.checkpointPath, spec.configPath, sha256, cacheRoot, options);
}

/** The checkpoint's SHA-256, remembered per size and modification time so 1.7 GB is hashed once. */
async function checkpointHash(file: string, options: PrepareOptions): Promise<string> {
  const stats = await fs.stat(file);
  const memo = path.join(path.dirname(file), '.image-to-3d', `${path.basename(file)}.sha256.json`);
  const stamp = `${stats.size}:${stats.mtimeMs}`;
  try {
    const saved = JSON.parse(await fs.readFile(memo, 'utf8')) as { stamp?: unknown; sha256?: unknown };
    if (saved.stamp === stamp && typeof saved.sha256 === 'string') return saved.sha256;
  } catch {
    // No memo yet, or an unreadable one: hash again.
  }
  const report = options.onProgress ?? (() => undefined);
  const sha256 = await sha256File(
    file,
    (done: number) =>
      report({ stage: 'model', fraction: stats.size > 0 ? done / stats.size : 1, message: `Checking ${path.basename(file)} (${formatBytes(done)} of ${formatBytes(stats.size)})` }),
    options.signal,
  );
  await fs
    .mkdir(path.dirname(memo), { recursive: true })
    .then(() => fs.writeFile(memo, JSON.stringify({ stamp, sha256 })))
    .catch(() => undefined);
  return sha256;
}

async function convertOnce(
  checkpointPath: string,
  configPath: string,
  sha256: string,
  cacheRoot: string,
  options: PrepareOptions,
): Promise<string> {
  const precision = await resolvePrecision(options.precision, options.executionProviders);
  const outDir = path.join(cacheRoot, `${sha256.slice(0, 16)}-b${BUILDER_VERSION}-${precision}`);
  if (await isConverted(outDir)) return outDir;
  throwIfAborted(options.signal);
  const report = options.onProgress ?? (() => undefined);
  options.log?.(`Converting ${checkpointPath} to ONNX (${precision}) in ${outDir}.`);
  report({ stage: 'convert', fraction: 0, message: 'Converting TripoSR to ONNX (once)' });
  const source = await openCheckpoint(checkpointPath);
  try {
    await convertCheckpoint({
      source,
      configText: await fs.readFile(configPath, 'utf8'),
      outDir,
      precision,
      signal: options.signal,
      onProgress: (p) =>
        report({
          stage: 'convert',
          fraction: p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1,
          message: `Converting TripoSR to ONNX (once): ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
        }),
    });
  } finally {
    await source.close();
  }
  return outDir;
}

async function isConverted(dir: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as { builderVersion?: unknown };
    return manifest.builderVersion === BUILDER_VERSION;
  } catch {
    return false;
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
