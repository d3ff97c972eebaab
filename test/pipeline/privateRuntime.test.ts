import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { makePrivateRuntime } from '../../src/pipeline/network/cudaProvider/privateRuntime.js';
import { isProviderFile } from '../../src/pipeline/network/cudaProvider/install.js';
import { bundledOnnxRuntimeVersion, ONNXRUNTIME_PACKAGE_ENV, privateRuntimeFor, privateRuntimePackage } from '../../src/pipeline/network/runtimeLocation.js';

/*
 * The private copy of onnxruntime-node (for a CUDA provider when the extension's folder is read-only):
 * made from the real package, it holds this platform's runtime and no provider, and a process told
 * about it (IMAGE_TO_3D_ONNXRUNTIME) loads ONNX Runtime from the copy and runs a model with it; a
 * copy that does not load is passed over for the bundled runtime, with the reason kept.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const storage = mkdtempSync(path.join(tmpdir(), 'i3d-private-runtime-'));
after(() => rmSync(storage, { recursive: true, force: true }));
const realPackage = path.resolve(path.dirname(require.resolve('onnxruntime-node')), '..');
const version = bundledOnnxRuntimeVersion()!;

/** Runs the stand-in encoder through network/ort.ts in a child process with `env`; reports where ONNX Runtime came from. */
function loadIn(env: Record<string, string>): { packageDir: string; passedOver?: string; bindings: string[]; sceneCodes: number } {
  const script = path.join(storage, 'probe.ts');
  writeFileSync(
    script,
    `import { onnxRuntime, onnxRuntimeSource } from ${JSON.stringify(path.join(ROOT, 'src', 'pipeline', 'network', 'ort.ts'))};
(async () => {
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(${JSON.stringify(path.join(ROOT, 'dist', 'models', 'standin', 'encoder.onnx'))});
  const image = new ort.Tensor('float32', new Float32Array(3 * 512 * 512).fill(0.5), [1, 3, 512, 512]);
  const out = await session.run({ image });
  const bindings = Object.keys(require.cache).filter((k) => k.endsWith('onnxruntime_binding.node'));
  process.stdout.write(JSON.stringify({ ...onnxRuntimeSource(), bindings, sceneCodes: out.scene_codes!.data.length }));
})();
`,
  );
  const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as ReturnType<typeof loadIn>;
}

test('the copy holds this platform runtime and no provider, and a process told about it loads ONNX Runtime from it', { skip: !existsSync(path.join(ROOT, 'dist', 'models', 'standin', 'encoder.onnx')) && 'npm run build first' }, async () => {
  const binDir = await makePrivateRuntime(realPackage, storage, isProviderFile);
  const copy = privateRuntimePackage(storage, version);
  assert.equal(binDir, path.join(copy, 'bin', 'napi-v6', process.platform, process.arch));
  assert.ok(existsSync(path.join(binDir, 'onnxruntime_binding.node')));
  assert.deepEqual(readdirSync(binDir).filter((f) => /providers_(cuda|tensorrt|shared)/.test(f)), []);
  // Only this platform's native folder.
  assert.deepEqual(readdirSync(path.join(copy, 'bin', 'napi-v6')), [process.platform]);
  // No provider record yet: the host does not point the pipeline at it.
  assert.equal(privateRuntimeFor(storage, version), undefined);

  const fromCopy = loadIn({ [ONNXRUNTIME_PACKAGE_ENV]: copy });
  assert.equal(fromCopy.packageDir, copy);
  assert.equal(fromCopy.passedOver, undefined);
  assert.deepEqual(fromCopy.bindings, [path.join(binDir, 'onnxruntime_binding.node')]);
  assert.equal(fromCopy.sceneCodes, 3 * 40 * 64 * 64);

  const bundled = loadIn({});
  assert.equal(bundled.packageDir, realPackage);
  assert.equal(bundled.sceneCodes, fromCopy.sceneCodes);

  // Made again: found as it is, not rebuilt.
  assert.equal(await makePrivateRuntime(realPackage, storage, isProviderFile), binDir);
});

test('a named copy that does not load is passed over for the bundled runtime, and says why', { skip: !existsSync(path.join(ROOT, 'dist', 'models', 'standin', 'encoder.onnx')) && 'npm run build first' }, () => {
  const missing = path.join(storage, 'nowhere', 'onnxruntime-node');
  const result = loadIn({ [ONNXRUNTIME_PACKAGE_ENV]: missing });
  assert.equal(result.packageDir, realPackage);
  assert.match(result.passedOver ?? '', /nowhere.*did not load.*bundled ONNX Runtime/);
});
