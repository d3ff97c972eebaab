import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_TARGETS } from '../../scripts/package/targets.js';

/*
 * The darwin-x64 package carries an older onnxruntime-node than the rest (PACKAGE_TARGETS says which:
 * later releases ship no Intel-mac binary). No Mac runs here, so the same version's linux-x64 build
 * stands in for it: every ONNX graph the product runs that this machine has (the stand-in model, and
 * when earlier tests left them in .cache, TripoSR-architecture graphs converted by our converter and
 * the IS-Net segmentation network) must load in it and give the outputs the locked version gives.
 * The older version is installed with npm into .cache (not shipped, not committed).
 */

const ROOT = path.resolve(__dirname, '..', '..');
const older = PACKAGE_TARGETS.map((t) => t.onnxruntimeVersion).find((v): v is string => v !== undefined);
const skip = process.platform !== 'linux' || process.arch !== 'x64' ? 'needs linux-x64 to run the older build' : older === undefined ? 'every package carries the locked onnxruntime-node' : false;

/** Graphs to compare: always the stand-in; converted TripoSR graphs and IS-Net when the cache has them. */
function graphs(): string[] {
  const found = ['encoder.onnx', 'decoder.onnx'].map((f) => path.join(ROOT, 'dist', 'models', 'standin', f));
  const trained = path.join(ROOT, '.cache', 'trained-fields');
  const firstTrained = existsSync(trained) ? readdirSync(trained).sort().find((d) => existsSync(path.join(trained, d, 'onnx-fp32-b1', 'decoder.onnx'))) : undefined;
  if (firstTrained) found.push(...['encoder.onnx', 'decoder.onnx'].map((f) => path.join(trained, firstTrained, 'onnx-fp32-b1', f)));
  const isnet = path.join(ROOT, '.cache', 'imgly-isnet', 'imgly-isnet-medium.onnx');
  if (existsSync(isnet)) found.push(isnet);
  return found;
}

/** Runs each graph on seeded random inputs (symbolic dims 64) in the onnxruntime-node at `ortDir`; prints outputs' sums and a sample. */
const PROBE = `
const ort = require(process.argv[1]);
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
(async () => {
  const out = {};
  for (const file of process.argv.slice(2)) {
    const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'basic' });
    const feeds = {};
    for (const meta of session.inputMetadata) {
      const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 64));
      const size = dims.reduce((a, b) => a * b, 1);
      feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: size }, () => random() * 2 - 1), dims);
    }
    const result = await session.run(feeds);
    out[file] = Object.fromEntries(Object.entries(result).map(([name, t]) => [name, { dims: t.dims, data: Array.from(t.data.subarray(0, 4096)) }]));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function runProbe(ortDir: string, files: readonly string[]): Record<string, Record<string, { dims: number[]; data: number[] }>> {
  const run = spawnSync(process.execPath, ['-e', PROBE, ortDir, ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(run.status, 0, `onnxruntime-node at ${ortDir}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, Record<string, { dims: number[]; data: number[] }>>;
}

test(`the graphs we run give the same outputs on the darwin-x64 package's onnxruntime-node ${older ?? ''}`, { skip, timeout: 600_000 }, () => {
  const prefix = path.join(ROOT, '.cache', `onnxruntime-node-${older}`);
  const ortDir = path.join(prefix, 'node_modules', 'onnxruntime-node');
  if (!existsSync(path.join(ortDir, 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node'))) {
    mkdirSync(prefix, { recursive: true });
    writeFileSync(path.join(prefix, 'package.json'), '{ "private": true }\n');
    const npm = spawnSync('npm', ['install', '--os=linux', '--cpu=x64', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `onnxruntime-node@${older}`], { cwd: prefix, encoding: 'utf8' });
    assert.equal(npm.status, 0, npm.stderr);
  }
  const files = graphs();
  const theirs = runProbe(ortDir, files);
  const ours = runProbe(path.join(ROOT, 'node_modules', 'onnxruntime-node'), files);
  for (const file of files) {
    for (const [name, expected] of Object.entries(ours[file]!)) {
      const got = theirs[file]![name]!;
      assert.deepEqual(got.dims, expected.dims, `${file} ${name}`);
      let worst = 0;
      for (let i = 0; i < expected.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - expected.data[i]!) / Math.max(1, Math.abs(expected.data[i]!)));
      assert.ok(worst <= 1e-4, `${path.relative(ROOT, file)} ${name}: differs by ${worst}`);
    }
  }
  console.log(`# ${files.length} graphs agree on onnxruntime-node ${older}: ${files.map((f) => path.relative(ROOT, f)).join(', ')}`);
});
