/**
 * Times what happens to a 12-megapixel photo before TripoSR's encoder (decode, background mask, framing)
 * against the same work as TripoSR's run.py does it (PIL, rembg's numpy code, a PyTorch network, TripoSR's
 * resize_foreground and ImagePreprocessor), both in this run, with a u2net-sized and an IS-Net-sized
 * network carrying the same random weights on both sides.
 *
 *   node --import tsx bench/background.bench.ts [--runs 3] [--warmup 1] [--threads 2]
 *       [--networks u2net,isnet-general-use] [--ratio 0.85] [--cache DIR]
 *
 * The networks (bench/reference/segmentation_nets.py: U²-Net and IS-Net shapes, seeded random weights,
 * torch state dict + ONNX export) and the photo (skimage's rocket.jpg upscaled with sharp to 3000×4000,
 * stored rotated as 4000×3000 with EXIF orientation 6, JPEG quality 90) are made once under
 * .cache/bench/background/. The reference (bench/reference/background_reference.py) runs in its own
 * process, one run at a time alternating with ours (who goes first alternates too), so load from
 * elsewhere on the machine falls on both sides; REFERENCE_PYTHON picks the Python with torch and Pillow.
 *
 * Our `segment()` runs input, network and mask in one call; the input and mask stages are also timed on
 * their own (the mask on the network output of the same image), and the network's time is the rest.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadSegmenter, type Segmenter } from '../src/pipeline/image/background.js';
import { decodeImage } from '../src/pipeline/image/decode.js';
import { naiveCutout, networkInput } from '../src/pipeline/image/frame.js';
import { SEGMENTATION_RECIPES, segmentationInput, segmentationMask, type SegmentationNetwork } from '../src/pipeline/image/segmentation.js';

const PYTHON = process.env.REFERENCE_PYTHON ?? '/usr/bin/python3';
const ROOT = resolve(__dirname, '..');
const REFERENCE = join(ROOT, 'bench', 'reference');
const SOURCE_PHOTO = '/usr/lib/python3/dist-packages/skimage/data/rocket.jpg';
const PHOTO_NAME = 'rocket-12mp-orientation6.jpg';
const STAGES = ['decode', 'input', 'network', 'mask', 'frame'] as const;
type Stage = (typeof STAGES)[number];
type StageTimes = Record<Stage, number>;
const STAGE_LABELS: Record<Stage, string> = {
  decode: 'decode (+ orientation)',
  input: 'network input',
  network: 'network',
  mask: 'mask (min–max, resize back)',
  frame: 'frame (cutout, crop, grey, 512²)',
};

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    networks: { type: 'string', default: 'u2net,isnet-general-use' },
    ratio: { type: 'string', default: '0.85' },
    cache: { type: 'string' },
  },
});
const CACHE = args.cache ? resolve(args.cache) : join(ROOT, '.cache', 'bench', 'background');
const runs = Number(args.runs);
const warmup = Number(args.warmup);
const threads = Number(args.threads);
const ratio = Number(args.ratio);
const networks = args.networks!.split(',').map((n) => n.trim()).filter(Boolean) as SegmentationNetwork[];
const BENCH_NETWORKS = ['u2net', 'isnet-general-use'];
for (const n of networks) if (!BENCH_NETWORKS.includes(n)) throw new Error(`--networks takes ${BENCH_NETWORKS.join(', ')}`);
if (!(runs >= 1 && warmup >= 0 && threads >= 1 && ratio > 0 && ratio <= 1)) throw new Error('bad --runs/--warmup/--threads/--ratio');

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function exec(command: string, argv: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`${command} exited with ${code}:\n${err.split('\n').slice(-15).join('\n')}`)),
    );
  });
}

interface NetworkFacts {
  network: string;
  parameters: number;
  onnx_bytes: number;
}

/** The random-weight networks, remade when segmentation_nets.py is newer than them. */
async function ensureNetworks(): Promise<Map<string, NetworkFacts>> {
  const factsPath = join(CACHE, 'networks.json');
  const script = join(REFERENCE, 'segmentation_nets.py');
  let fresh = existsSync(factsPath);
  if (fresh) {
    const made = (await stat(factsPath)).mtimeMs;
    fresh = (await stat(script)).mtimeMs <= made && BENCH_NETWORKS.every((n) => existsSync(join(CACHE, `${n}.onnx`)) && existsSync(join(CACHE, `${n}.pt`)));
  }
  if (!fresh) {
    console.log(`making the random-weight networks in ${CACHE} (a minute) …`);
    const out = await exec(PYTHON, [script, '--out', CACHE]);
    const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
    await writeFile(factsPath, JSON.stringify(lines.map((l) => JSON.parse(l) as NetworkFacts)));
  }
  const facts = JSON.parse(await readFile(factsPath, 'utf8')) as NetworkFacts[];
  return new Map(facts.map((f) => [f.network, f]));
}

