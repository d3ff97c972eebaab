/**
 * Runtime side of the network: loads encoder.onnx + decoder.onnx with onnxruntime-node, checks them
 * against TripoSR's contract, picks an execution provider, and runs them.
 *
 * Provider selection: onnxruntime-node throws when a provider's native library is missing instead of
 * falling back, so each candidate is first probed with a one-node in-memory model. That separates "this
 * provider is unavailable here" (log it, try the next) from "this model file is broken" (a UserError),
 * which the real session's error alone cannot tell apart. A provider that passes the probe but then
 * fails on the real model is also skipped; only a failure on 'cpu', always last, is blamed on the file.
 */
import { constants } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { onnxRuntime, onnxRuntimeSource } from './ort.js';
import { ONNXRUNTIME_PACKAGE_ENV } from './runtimeLocation.js';
import { UserError, type Hint } from '../errors.js';
import { checkContract, IMAGE_LENGTH, IMAGE_SIZE, SCENE_CODES_DIMS, SCENE_CODES_LENGTH } from './contract.js';
import { firstLine, probe, providerList, quietOrt } from './providers.js';
import { providerSummary, shortenNativeMessage, shortReason, type SkippedProvider } from './providerReasons.js';
import type { LogSink } from '../log.js';

export { ENCODER_CONTRACT, DECODER_CONTRACT, IMAGE_SIZE, SCENE_CODES_DIMS } from './contract.js';
export { autoExecutionProviders } from './providers.js';

export interface LoadedModel {
  /** The execution provider both sessions run on ('cpu', 'cuda', …). */
  readonly provider: string;
  /** From model.json's "kind" ('standin' for the generated stand-in), 'unknown' without one. */
  readonly kind: string;
  /** image: [1,3,512,512] RGB in [0,1], planar. Returns scene codes [1,3,40,64,64]. */
  encode(image: Float32Array): Promise<Float32Array>;
  /** points: [1,P,3] world units, any P ≥ 0. Returns density [1,P,1] and color [1,P,3]. */
  decode(sceneCodes: Float32Array, points: Float32Array): Promise<{ density: Float32Array; color: Float32Array }>;
  dispose(): Promise<void>;
}

export interface LoadModelOptions {
  /** Providers to try in order ('cpu' is appended when absent), or 'auto' for the platform's list. */
  executionProviders: readonly string[] | 'auto';
  /** One 'info' line says which provider runs and why those before it did not; the full errors are 'debug'. */
  log?: LogSink;
  intraOpThreads?: number;
}

// ---------------------------------------------------------------------------------------------------
// Loading

const MISSING_HINT: Hint = [
  'Put the TripoSR model files (encoder.onnx and decoder.onnx) in that folder, point ',
  { option: 'modelPath' },
  ' at a folder that has them, or try the built-in stand-in (',
  { option: 'model', value: 'standin' },
  // The stand-in ships with the program, so a missing one means a damaged installation.
  "); if that folder is the stand-in's, ",
  { action: 'reinstall' },
  '.',
];

async function checkFile(path: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`Model file not found: ${path}`, MISSING_HINT, 'model-missing');
    }
    throw new UserError(`Cannot read model file ${path}: ${firstLine(e)}`, 'Check the file and its permissions.', 'model-invalid');
  }
  if (!info.isFile()) {
    throw new UserError(`Model file ${path} is not a file.`, MISSING_HINT, 'model-invalid');
  }
  try {
    await access(path, constants.R_OK);
    // access() trusts permission bits; opening is the real test (e.g. for files on odd mounts).
    await (await open(path, 'r')).close();
  } catch (e) {
    throw new UserError(`Cannot read model file ${path}: ${firstLine(e)}`, 'Check the file and its permissions.', 'model-invalid');
  }
}

async function readKind(dir: string, log: LogSink): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dir, 'model.json'), 'utf8');
  } catch {
    return 'unknown';
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && 'kind' in parsed && typeof parsed.kind === 'string') {
      return parsed.kind;
    }
  } catch {
    // model.json only labels the model; a broken one should not stop a run
  }
  log(`model.json in ${dir} has no readable "kind"; treating the model as 'unknown'.`, 'debug');
  return 'unknown';
}

function sessionOptions(provider: string, options: LoadModelOptions): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  if (options.intraOpThreads !== undefined) o.intraOpNumThreads = options.intraOpThreads;
  return o;
}

class ProviderFailed extends Error {
  constructor(
    message: string,
    /** ONNX Runtime's own first line, for the short reason. */
    readonly detail: string,
  ) {
    super(message);
  }
}

async function createSessions(
  provider: string,
  paths: { encoder: string; decoder: string },
  options: LoadModelOptions,
): Promise<{ encoder: ort.InferenceSession; decoder: ort.InferenceSession }> {
  const create = async (path: string): Promise<ort.InferenceSession> => {
    try {
      return await onnxRuntime().InferenceSession.create(path, sessionOptions(provider, options));
    } catch (e) {
      if (provider !== 'cpu') throw new ProviderFailed(`${provider} could not load ${path}: ${firstLine(e)}`, firstLine(e));
      throw new UserError(
        `Cannot load model file ${path}: ${firstLine(e)}`,
        ['The file is not a valid ONNX model for this runtime. Replace it with an intact export; if it is the built-in stand-in, ', { action: 'reinstall' }, '.'],
        'model-invalid',
      );
    }
  };
  const encoder = await create(paths.encoder);
  try {
    return { encoder, decoder: await create(paths.decoder) };
  } catch (e) {
    await encoder.release();
    throw e;
  }
}

