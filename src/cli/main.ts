/**
 * The command line over the same pipeline the extension runs:
 *   node dist/cli.js <image> [--out DIR] [--formats glb,dxf,step] [--model DIR] …
 *   node dist/cli.js <mesh.obj|stl|ply|glb|gltf> [--formats step,dxf] [--up y|z] [--units mm|cm|m|in] …
 * Progress goes to stderr, the written files to stdout (one per line), so the output pipes cleanly.
 */
import { ONNXRUNTIME_PACKAGE_ENV, installedPrivateRuntime, privateRuntimeStorage } from '../pipeline/network/runtimeLocation.js';
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import type { CadMeshReport, GenerateRequest } from '../pipeline/run.js';
import { runGeneration } from '../pipeline/generate.js';
import { OpenModels } from '../pipeline/network/openModels.js';
import type { ModelSpec, PrecisionSetting } from '../pipeline/network/modelSource.js';
import { defaultCliCacheDir } from '../pipeline/network/store/modelStore.js';
import { describeCudaInstallProgress, installCudaProvider, notApplicableReason } from '../pipeline/network/cudaProvider/install.js';
import { convertMeshFile, type ConvertRequest } from '../pipeline/convert.js';
import { LENGTH_UNITS, meshFormatOfPath, MESH_FILE_EXTENSIONS, type LengthUnit, type UpAxis } from '../pipeline/readers/formats.js';
import type { MeshMetrics } from '../pipeline/mesh/metrics.js';
import { CAD_TOLERANCE_AUTO_SHARE, CONVERT_DEFAULTS, GENERATE_DEFAULTS, GENERATE_LIMITS, PRECISION_SETTINGS, parseExecutionProviders, type NumberLimits, type NumericGenerateOption } from '../pipeline/generateOptions.js';
import { DXF_ENTITY_KINDS, parseOutputFormats, type DxfEntityKind } from '../pipeline/writers/outputs.js';
import { OUTPUT_FORMAT_IDS } from '../pipeline/writers/outputFormats.js';
import type { ExistingFilePolicy } from '../pipeline/writers/safeWrite.js';
import { hintText } from '../pipeline/hint.js';
import { toFailure, type JobFailure } from '../pipeline/failure.js';
import type { Progress } from '../pipeline/progress.js';
import { CLI_HINT_WORDS } from './hintWords.js';
import { ProgressBar } from './progressBar.js';
import { CLI_VERSION } from './version.js';
import type { LogSink } from '../pipeline/log.js';
import { BACKGROUND_MODES, type BackgroundMode } from '../pipeline/image/backgroundOptions.js';
import { SEGMENTATION_NETWORKS, type SegmentationNetwork } from '../pipeline/image/segmentation.js';
import type { SegmentationModelSpec } from '../pipeline/network/segmentationSource.js';
import { INPUT_IMAGE_SUFFIXES } from '../pipeline/writers/outputs.js';

/** What each exit status means; main() returns these, the help and the README list them. */
const EXIT = { done: 0, userError: 1, usage: 2, bug: 70, cancelled: 130 } as const;

const EXIT_CODES_HELP = `Exit codes: ${EXIT.done} done, ${EXIT.userError} a problem you can fix (the message says what to do), ${EXIT.usage} bad usage,
            ${EXIT.bug} a bug (please report it, with the message), ${EXIT.cancelled} cancelled (Ctrl+C).`;