/** A real photograph at 12 MP, stored sideways with EXIF orientation 6 as a phone held upright writes it. */
async function ensurePhoto(): Promise<string> {
  const path = join(CACHE, PHOTO_NAME);
  if (existsSync(path)) return path;
  const upright = await sharp(SOURCE_PHOTO).resize(3000, 4000, { fit: 'cover', kernel: 'lanczos3' }).toBuffer();
  const partial = `${path}.partial`;
  // Rotating the pixels a quarter turn back and tagging orientation 6 makes viewers show it upright again.
  await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toFile(partial);
  await rename(partial, path);
  return path;
}

/** The last run's arrays, kept for the comparison with the reference. */
interface OurArrays {
  width: number;
  height: number;
  rgb: Uint8Array;
  input: Float32Array;
  mask: Uint8Array;
  tensor: Float32Array;
}

/** Our pipeline's pieces for one network, timed one run at a time. */
class OurSide {
  last: OurArrays | undefined;

  private constructor(
    private readonly network: SegmentationNetwork,
    private readonly segmenter: Segmenter,
    private readonly photo: string,
    /** The network's raw first output on this photo, for timing the mask stage on its own. */
    readonly pred: Float32Array,
    readonly createS: number,
  ) {}

  static async open(network: SegmentationNetwork, file: string, photo: string): Promise<OurSide> {
    const t0 = performance.now();
    const segmenter = await loadSegmenter(file, network, { executionProviders: ['cpu'], intraOpThreads: threads });
    const createS = (performance.now() - t0) / 1000;
    // A second session with the same options, used outside the timed runs: the Segmenter hands back
    // only the finished mask.
    const recipe = SEGMENTATION_RECIPES[network];
    const input = segmentationInput(await decodeImage(photo), recipe);
    const session = await ort.InferenceSession.create(file, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    try {
      const feed = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, recipe.inputHeight, recipe.inputWidth]) };
      const out = await session.run(feed);
      const pred = Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array);
      return new OurSide(network, segmenter, photo, pred, createS);
    } finally {
      await session.release();
    }
  }

  async run(): Promise<StageTimes> {
    const recipe = SEGMENTATION_RECIPES[this.network];
    let t = performance.now();
    const image = await decodeImage(this.photo);
    const decode = performance.now() - t;

    t = performance.now();
    const input = segmentationInput(image, recipe);
    const inputMs = performance.now() - t;

    t = performance.now();
    const found = await this.segmenter.segment(image);
    const segmentMs = performance.now() - t;

    t = performance.now();
    segmentationMask(this.pred, recipe.inputWidth, recipe.inputHeight, recipe, image.width, image.height);
    const maskMs = performance.now() - t;

    t = performance.now();
    const rgba = naiveCutout(image.rgba, found.mask, image.width, image.height);
    const tensor = networkInput({ width: image.width, height: image.height, rgba, hasTransparency: true }, ratio);
    const frame = performance.now() - t;

    const rgb = new Uint8Array(image.width * image.height * 3);
    for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
      rgb[q] = image.rgba[p]!;
      rgb[q + 1] = image.rgba[p + 1]!;
      rgb[q + 2] = image.rgba[p + 2]!;
    }
    this.last = { width: image.width, height: image.height, rgb, input, mask: found.mask, tensor };
    // segment() = input + network + mask, so the network's share is what the other two leave.
    return { decode: decode / 1000, input: inputMs / 1000, network: (segmentMs - inputMs - maskMs) / 1000, mask: maskMs / 1000, frame: frame / 1000 };
  }

  close(): Promise<void> {
    return this.segmenter.dispose();
  }
}

interface ReferenceFacts {
  load_s: number;
  threads: number;
  versions: string;
}

interface ReferenceRun {
  times: StageTimes;
  size: [number, number];
  /** x1, y1, x2, y2 of resize_foreground's crop, and the side of its square canvas. */
  box: [number, number, number, number, number];
}

