/**
 * One generation through the extension's process model (PipelineClient: a child process started with
 * fork, the request and the mesh over IPC) against the same generation in-process (runGeneration, as
 * the CLI runs it), both in this run and alternating, so the price of isolation is a measured ratio.
 *
 *   npm run build && node --import tsx bench/generation.bench.ts [--runs 5] [--resolution 256] [--image samples/apple.png]
 *
 * The model is the built-in stand-in (dist/models/standin), on the CPU, writing GLB, DXF and STEP into
 * a fresh temporary folder each run. The first run of each side opens the model (cold); the others
 * reuse it (warm), as the extension's process and a CLI loop would. Memory: the pipeline process's peak
 * resident set (VmHWM, Linux) and this process's resident set before any in-process run, which is
 * what the extension host keeps when the pipeline runs elsewhere; then this process's peak after the
 * in-process runs, the figure for running it all in one process.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PipelineClient, workerScriptPath } from '../src/extension/pipelineClient.js';
import { runGeneration, type ModelRequest } from '../src/pipeline/generate.js';
import { OpenModels } from '../src/pipeline/network/openModels.js';
import type { GenerateRequest } from '../src/pipeline/run.js';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, resolution: { type: 'string', default: '256' }, image: { type: 'string' } } });
const runs = Number(values.runs);
const resolution = Number(values.resolution);
const image = path.resolve(values.image ?? path.join(ROOT, 'samples', 'apple.png'));
const model: ModelRequest = { spec: { kind: 'onnx', dir: path.join(ROOT, 'dist', 'models', 'standin') }, precision: 'auto', executionProviders: ['cpu'] };
const never = { onCancel: () => undefined };

function freshRequest(): { request: GenerateRequest; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'i3d-bench-gen-'));
  const imagePath = path.join(dir, path.basename(image));
  copyFileSync(image, imagePath);
  return { dir, request: { imagePath, formats: ['glb', 'dxf', 'step'], resolution, threshold: 25, longestSideMm: 100, existing: 'fail', sampling: 'adaptive' } };
}

function peakResidentMiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function timeClient(client: PipelineClient): Promise<number> {
  const { request, dir } = freshRequest();
  const started = performance.now();
  const outcome = await client.generate(request, model, () => undefined, never);
  const ms = performance.now() - started;
  rmSync(dir, { recursive: true, force: true });
  if (!outcome.ok) throw new Error(`the pipeline process failed: ${JSON.stringify(outcome.failure)}`);
  return ms;
}

async function timeInProcess(models: OpenModels): Promise<number> {
  const { request, dir } = freshRequest();
  const started = performance.now();
  await runGeneration({ request, model }, { models });
  const ms = performance.now() - started;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const client = new PipelineClient(workerScriptPath(path.join(ROOT, 'dist')), () => undefined);
  const models = new OpenModels();
  const child: number[] = [];
  const inProcess: number[] = [];
  child.push(await timeClient(client));
  const hostRss = process.memoryUsage().rss / 2 ** 20;
  inProcess.push(await timeInProcess(models));
  for (let i = 1; i < runs; i++) {
    // Who goes first alternates, so a drift in the machine's load falls on both sides.
    if (i % 2 === 0) {
      child.push(await timeClient(client));
      inProcess.push(await timeInProcess(models));
    } else {
      inProcess.push(await timeInProcess(models));
      child.push(await timeClient(client));
    }
  }
  const pid = client.state().pid;
  const childPeak = pid !== undefined ? peakResidentMiB(pid) : undefined;
  await client.dispose();
  await models.dispose();
  const inProcessPeak = process.resourceUsage().maxRSS / 1024;

  const warmChild = median(child.slice(1));
  const warmInProcess = median(inProcess.slice(1));
  console.log(`one generation: stand-in model, ${resolution}³ adaptive, GLB + DXF + STEP, ${path.basename(image)}, ${runs} runs a side`);
  console.log(`  cold (opens the model):  child process ${child[0]!.toFixed(0)} ms, in-process ${inProcess[0]!.toFixed(0)} ms`);
  console.log(`  warm (median of ${runs - 1}):     child process ${warmChild.toFixed(0)} ms, in-process ${warmInProcess.toFixed(0)} ms, ratio ×${(warmChild / warmInProcess).toFixed(3)}`);
  console.log(`  memory: pipeline process peak ${childPeak?.toFixed(0) ?? 'unknown'} MiB; this process (the host's share) ${hostRss.toFixed(0)} MiB before any in-process run; peak after the in-process runs ${inProcessPeak.toFixed(0)} MiB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