const USAGE = `Usage: image-to-3d <image> [options]
       image-to-3d <mesh file> [options]

Turns an image into a 3D model and writes <image name>.glb/.dxf/.step next to it; or converts a mesh
file (${MESH_FILE_EXTENSIONS.map((e) => `.${e}`).join(' ')}) to the chosen formats, keeping its size and position.

Options:
  --out DIR              write the files into DIR instead of the source's folder
  --formats LIST         comma-separated: ${OUTPUT_FORMAT_IDS.join(',')}
                         (default: ${GENERATE_DEFAULTS.formats.join(',')} for an image, ${CONVERT_DEFAULTS.formats.join(',')} for a mesh file;
                         never the source's own format)
  --dxf KIND             DXF entities: 3dface (R12), polyface (R12, compact) or mesh (R2010 MESH)
                         (default ${GENERATE_DEFAULTS.dxfEntity})
  --existing POLICY      when an output exists: fail (default), suffix, overwrite

Image options:
  --model WHAT           the network: a folder with encoder.onnx + decoder.onnx, a TripoSR model.ckpt
                         (config.yaml beside it), or "standin" for the built-in demonstration model
                         (default: TripoSR, downloaded once into the cache and converted to ONNX)
  --cache DIR            where downloads and converted models live (default: ${defaultCliCacheDir()})
  --no-download          fail instead of downloading TripoSR when it is not in the cache
  --model-url NAME=URL   download a model file (config.yaml, model.ckpt, or a background network's
                         file such as u2net.onnx) from URL instead (a mirror); repeatable. A mirror must
                         serve the published bytes: each file is checked against its pinned SHA-256
  --model-manifest FILE  TripoSR's files and their pins (size, SHA-256) from FILE, in the format of
                         models/manifest.json, instead of the published ones: weights you vouch for
  --background MODE      ${BACKGROUND_MODES.join(', ')}: remove the background with a segmentation network
                         (auto: unless the image has real transparency; remove: always; keep: never,
                         the whole picture is the object; default ${GENERATE_DEFAULTS.backgroundMode})
  --background-network N ${SEGMENTATION_NETWORKS.join(', ')} (default ${GENERATE_DEFAULTS.backgroundNetwork});
                         downloaded once into the cache, like TripoSR
  --background-model FILE  use this ONNX file of the background network instead of downloading it
  --foreground-ratio R   share of the square frame the object fills ${numberHelp('foregroundRatio', ", TripoSR's")}
  --save-input           also write <name>.${INPUT_IMAGE_SUFFIXES.input} (the ${'512²'} image the network took) and
                         <name>.${INPUT_IMAGE_SUFFIXES.mask} (the object's mask at the image's size)
  --precision P          precision of the converted encoder: ${PRECISION_SETTINGS.join(', ')} (default ${GENERATE_DEFAULTS.precision})
  --resolution N         grid points per axis for the surface ${numberHelp('resolution')}
  --threshold T          density at the surface ${numberHelp('threshold')}
  --dense                query every grid point instead of refining near the surface only
  --smooth N             Taubin smoothing passes ${numberHelp('smoothingIterations', '; 0 = off')}
  --floaters F           drop pieces under this fraction of the largest's area ${numberHelp('floaterFraction')}
  --triangles N          simplify to about N triangles ${numberHelp('targetTriangles', '; 0 = keep all')}
  --size MM              length of the longest side in millimetres ${numberHelp('longestSideMm')}
  --cad-tolerance MM     STEP and DXF: simplify the full-resolution mesh while every point stays within
                         MM of it, both ways ${numberHelp('cadTolerance', `; 0 = auto, ${100 * CAD_TOLERANCE_AUTO_SHARE}% of the longest side`)}
  --providers LIST       execution providers in order, e.g. cuda,cpu (default ${GENERATE_DEFAULTS.executionProviders})
  --install-cuda         (no image) fetch ONNX Runtime's CUDA provider from NuGet for NVIDIA GPUs on
                         Linux, and say which CUDA/cuDNN libraries it still needs

Mesh file options:
  --up AXIS              the file's up axis: y or z (default: y for glTF, z for OBJ, STL and PLY)
  --units UNIT           the file's length unit: ${LENGTH_UNITS.join(', ')} (default: m for glTF, mm otherwise)
  --triangles N          simplify GLB, OBJ, STL and PLY to about N triangles (default: as the file has them)
  --cad-tolerance MM     as above, measured on the file's mesh in millimetres

  --verbose              also print details: each execution provider's full error, where models load from
  --version              print the version and exit
  -h, --help             show this help

${EXIT_CODES_HELP}
`;