/** background_reference.py --serve: one process per network, asked for one run at a time. */
class ReferenceSide {
  private buffered = '';
  private readonly waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  private readonly lines: string[] = [];
  private stderr = '';
  /** Why the process is gone, once it is. */
  private ended: Error | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.buffered += d.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter.resolve(line);
        else this.lines.push(line);
      }
    });
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    const end = (err: Error): void => {
      this.ended ??= err;
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.ended);
    };
    child.on('error', end);
    child.on('exit', (code, signal) => end(new Error(`the reference exited (${code ?? signal}):\n${this.stderr}`)));
  }

  static async open(network: string, photo: string, ourInput: string): Promise<{ side: ReferenceSide; facts: ReferenceFacts }> {
    const child = spawn(PYTHON, [
      join(REFERENCE, 'background_reference.py'),
      '--serve',
      '--network', network,
      '--weights', join(CACHE, `${network}.pt`),
      '--image', photo,
      '--threads', String(threads),
      '--ratio', String(ratio),
      '--out', join(CACHE, 'reference'),
      '--their-input', ourInput,
    ]);
    const side = new ReferenceSide(child);
    return { side, facts: JSON.parse(await side.next()) as ReferenceFacts };
  }

  private next(): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async run(): Promise<ReferenceRun> {
    this.child.stdin.write('run\n');
    return JSON.parse(await this.next()) as ReferenceRun;
  }

  async save(): Promise<void> {
    this.child.stdin.write('save\n');
    await this.next();
  }

  close(): void {
    this.child.stdin.end();
  }
}

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

interface Difference {
  max: number;
  mean: number;
  differing: number;
  count: number;
}

function difference(a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 0): Difference {
  if (a.length !== b.length) throw new Error(`sizes differ: ${a.length} vs ${b.length}`);
  let max = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > max) max = d;
    sum += d;
    if (d > tolerance) differing++;
  }
  return { max, mean: sum / a.length, differing, count: a.length };
}

const pct = (d: Difference): string => `${((100 * d.differing) / d.count).toFixed(3)}%`;

function printTable(title: string, ours: StageTimes[], reference: StageTimes[]): void {
  console.log(`\n${title}`);
  console.log(`  ${'stage'.padEnd(34)}${'ours (s)'.padStart(10)}${'reference (s)'.padStart(15)}${'ours/ref'.padStart(10)}`);
  let totalOurs = 0;
  let totalRef = 0;
  for (const stage of STAGES) {
    const o = median(ours.map((r) => r[stage]));
    const r = median(reference.map((x) => x[stage]));
    totalOurs += o;
    totalRef += r;
    console.log(`  ${STAGE_LABELS[stage].padEnd(34)}${o.toFixed(3).padStart(10)}${r.toFixed(3).padStart(15)}${(o / r).toFixed(2).padStart(10)}`);
  }
  // The median of whole runs, so the total is one real run rather than a sum of medians.
  const oursTotal = median(ours.map(total));
  const refTotal = median(reference.map(total));
  console.log(`  ${'total (median run)'.padEnd(34)}${oursTotal.toFixed(3).padStart(10)}${refTotal.toFixed(3).padStart(15)}${(oursTotal / refTotal).toFixed(2).padStart(10)}`);
  console.log(`  ratio ours/reference (decode + mask + frame, all five stages): ${(oursTotal / refTotal).toFixed(2)} (sum of stage medians ${(totalOurs / totalRef).toFixed(2)})`);
}

async function main(): Promise<void> {
  await mkdir(join(CACHE, 'reference'), { recursive: true });
  const facts = await ensureNetworks();
  const photo = await ensurePhoto();
  const meta = await sharp(photo).metadata();
  console.log(
    `photo: ${PHOTO_NAME}, ${meta.width}×${meta.height} stored (${(((meta.width ?? 0) * (meta.height ?? 0)) / 1e6).toFixed(1)} MP), ` +
      `EXIF orientation ${meta.orientation ?? 'none'}, ${((await stat(photo)).size / 1e6).toFixed(1)} MB`,
  );
  console.log(`ours: onnxruntime-node ${ort.env.versions.common} (cpu, ${threads} intra-op threads), sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), node ${process.version}`);
  console.log(`median of ${runs} runs after ${warmup} warm-up, ours and the reference's alternating; foreground ratio ${ratio}`);

  for (const network of networks) {
    const fact = facts.get(network)!;
    const recipe = SEGMENTATION_RECIPES[network];
    console.log(
      `\n== ${network}-sized network: ${(fact.parameters / 1e6).toFixed(2)} M parameters, ONNX ${(fact.onnx_bytes / 1e6).toFixed(1)} MB, ` +
        `input 1×3×${recipe.inputHeight}×${recipe.inputWidth}`,
    );
    const ours = await OurSide.open(network, join(CACHE, `${network}.onnx`), photo);
    try {
      const ourInputPath = join(CACHE, 'reference', `${network}.ours-input.f32`);
      await writeFile(ourInputPath, segmentationInput(await decodeImage(photo), recipe));
      const { side: reference, facts: refFacts } = await ReferenceSide.open(network, photo, ourInputPath);
      console.log(`  ours: session ${ours.createS.toFixed(2)} s; reference: ${refFacts.versions}, ${refFacts.threads} threads, model load ${refFacts.load_s.toFixed(2)} s`);
      const loadBefore = loadavg()[0]!;
      let timed: { ours: StageTimes[]; reference: StageTimes[]; referenceLast: ReferenceRun };
      try {
        timed = await timeBoth(ours, reference);
        await reference.save();
      } finally {
        reference.close();
      }
      console.log(`  1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (${cpus().length} CPUs)`);
      await compare(network, ours, timed.referenceLast);
      printTable(`${network}-sized network, ${ours.last!.width}×${ours.last!.height} upright, ${threads} threads: stage medians`, timed.ours, timed.reference);
    } finally {
      await ours.close();
    }
  }
}

