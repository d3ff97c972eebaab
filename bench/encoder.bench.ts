/**
 * Times the converted TripoSR encoder in onnxruntime-node against the PyTorch reference encoder
 * (test/reference/triposr_reference.py) on the same random-weight checkpoint and the same image, and
 * checks that both give the same scene codes.
 *
 *   node --import tsx bench/encoder.bench.ts [--config full|tiny] [--precision fp32|fp16] [--runs 3]
 *       [--torch-runs 2] [--torch-malloc tuned|default|both] [--threads 2]
 *       [--providers cpu|webgpu|cuda,…] [--torch-device cpu|cuda] [--cache DIR]
 *
 * On a GPU machine: --providers names ONNX Runtime's execution providers for the encoder and
 * --torch-device cuda runs the reference on the GPU; REFERENCE_PYTHON picks the Python with torch.
 *
 * The checkpoint (make_checkpoint.py, seed 7) and its conversion are cached under .cache/bench/.
 * glibc's malloc settings change PyTorch's time a lot (it otherwise maps and unmaps the ~600 MB
 * attention-score buffers on every call), so each side's settings are printed; 'tuned' runs PyTorch
 * with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { openCheckpoint } from '../src/pipeline/network/checkpoint/torchCheckpoint.js';
import { BUILDER_VERSION, convertCheckpoint, type Precision } from '../src/pipeline/network/triposr/convert.js';
import { relativeError } from '../test/fixtures/numeric.js';

const PYTHON = process.env.REFERENCE_PYTHON ?? '/usr/bin/python3';
const ROOT = resolve(__dirname, '..');
const REFERENCE = join(ROOT, 'test', 'reference');
let CACHE = join(ROOT, '.cache', 'bench');
const SEED = 7;
const TUNED_MALLOC = { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '100000000000' };

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'full' },
    precision: { type: 'string', default: 'fp32' },
    runs: { type: 'string', default: '3' },
    'torch-runs': { type: 'string', default: '2' },
    'torch-malloc': { type: 'string', default: 'tuned' },
    threads: { type: 'string', default: '2' },
    providers: { type: 'string', default: 'cpu' },
    'torch-device': { type: 'string', default: 'cpu' },
    cache: { type: 'string' },
  },
});
if (args.cache) CACHE = resolve(args.cache);
const providers = args.providers!.split(',').map((p) => p.trim()).filter(Boolean);
const torchDevice = args['torch-device']!;
const configName = args.config!;
const precision = args.precision as Precision;
const runs = Number(args.runs);
const torchRuns = Number(args['torch-runs']);
const threads = Number(args.threads);
if (!['full', 'tiny'].includes(configName)) throw new Error('--config full|tiny');
if (precision !== 'fp32' && precision !== 'fp16') throw new Error('--precision fp32|fp16');
const mallocModes = args['torch-malloc'] === 'both' ? ['tuned', 'default'] : [args['torch-malloc']!];

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function highWaterMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

function exec(command: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...argv], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${command} exited with ${code}`))));
  });
}

async function ensureCheckpoint(): Promise<string> {
  const dir = join(CACHE, configName);
  if (!existsSync(join(dir, 'model.ckpt'))) {
    console.log(`making the ${configName} random checkpoint in ${dir} (seed ${SEED}) …`);
    await exec(PYTHON, [join(REFERENCE, 'make_checkpoint.py'), '--config', configName, '--out', dir, '--seed', String(SEED)]);
  }
  return dir;
}

async function ensureConverted(ckptDir: string): Promise<string> {
  const dir = join(CACHE, `${configName}-onnx-${precision}`);
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { builderVersion?: number };
    const [ckpt, onnx] = await Promise.all([stat(join(ckptDir, 'model.ckpt')), stat(join(dir, 'encoder.onnx'))]);
    if (manifest.builderVersion === BUILDER_VERSION && onnx.mtimeMs >= ckpt.mtimeMs) return dir;
  } catch {
    // not converted yet
  }
  console.log(`converting to ${dir} …`);
  const source = await openCheckpoint(join(ckptDir, 'model.ckpt'));
  try {
    await convertCheckpoint({ source, configText: await readFile(join(ckptDir, 'config.yaml'), 'utf8'), outDir: dir, precision });
  } finally {
    await source.close();
  }
  return dir;
}

/** The reference encoder, timed in its own process: model load once, then `torchRuns` encodes. */
const TORCH_SCRIPT = `
import json, sys, time
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
import triposr_reference as ref
ckpt, config, image, out, threads, runs, device = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
torch.set_num_threads(threads)
# fp32 as written: no TF32 shortcuts on the GPU, so the comparison is like for like.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
t0 = time.perf_counter()
model = ref.build(ref.load_config(config))
model.load_state_dict(torch.load(ckpt, map_location="cpu"), strict=True)
model.eval().to(device)
load_s = time.perf_counter() - t0
s = model.cond_image_size
img = torch.from_numpy(np.fromfile(image, "<f4").reshape(1, 3, s, s)).to(device)
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
times = []
with torch.no_grad():
    for _ in range(runs):
        sync()
        t = time.perf_counter()
        codes = model.encode(img)
        sync()
        times.append(time.perf_counter() - t)
codes.contiguous().cpu().numpy().astype("<f4").tofile(out)
name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
print(json.dumps({"load_s": load_s, "runs_s": times, "torch": torch.__version__ + " on " + name, "threads": torch.get_num_threads()}))
`;