/** Returns the exit code (EXIT). */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        formats: { type: 'string' },
        model: { type: 'string' },
        cache: { type: 'string' },
        'no-download': { type: 'boolean' },
        'model-url': { type: 'string', multiple: true },
        'model-manifest': { type: 'string' },
        precision: { type: 'string' },
        resolution: { type: 'string' },
        threshold: { type: 'string' },
        dense: { type: 'boolean' },
        smooth: { type: 'string' },
        floaters: { type: 'string' },
        triangles: { type: 'string' },
        size: { type: 'string' },
        'cad-tolerance': { type: 'string' },
        existing: { type: 'string' },
        providers: { type: 'string' },
        dxf: { type: 'string' },
        up: { type: 'string' },
        units: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        verbose: { type: 'boolean' },
        'install-cuda': { type: 'boolean' },
        background: { type: 'string' },
        'background-network': { type: 'string' },
        'background-model': { type: 'string' },
        'foreground-ratio': { type: 'string' },
        'save-input': { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.done;
  }
  if (values.version) {
    process.stdout.write(`${CLI_VERSION}\n`);
    return EXIT.done;
  }
  if (values['install-cuda']) return installCuda(path.resolve(values.cache ?? defaultCliCacheDir()));
  useInstalledOnnxRuntimeCopy(path.resolve(values.cache ?? defaultCliCacheDir()));
  if (positionals.length !== 1) {
    process.stderr.write(`Expected one image or mesh file, got ${positionals.length}.\n\n${USAGE}`);
    return EXIT.usage;
  }
  const meshFormat = meshFormatOfPath(positionals[0]);
  if (meshFormat) return convertFromCli(path.resolve(positionals[0]), meshFormat, values);

  let request: GenerateRequest;
  let providers: readonly string[] | 'auto';
  let spec: ModelSpec;
  let precision: PrecisionSetting;
  try {
    request = {
      imagePath: path.resolve(positionals[0]),
      outDir: values.out ? path.resolve(values.out) : undefined,
      formats: values.formats ? parseOutputFormats(values.formats) : [...GENERATE_DEFAULTS.formats],
      dxfEntity: parseDxfEntity(values.dxf, GENERATE_DEFAULTS.dxfEntity),
      resolution: parseNumber('--resolution', values.resolution, 'resolution'),
      threshold: parseNumber('--threshold', values.threshold, 'threshold'),
      sampling: values.dense ? 'dense' : GENERATE_DEFAULTS.sampling,
      smoothingIterations: parseNumber('--smooth', values.smooth, 'smoothingIterations'),
      floaterFraction: parseNumber('--floaters', values.floaters, 'floaterFraction'),
      targetTriangles: parseNumber('--triangles', values.triangles, 'targetTriangles'),
      longestSideMm: parseNumber('--size', values.size, 'longestSideMm'),
      cadTolerance: parseNumber('--cad-tolerance', values['cad-tolerance'], 'cadTolerance'),
      existing: parseExisting(values.existing),
      background: {
        mode: parseBackgroundMode(values.background),
        model: backgroundModelSpec(values['background-network'], values['background-model'], {
          cacheDir: path.resolve(values.cache ?? defaultCliCacheDir()),
          allowDownload: !values['no-download'],
          urlOverrides: parseUrlOverrides(values['model-url'] ?? []),
        }),
      },
      foregroundRatio: parseNumber('--foreground-ratio', values['foreground-ratio'], 'foregroundRatio'),
      saveInput: values['save-input'] === true,
    };
    providers = parseExecutionProviders(values.providers ?? 'auto');
    precision = parsePrecision(values.precision);
    spec = modelSpec(values.model, {
      cacheDir: path.resolve(values.cache ?? defaultCliCacheDir()),
      allowDownload: !values['no-download'],
      urlOverrides: parseUrlOverrides(values['model-url'] ?? []),
      ...(values['model-manifest'] !== undefined ? { manifestFile: path.resolve(values['model-manifest']) } : {}),
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT.usage;
  }

  const builtIn = values.model === STANDIN;
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    process.stderr.write('\nCancelling… (press Ctrl+C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar(process.stderr);
  const log = cliLog(bar, values.verbose === true);
  const models = new OpenModels(log);
  try {
    if (builtIn) bar.log('Using the built-in stand-in model (a demonstration shape from the image, not a reconstruction).');
    const started = performance.now();
    const result = await runGeneration(
      { request, model: { spec, precision, executionProviders: providers } },
      { models, signal: abort.signal, onProgress: (p: Progress) => bar.update(p), log },
    );
    bar.done();
    process.stderr.write(`${describeMetrics(result.metrics)}, ${((performance.now() - started) / 1000).toFixed(1)} s on ${result.provider}\n`);
    if (result.cad) process.stderr.write(`${describeCadMesh(result.cad)}\n`);
    process.stderr.write(
      result.input.backgroundRemovedWith
        ? `Background removed with ${result.input.backgroundRemovedWith}: the object covers ${(100 * result.input.objectShare).toFixed(1)}% of the image.\n`
        : `Background kept: ${request.background?.mode === 'keep' ? 'as asked' : 'the image has its own transparency'}.\n`,
    );
    const p = result.processing;
    const changes = [
      p.removedComponents > 0 ? `removed ${p.removedComponents} floater(s)` : '',
      p.closedHoles > 0 ? `closed ${p.closedHoles} hole(s)` : '',
      p.decimatedFrom !== undefined ? `simplified from ${p.decimatedFrom.toLocaleString('en')} triangles` : '',
    ].filter(Boolean);
    if (changes.length > 0) process.stderr.write(`Mesh: ${changes.join(', ')}.\n`);
    const dense = request.resolution ** 3;
    process.stderr.write(
      `Sampling: ${result.sampling.queries.toLocaleString('en')} density queries (${((100 * result.sampling.queries) / dense).toFixed(1)}% of a dense grid)` +
        `${result.sampling.repair && result.sampling.repair.surprises > 0 ? `; ${result.sampling.repair.surprises.toLocaleString('en')} point(s) hidden between coarse samples were found and their neighbourhoods sampled in full (${result.sampling.repair.repairQueries.toLocaleString('en')} queries)` : ''}.\n`,
    );
    for (const file of result.files) process.stdout.write(`${file}\n`);
    return EXIT.done;
  } catch (err) {
    bar.done();
    return reportFailure(err);
  } finally {
    process.off('SIGINT', onSigint);
    await models.dispose();
  }
}

type ParsedValues = {
  readonly out?: string;
  readonly formats?: string;
  readonly existing?: string;
  readonly dxf?: string;
  readonly up?: string;
  readonly units?: string;
  readonly triangles?: string;
  readonly 'cad-tolerance'?: string;
};

/** Mesh file in, chosen formats out, written next to it: no network involved. */
async function convertFromCli(meshPath: string, sourceFormat: string, values: ParsedValues): Promise<number> {
  let request: ConvertRequest;
  try {
    request = {
      meshPath,
      outDir: values.out ? path.resolve(values.out) : undefined,
      formats: values.formats ? parseOutputFormats(values.formats) : CONVERT_DEFAULTS.formats.filter((f) => f !== sourceFormat),
      up: parseUpAxis(values.up),
      units: parseUnits(values.units),
      dxfEntity: parseDxfEntity(values.dxf, CONVERT_DEFAULTS.dxfEntity),
      cadTolerance: values['cad-tolerance'] === undefined ? CONVERT_DEFAULTS.cadTolerance : parseNumber('--cad-tolerance', values['cad-tolerance'], 'cadTolerance'),
      targetTriangles: values.triangles === undefined ? CONVERT_DEFAULTS.targetTriangles : parseNumber('--triangles', values.triangles, 'targetTriangles'),
      existing: parseExisting(values.existing),
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT.usage;
  }
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar(process.stderr);
  try {
    const started = performance.now();
    const result = await convertMeshFile(request, { signal: abort.signal, onProgress: (p: Progress) => bar.update(p) });
    bar.done();
    process.stderr.write(`${describeMetrics(result.metrics)}, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    if (result.cad) process.stderr.write(`${describeCadMesh(result.cad)}\n`);
    for (const note of result.notes) process.stderr.write(`${note}.\n`);
    for (const file of result.files) process.stdout.write(`${file}\n`);
    return EXIT.done;
  } catch (err) {
    bar.done();
    return reportFailure(err);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The library's log lines above the bar: its details ('debug') only with --verbose. */
function cliLog(bar: ProgressBar, verbose: boolean): LogSink {
  return (line, level) => {
    if (level !== 'debug' || verbose) bar.log(line);
  };
}

/** What STEP and DXF were written from: the faces a CAD user will wait for. */
function describeCadMesh(cad: CadMeshReport): string {
  const m = cad.metrics;
  return `STEP/DXF mesh within ${cad.toleranceMm.toPrecision(3)} mm: ${m.vertices} vertices, ${m.faces} faces, ${m.watertight ? 'watertight' : 'not watertight'}, volume ${(m.volume / 1000).toFixed(2)} cm³`;
}

function describeMetrics(m: MeshMetrics): string {
  const size = [0, 1, 2].map((a) => (m.bbox.max[a] - m.bbox.min[a]).toFixed(1)).join(' × ');
  return (
    `${m.vertices} vertices, ${m.faces} faces, ${m.components} component(s), ` +
    `${m.watertight ? 'watertight' : `not watertight (${m.boundaryEdges} boundary, ${m.nonManifoldEdges} non-manifold edges)`}, ` +
    `${size} mm, volume ${(m.volume / 1000).toFixed(2)} cm³, area ${(m.area / 100).toFixed(2)} cm²`
  );
}

/** Prints what went wrong and returns the exit code for it. */
function reportFailure(err: unknown): number {
  const failure = toFailure(err);
  switch (failure.kind) {
    case 'cancelled':
      process.stderr.write('Cancelled. Nothing was written.\n');
      return EXIT.cancelled;
    case 'user':
      process.stderr.write(userFailureText(failure));
      return EXIT.userError;
    case 'bug':
      process.stderr.write(`Unexpected failure (a bug; please report it, with this message): ${failure.stack ?? failure.message}\n`);
      return EXIT.bug;
  }
}

/** The message, then what to do about it with the CLI's flags. */
function userFailureText(failure: Extract<JobFailure, { kind: 'user' }>): string {
  return `Error: ${failure.message}\n${hintText(failure.hint, CLI_HINT_WORDS)}\n`;
}

function parseDxfEntity(text: string | undefined, fallback: DxfEntityKind): DxfEntityKind {
  if (text === undefined) return fallback;
  if ((DXF_ENTITY_KINDS as readonly string[]).includes(text)) return text as DxfEntityKind;
  throw new Error(`--dxf takes ${DXF_ENTITY_KINDS.join(', ')}; got "${text}".`);
}

function parseUpAxis(text: string | undefined): UpAxis | undefined {
  if (text === undefined) return undefined;
  if (text === 'y' || text === 'z') return text;
  throw new Error(`--up takes y or z; got "${text}".`);
}

function parseUnits(text: string | undefined): LengthUnit | undefined {
  if (text === undefined) return undefined;
  if ((LENGTH_UNITS as readonly string[]).includes(text)) return text as LengthUnit;
  throw new Error(`--units takes ${LENGTH_UNITS.join(', ')}; got "${text}".`);
}

/** A numeric flag's value, GENERATE_DEFAULTS' when absent; outside GENERATE_LIMITS it is a usage error. */
function parseNumber(flag: string, text: string | undefined, option: NumericGenerateOption): number {
  if (text === undefined) return GENERATE_DEFAULTS[option];
  const limits = GENERATE_LIMITS[option];
  const value = Number(text);
  const bad =
    !Number.isFinite(value) ||
    (limits.integer && !Number.isInteger(value)) ||
    (limits.min !== undefined && value < limits.min) ||
    (limits.max !== undefined && value > limits.max);
  if (bad) {
    const range = [limits.min !== undefined ? `≥ ${limits.min}` : '', limits.max !== undefined ? `≤ ${limits.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new Error(`${flag} takes ${limits.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}; got "${text}".`);
  }
  return value;
}

/** "(32 to 512, default 256)": a numeric option's range and default as the help shows them. */
function numberHelp(option: NumericGenerateOption, note = ''): string {
  const range = rangeText(GENERATE_LIMITS[option]);
  return `(${range ? `${range}, ` : ''}default ${GENERATE_DEFAULTS[option]}${note})`;
}

function rangeText(limits: NumberLimits): string {
  if (limits.min !== undefined && limits.max !== undefined) return `${limits.min} to ${limits.max}`;
  if (limits.min !== undefined) return `≥ ${limits.min}`;
  if (limits.max !== undefined) return `≤ ${limits.max}`;
  return '';
}

function parseExisting(text: string | undefined): ExistingFilePolicy {
  if (text === undefined) return 'fail';
  if (text === 'fail' || text === 'suffix' || text === 'overwrite') return text;
  throw new Error(`--existing takes fail, suffix or overwrite; got "${text}".`);
}

/**
 * When --install-cuda had to put the provider into a private copy of ONNX Runtime (onnxruntime-node's
 * folder was read-only), this run loads that copy; ONNX Runtime is loaded on first use, after this.
 */
function useInstalledOnnxRuntimeCopy(cacheDir: string): void {
  if (process.env[ONNXRUNTIME_PACKAGE_ENV]) return;
  const copy = installedPrivateRuntime(cacheDir);
  if (copy) process.env[ONNXRUNTIME_PACKAGE_ENV] = copy;
}

async function installCuda(cacheDir: string): Promise<number> {
  const notApplicable = notApplicableReason();
  if (notApplicable) {
    process.stderr.write(`${notApplicable}\n`);
    return EXIT.userError;
  }
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar(process.stderr);
  try {
    const result = await installCudaProvider({
      cacheDir: path.join(cacheDir, 'cuda-provider'),
      privateRuntimeStorage: privateRuntimeStorage(cacheDir),
      signal: abort.signal,
      onProgress: (p) => {
        const { fraction, message } = describeCudaInstallProgress(p);
        bar.update({ stage: 'download', fraction: fraction ?? 0, message });
      },
    });
    bar.done();
    const where = result.privateRuntime ? ` (onnxruntime-node's own folder is read-only: runs load ONNX Runtime from this copy)` : '';
    process.stderr.write(`CUDA provider ${result.version} is installed in ${result.binDir}${where}.\n${result.requirements.text}\n`);
    return EXIT.done;
  } catch (err) {
    bar.done();
    const failure = toFailure(err);
    if (failure.kind === 'cancelled') {
      process.stderr.write('Cancelled; run again to resume the download.\n');
      return EXIT.cancelled;
    }
    if (failure.kind === 'user') {
      process.stderr.write(userFailureText(failure));
      return EXIT.userError;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const STANDIN = 'standin';

/** --model: the stand-in, a folder with an ONNX pair, a checkpoint file, or (absent) TripoSR from the cache. */
function modelSpec(
  value: string | undefined,
  managed: { cacheDir: string; allowDownload: boolean; urlOverrides: Record<string, string>; manifestFile?: string },
): ModelSpec {
  if (value === STANDIN) return { kind: 'onnx', dir: path.join(__dirname, 'models', 'standin') };
  if (value === undefined) {
    return {
      kind: 'managed',
      storeDir: managed.cacheDir,
      allowDownload: managed.allowDownload,
      urlOverrides: managed.urlOverrides,
      ...(managed.manifestFile !== undefined ? { manifestFile: managed.manifestFile } : {}),
    };
  }
  const resolved = path.resolve(value);
  if (/\.(ckpt|pt|pth)$/i.test(resolved)) {
    return { kind: 'checkpoint', checkpointPath: resolved, configPath: path.join(path.dirname(resolved), 'config.yaml'), cacheDir: managed.cacheDir };
  }
  return { kind: 'onnx', dir: resolved };
}

function parseBackgroundMode(text: string | undefined): BackgroundMode {
  if (text === undefined) return GENERATE_DEFAULTS.backgroundMode;
  if ((BACKGROUND_MODES as readonly string[]).includes(text)) return text as BackgroundMode;
  throw new Error(`--background takes ${BACKGROUND_MODES.join(', ')}; got "${text}".`);
}

/** --background-network names the network (and so its pre- and post-processing); --background-model a file of it. */
function backgroundModelSpec(
  network: string | undefined,
  file: string | undefined,
  managed: { cacheDir: string; allowDownload: boolean; urlOverrides: Record<string, string> },
): SegmentationModelSpec {
  let chosen: SegmentationNetwork = GENERATE_DEFAULTS.backgroundNetwork;
  if (network !== undefined) {
    if (!(SEGMENTATION_NETWORKS as readonly string[]).includes(network)) {
      throw new Error(`--background-network takes ${SEGMENTATION_NETWORKS.join(', ')}; got "${network}".`);
    }
    chosen = network as SegmentationNetwork;
  }
  if (file !== undefined) return { kind: 'file', file: path.resolve(file), network: chosen };
  return { kind: 'managed', storeDir: managed.cacheDir, network: chosen, allowDownload: managed.allowDownload, urlOverrides: managed.urlOverrides };
}

function parseUrlOverrides(items: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq);
    const url = item.slice(eq + 1);
    if (eq <= 0 || !/^https?:\/\//.test(url)) throw new Error(`--model-url takes NAME=URL (e.g. model.ckpt=https://mirror/model.ckpt); got "${item}".`);
    overrides[name] = url;
  }
  return overrides;
}

function parsePrecision(text: string | undefined): PrecisionSetting {
  if (text === undefined) return GENERATE_DEFAULTS.precision;
  if ((PRECISION_SETTINGS as readonly string[]).includes(text)) return text as PrecisionSetting;
  throw new Error(`--precision takes ${PRECISION_SETTINGS.join(', ')}; got "${text}".`);
}


if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => process.exit(reportFailure(err)),
  );
}