async function timeBoth(ours: OurSide, reference: ReferenceSide): Promise<{ ours: StageTimes[]; reference: StageTimes[]; referenceLast: ReferenceRun }> {
  const ourRuns: StageTimes[] = [];
  const refRuns: StageTimes[] = [];
  let last: ReferenceRun | undefined;
  for (let i = 0; i < warmup + runs; i++) {
    // Alternate who goes first, so a burst of load elsewhere on the machine falls on both sides.
    let o: StageTimes;
    let r: ReferenceRun;
    if (i % 2 === 0) {
      o = await ours.run();
      r = await reference.run();
    } else {
      r = await reference.run();
      o = await ours.run();
    }
    last = r;
    if (i >= warmup) {
      ourRuns.push(o);
      refRuns.push(r.times);
    }
    console.log(`  run ${i + 1}${i < warmup ? ' (warm-up)' : ''}: ours ${total(o).toFixed(2)} s, reference ${total(r.times).toFixed(2)} s`);
  }
  return { ours: ourRuns, reference: refRuns, referenceLast: last! };
}

const total = (t: StageTimes): number => STAGES.reduce((s, k) => s + t[k], 0);

async function compare(network: string, ours: OurSide, ref: ReferenceRun): Promise<void> {
  const last = ours.last!;
  const dir = join(CACHE, 'reference');
  if (ref.size[0] !== last.width || ref.size[1] !== last.height) {
    console.log(`  !! upright size differs: ours ${last.width}×${last.height}, reference ${ref.size[0]}×${ref.size[1]}`);
    return;
  }
  const rgb = difference(last.rgb, new Uint8Array(await readFile(join(dir, `${network}.rgb.u8`))));
  const input = difference(last.input, await readF32(join(dir, `${network}.input.f32`)));
  const net = difference(ours.pred, await readF32(join(dir, `${network}.pred-on-theirs.f32`)));
  const pred = difference(ours.pred, await readF32(join(dir, `${network}.pred.f32`)));
  const mask = difference(last.mask, new Uint8Array(await readFile(join(dir, `${network}.mask.u8`))));
  const tensor = difference(last.tensor, await readF32(join(dir, `${network}.tensor.f32`)), 1 / 255);
  console.log(`  ours vs reference on this photo (sanity, not a pass/fail):`);
  console.log(`    decoded RGB (sharp vs PIL): max ${rgb.max}, ${pct(rgb)} of samples differ, mean ${rgb.mean.toFixed(4)}`);
  console.log(`    network input: max ${input.max.toExponential(2)}, mean ${input.mean.toExponential(2)}`);
  console.log(`    network alone (onnxruntime vs torch on our input): max ${net.max.toExponential(2)}, mean ${net.mean.toExponential(2)}`);
  console.log(`    network output, each side on its own input: max ${pred.max.toExponential(2)}, mean ${pred.mean.toExponential(2)}`);
  console.log(`    mask (0..255): max ${mask.max}, ${pct(mask)} of pixels differ, mean ${mask.mean.toFixed(4)}`);
  console.log(
    `    512² tensor: max ${(tensor.max * 255).toFixed(3)}/255, ${pct(tensor)} beyond 1/255, mean ${(tensor.mean * 255).toFixed(4)}/255 ` +
      `(reference crop x ${ref.box[0]}..${ref.box[2]}, y ${ref.box[1]}..${ref.box[3]}, canvas ${ref.box[4]}²)`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
