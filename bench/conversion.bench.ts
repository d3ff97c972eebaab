/**
 * Times checkpoint → ONNX conversion and measures its peak memory against the checkpoint's size.
 *
 *   node --import tsx bench/conversion.bench.ts [--config full|tiny] [--precision fp32|fp16] [--keep]
 *
 * The random-weight checkpoint (make_checkpoint.py, seed 7) is cached under .cache/bench/; the
 * conversion goes to a scratch folder there, removed afterwards unless --keep. Peak memory is the
 * process's resident-set high-water mark (VmHWM, Linux) and, everywhere, the largest RSS sampled every
 * 20 ms; the RSS before converting (Node, onnxruntime's and protobufjs's code) is printed too.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openCheckpoint } from '../src/pipeline/network/checkpoint/torchCheckpoint.js';
import { BUILDER_VERSION, convertCheckpoint, type Precision } from '../src/pipeline/network/triposr/convert.js';

const PYTHON = '/usr/bin/python3';
const ROOT = resolve(__dirname, '..');
const CACHE = join(ROOT, '.cache', 'bench');
const SEED = 7;

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'full' },
    precision: { type: 'string', default: 'fp32' },
    keep: { type: 'boolean', default: false },
  },
});
const configName = args.config!;
const precision = args.precision as Precision;
if (!['full', 'tiny'].includes(configName)) throw new Error('--config full|tiny');
if (precision !== 'fp32' && precision !== 'fp16') throw new Error('--precision fp32|fp16');

function highWaterBytes(): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

function exec(command: string, argv: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...argv], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${command} exited with ${code}`))));
  });
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

async function main(): Promise<void> {
  const ckptDir = join(CACHE, configName);
  if (!existsSync(join(ckptDir, 'model.ckpt'))) {
    console.log(`making the ${configName} random checkpoint in ${ckptDir} (seed ${SEED}) …`);
    await mkdir(CACHE, { recursive: true });
    await exec(PYTHON, [join(ROOT, 'test', 'reference', 'make_checkpoint.py'), '--config', configName, '--out', ckptDir, '--seed', String(SEED)]);
  }
  const ckptBytes = (await stat(join(ckptDir, 'model.ckpt'))).size;
  const configText = await readFile(join(ckptDir, 'config.yaml'), 'utf8');
  const outDir = join(CACHE, `conversion-bench-${configName}-${precision}`);

  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  let lastReport = 0;
  const t0 = performance.now();
  const source = await openCheckpoint(join(ckptDir, 'model.ckpt'));
  let result;
  try {
    result = await convertCheckpoint({
      source,
      configText,
      outDir,
      precision,
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastReport > 1000 || p.tensorsDone === p.tensorsTotal) {
          lastReport = now;
          process.stdout.write(`\r  ${p.phase} ${p.tensorsDone}/${p.tensorsTotal} tensors, ${mb(p.bytesDone)} / ${mb(p.bytesTotal)}   `);
        }
      },
    });
  } finally {
    await source.close();
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  const hwm = highWaterBytes();
  const sizes = await Promise.all(
    ['encoder.onnx', 'encoder.onnx.data', 'decoder.onnx'].map(async (f) => `${f} ${mb((await stat(join(outDir, f))).size)}`),
  );
  console.log(`\n\nTripoSR conversion (builder ${BUILDER_VERSION}), ${configName} random checkpoint, ${precision}`);
  console.log(`  checkpoint        ${mb(ckptBytes)}`);
  console.log(`  time              ${seconds.toFixed(1)} s (${(ckptBytes / 1e6 / seconds).toFixed(0)} MB/s)`);
  console.log(`  RSS before        ${mb(baseline)}`);
  console.log(`  peak RSS sampled  ${mb(peak)} = ${(peak / ckptBytes).toFixed(2)} × checkpoint`);
  if (hwm !== undefined) console.log(`  VmHWM             ${mb(hwm)} = ${(hwm / ckptBytes).toFixed(2)} × checkpoint (limit 1.5×)`);
  console.log(`  wrote             ${sizes.join(', ')}`);
  console.log(`  into              ${result.encoderPath.replace(/[\\/][^\\/]+$/, '')}`);
  if (!args.keep) await rm(outDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