interface TorchResult {
  load_s: number;
  runs_s: number[];
  torch: string;
  threads: number;
}

const mallocEnv = (env: NodeJS.ProcessEnv): string =>
  Object.entries(env)
    .filter(([k]) => k.startsWith('MALLOC_') || k.startsWith('GLIBC_TUNABLES'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || 'glibc defaults';

async function main(): Promise<void> {
  await mkdir(CACHE, { recursive: true });
  const ckptDir = await ensureCheckpoint();
  const onnxDir = await ensureConverted(ckptDir);
  const ckptBytes = (await stat(join(ckptDir, 'model.ckpt'))).size;
  const size = 512;
  let state = 12345;
  const image = Float32Array.from({ length: 3 * size * size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  });
  const imagePath = join(CACHE, 'bench-image.f32');
  await writeFile(imagePath, image);

  console.log(`\nTripoSR encoder, ${configName} random checkpoint (${(ckptBytes / 1e9).toFixed(2)} GB), ${threads} threads`);
  console.log(`onnxruntime-node ${ort.env.versions.common}, ${precision}, providers ${providers.join(',')}; malloc: ${mallocEnv(process.env)}`);

  // ONNX Runtime
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(join(onnxDir, 'encoder.onnx'), {
    executionProviders: providers,
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const createS = (performance.now() - t0) / 1000;
  const afterCreate = process.memoryUsage().rss / 1e6;
  const ortTimes: number[] = [];
  let codes: Float32Array = new Float32Array(0);
  const feed = { image: new ort.Tensor('float32', image, [1, 3, size, size]) };
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const out = await session.run(feed);
    ortTimes.push((performance.now() - t) / 1000);
    codes = out.scene_codes!.data as Float32Array;
    console.log(`  onnxruntime run ${i + 1}: ${ortTimes[i]!.toFixed(2)} s`);
  }
  await session.release();
  console.log(
    `  onnxruntime: session ${createS.toFixed(2)} s (RSS ${afterCreate.toFixed(0)} MB), median run ${median(ortTimes).toFixed(2)} s, ` +
      `peak RSS ${highWaterMb().toFixed(0)} MB`,
  );

  // PyTorch
  for (const mode of mallocModes) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('MALLOC_')) delete env[k];
    if (mode === 'tuned') Object.assign(env, TUNED_MALLOC);
    const codesPath = join(CACHE, `bench-torch-codes-${mode}.f32`);
    const stdout = await exec(
      PYTHON,
      ['-c', TORCH_SCRIPT, REFERENCE, join(ckptDir, 'model.ckpt'), join(ckptDir, 'config.yaml'), imagePath, codesPath, String(threads), String(torchRuns), torchDevice],
      env,
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as TorchResult;
    const torchCodes = new Float32Array((await readFile(codesPath)).buffer.slice(0));
    const torchMedian = median(result.runs_s);
    console.log(`  pytorch ${result.torch} (${result.threads} threads), malloc: ${mallocEnv(env)}`);
    console.log(
      `    load ${result.load_s.toFixed(1)} s, runs ${result.runs_s.map((s) => s.toFixed(2)).join(', ')} s, median ${torchMedian.toFixed(2)} s`,
    );
    console.log(
      `    ratio onnxruntime/pytorch ${(median(ortTimes) / torchMedian).toFixed(2)} (goal ≤ 1.0); ` +
        `scene codes relative difference ${relativeError(codes, torchCodes).toExponential(2)}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