export async function loadModel(dir: string, options: LoadModelOptions): Promise<LoadedModel> {
  const log = options.log ?? ((): void => {});
  try {
    if (!(await stat(dir)).isDirectory()) {
      throw new UserError(`Model folder ${dir} is not a folder.`, MISSING_HINT, 'model-missing');
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`Model folder not found: ${dir}`, MISSING_HINT, 'model-missing');
  }
  const paths = { encoder: join(dir, 'encoder.onnx'), decoder: join(dir, 'decoder.onnx') };
  await checkFile(paths.encoder);
  await checkFile(paths.decoder);
  const kind = await readKind(dir, log);

  quietOrt();
  const skipped: SkippedProvider[] = [];
  for (const provider of providerList(options.executionProviders)) {
    const unavailable = await probe(provider);
    if (unavailable !== '') {
      log(`Execution provider ${provider} is unavailable: ${unavailable}`, 'debug');
      skipped.push({ provider, reason: await shortReason(provider, unavailable) });
      continue;
    }
    let sessions: { encoder: ort.InferenceSession; decoder: ort.InferenceSession };
    try {
      sessions = await createSessions(provider, paths, options);
    } catch (e) {
      if (!(e instanceof ProviderFailed)) throw e;
      log(`${e.message}; trying the next provider.`, 'debug');
      skipped.push({ provider, reason: `could not load the model: ${shortenNativeMessage(e.detail)}` });
      continue;
    }
    try {
      await checkContract(sessions, paths, dir);
    } catch (e) {
      await Promise.all([sessions.encoder.release(), sessions.decoder.release()]);
      throw e;
    }
    log(`Loaded ${kind} model from ${dir} on ${provider}.`, 'debug');
    const runtime = onnxRuntimeSource();
    if (runtime.passedOver) log(runtime.passedOver);
    else if (process.env[ONNXRUNTIME_PACKAGE_ENV]) log(`ONNX Runtime from ${runtime.packageDir} (the copy holding the CUDA provider).`, 'debug');
    log(providerSummary(provider, skipped));
    return new OrtModel(provider, kind, sessions.encoder, sessions.decoder);
  }
  // Only reachable when even the CPU provider fails on a one-node model: a broken installation.
  throw new Error('onnxruntime could not create a session on any execution provider, including cpu.');
}

// ---------------------------------------------------------------------------------------------------
// Running

function outputData(result: ort.InferenceSession.ReturnType, name: string, length: number): Float32Array {
  const value = result[name];
  if (value === undefined || value.type !== 'float32' || !(value.data instanceof Float32Array)) {
    throw new Error(`Model output '${name}' is missing or not float32.`);
  }
  if (value.data.length !== length) {
    throw new Error(`Model output '${name}' has ${value.data.length} values, expected ${length}.`);
  }
  return value.data;
}

class OrtModel implements LoadedModel {
  private disposed = false;

  constructor(
    readonly provider: string,
    readonly kind: string,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
  ) {}

  async encode(image: Float32Array): Promise<Float32Array> {
    this.checkLive();
    if (image.length !== IMAGE_LENGTH) {
      throw new Error(`encode: image must hold 3×${IMAGE_SIZE}×${IMAGE_SIZE} values, got ${image.length}.`);
    }
    const result = await this.encoder.run({ image: new (onnxRuntime().Tensor)('float32', image, [1, 3, IMAGE_SIZE, IMAGE_SIZE]) });
    return outputData(result, 'scene_codes', SCENE_CODES_LENGTH);
  }

  async decode(sceneCodes: Float32Array, points: Float32Array): Promise<{ density: Float32Array; color: Float32Array }> {
    this.checkLive();
    if (sceneCodes.length !== SCENE_CODES_LENGTH) {
      throw new Error(`decode: scene codes must hold ${SCENE_CODES_LENGTH} values, got ${sceneCodes.length}.`);
    }
    if (points.length % 3 !== 0) throw new Error(`decode: points length ${points.length} is not a multiple of 3.`);
    const count = points.length / 3;
    // Empty tensors trip some kernels (and some providers); there is nothing to compute anyway.
    if (count === 0) return { density: new Float32Array(0), color: new Float32Array(0) };
    const result = await this.decoder.run({
      scene_codes: new (onnxRuntime().Tensor)('float32', sceneCodes, [...SCENE_CODES_DIMS]),
      points: new (onnxRuntime().Tensor)('float32', points, [1, count, 3]),
    });
    return { density: outputData(result, 'density', count), color: outputData(result, 'color', count * 3) };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }

  private checkLive(): void {
    if (this.disposed) throw new Error('The model has been disposed.');
  }
}
